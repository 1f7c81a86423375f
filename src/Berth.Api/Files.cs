using System.Text.Json.Serialization;

namespace Berth.Api;

/// <summary>One entry of <c>GET /containers/{id}/changes</c>; Kind 0 = modified (C), 1 = added (A), 2 = deleted (D).</summary>
public sealed record FilesystemChange
{
    public string Path { get; init; } = "";
    public int Kind { get; init; }
}

/// <summary>
/// The <c>X-Docker-Container-Path-Stat</c> header of the archive endpoints (base64 of this JSON). Mode carries Go's
/// <c>os.FileMode</c> bits (permissions in the low 9 bits, the type and setuid/setgid/sticky in the high bits).
/// </summary>
public sealed record ContainerPathStat
{
    [JsonPropertyName("name")] public string Name { get; init; } = "";
    [JsonPropertyName("size")] public long Size { get; init; }
    [JsonPropertyName("mode")] public uint Mode { get; init; }
    [JsonPropertyName("mtime")] public DateTimeOffset Mtime { get; init; }
    [JsonPropertyName("linkTarget")] public string LinkTarget { get; init; } = "";

    public const uint ModeDir = 1u << 31, ModeSymlink = 1u << 27, ModeDevice = 1u << 26, ModeNamedPipe = 1u << 25,
        ModeSocket = 1u << 24, ModeSetuid = 1u << 23, ModeSetgid = 1u << 22, ModeCharDevice = 1u << 21, ModeSticky = 1u << 20;

    [JsonIgnore] public bool IsDir => (Mode & ModeDir) != 0;
    [JsonIgnore] public bool IsSymlink => (Mode & ModeSymlink) != 0;
}
