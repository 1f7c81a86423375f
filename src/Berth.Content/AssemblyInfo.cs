using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("Berth.Content.Tests")]
