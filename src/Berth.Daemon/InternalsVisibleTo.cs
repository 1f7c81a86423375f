using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("Berth.Daemon.Tests")]
