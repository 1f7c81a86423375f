using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("berth-shim")]
[assembly: InternalsVisibleTo("Berth.Runtime.Tests")]
