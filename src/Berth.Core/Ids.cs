using System.Security.Cryptography;

namespace Berth.Core;

public static class Ids
{
    /// <summary>A random 64-hex-character ID, as Docker gives containers and exec sessions.</summary>
    public static string NewId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
}
