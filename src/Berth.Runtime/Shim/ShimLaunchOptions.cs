namespace Berth.Runtime.Shim;

/// <summary>Everything a <c>berth-shim</c> needs to create one container from a prepared bundle.</summary>
public sealed record ShimLaunchOptions
{
    public required string ShimPath { get; init; }
    public string RuncPath { get; init; } = "runc";

    /// <summary>runc's <c>--root</c> state directory.</summary>
    public required string RuncRoot { get; init; }
    public required string Id { get; init; }

    /// <summary>Holds config.json (already written) and the rootfs it points to.</summary>
    public required string BundleDir { get; init; }

    /// <summary>UNIX socket the shim serves; must fit sun_path (107 bytes).</summary>
    public required string SocketPath { get; init; }

    /// <summary>Where the shim records exit.json, its pid and runc's log.</summary>
    public required string StateDir { get; init; }

    /// <summary>json-file log; null = no log.</summary>
    public string? LogPath { get; init; }
    public long LogMaxSize { get; init; } = 20 * 1024 * 1024;
    public int LogMaxFiles { get; init; } = 5;
    public bool OpenStdin { get; init; }
    public bool StdinOnce { get; init; }

    /// <summary>The spec asks for a terminal (<c>process.terminal</c>): the shim takes the pty from runc.</summary>
    public bool Terminal { get; init; }

    /// <summary>The spec's <c>linux.cgroupsPath</c>, where the shim reads OOM kills; null = none.</summary>
    public string? CgroupsPath { get; init; }

    /// <summary>False keeps the shim from preparing warm exec gates (processes that wait in the container for the next exec).</summary>
    public bool ExecGates { get; init; } = true;
}
