using System.Security.Cryptography;

namespace Berth.Daemon.Containers;

/// <summary>Random "adjective_surname" names for containers created without --name, like Docker's.</summary>
internal static class NameGenerator
{
    private static readonly string[] Adjectives =
    [
        "agile", "bold", "brave", "bright", "calm", "clever", "cool", "curious", "daring", "eager", "fair", "fervent",
        "gentle", "happy", "humble", "jolly", "keen", "kind", "lively", "lucid", "merry", "modest", "nimble", "noble",
        "patient", "proud", "quiet", "quirky", "serene", "sharp", "steady", "swift", "tender", "upbeat", "vivid", "witty", "zen",
    ];

    private static readonly string[] Surnames =
    [
        "babbage", "bohr", "curie", "darwin", "dijkstra", "einstein", "euler", "faraday", "fermi", "feynman", "gauss",
        "hamilton", "hopper", "hypatia", "kepler", "knuth", "lamport", "liskov", "lovelace", "maxwell", "meitner",
        "newton", "noether", "pascal", "planck", "ritchie", "shannon", "thompson", "torvalds", "turing", "volta", "wozniak",
    ];

    public static string Next(Func<string, bool> taken)
    {
        for (int i = 0; i < 64; i++)
        {
            var name = $"{Adjectives[RandomNumberGenerator.GetInt32(Adjectives.Length)]}_{Surnames[RandomNumberGenerator.GetInt32(Surnames.Length)]}";
            if (i > 8) name += RandomNumberGenerator.GetInt32(100);
            if (!taken(name)) return name;
        }
        return "berth_" + Berth.Core.Ids.NewId()[..12];
    }
}
