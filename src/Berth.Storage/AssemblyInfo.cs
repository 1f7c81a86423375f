using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("Berth.Storage.Tests")]
