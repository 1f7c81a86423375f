using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("Berth.Registry.Tests")]
[assembly: InternalsVisibleTo("berth-registry")]
