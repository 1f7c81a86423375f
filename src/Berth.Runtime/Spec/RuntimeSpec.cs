namespace Berth.Runtime.Spec;

// The subset of the OCI runtime-spec (v1.0.2, what runc 1.1 speaks) that Berth writes. Property names follow the
// spec through the camelCase policy of RuntimeJsonContext; nulls are omitted so runc applies its own defaults.

public sealed record RuntimeSpec
{
    public string OciVersion { get; init; } = "1.0.2";
    public required SpecProcess Process { get; init; }
    public required SpecRoot Root { get; init; }
    public string? Hostname { get; init; }
    public IReadOnlyList<SpecMount>? Mounts { get; init; }
    public SpecLinux? Linux { get; init; }
    public IReadOnlyDictionary<string, string>? Annotations { get; init; }
}

public sealed record SpecProcess
{
    public bool Terminal { get; init; }
    public SpecConsoleSize? ConsoleSize { get; init; }
    public required SpecUser User { get; init; }
    public required IReadOnlyList<string> Args { get; init; }
    public IReadOnlyList<string>? Env { get; init; }
    public string Cwd { get; init; } = "/";
    public SpecCapabilities? Capabilities { get; init; }
    public IReadOnlyList<SpecRlimit>? Rlimits { get; init; }
    public bool NoNewPrivileges { get; init; }
    public int? OomScoreAdj { get; init; }
}

public sealed record SpecConsoleSize(uint Height, uint Width);

public sealed record SpecUser
{
    public uint Uid { get; init; }
    public uint Gid { get; init; }
    public IReadOnlyList<uint>? AdditionalGids { get; init; }
}

public sealed record SpecCapabilities
{
    public IReadOnlyList<string>? Bounding { get; init; }
    public IReadOnlyList<string>? Effective { get; init; }
    public IReadOnlyList<string>? Inheritable { get; init; }
    public IReadOnlyList<string>? Permitted { get; init; }
    public IReadOnlyList<string>? Ambient { get; init; }
}

public sealed record SpecRlimit(string Type, ulong Hard, ulong Soft);

public sealed record SpecRoot
{
    public required string Path { get; init; }
    public bool Readonly { get; init; }
}

public sealed record SpecMount
{
    public required string Destination { get; init; }
    public string? Type { get; init; }
    public string? Source { get; init; }
    public IReadOnlyList<string>? Options { get; init; }
}

public sealed record SpecLinux
{
    public IReadOnlyList<SpecNamespace>? Namespaces { get; init; }
    public SpecResources? Resources { get; init; }
    public string? CgroupsPath { get; init; }
    public IReadOnlyDictionary<string, string>? Sysctl { get; init; }
    public SpecSeccomp? Seccomp { get; init; }
    public IReadOnlyList<string>? MaskedPaths { get; init; }
    public IReadOnlyList<string>? ReadonlyPaths { get; init; }
}

public sealed record SpecNamespace(string Type, string? Path = null);

public sealed record SpecResources
{
    public IReadOnlyList<SpecDeviceCgroup>? Devices { get; init; }
    public SpecMemory? Memory { get; init; }
    public SpecCpu? Cpu { get; init; }
    public SpecPids? Pids { get; init; }
}

public sealed record SpecDeviceCgroup
{
    public bool Allow { get; init; }
    public string? Type { get; init; }
    public long? Major { get; init; }
    public long? Minor { get; init; }
    public string? Access { get; init; }
}

public sealed record SpecMemory
{
    public long? Limit { get; init; }
    public long? Swap { get; init; }
}

public sealed record SpecCpu
{
    public ulong? Shares { get; init; }
    public long? Quota { get; init; }
    public ulong? Period { get; init; }
}

public sealed record SpecPids(long Limit);

public sealed record SpecSeccomp
{
    public required string DefaultAction { get; init; }
    public uint? DefaultErrnoRet { get; init; }
    public IReadOnlyList<string>? Architectures { get; init; }
    public IReadOnlyList<SpecSyscall>? Syscalls { get; init; }
}

public sealed record SpecSyscall
{
    public required IReadOnlyList<string> Names { get; init; }
    public required string Action { get; init; }
    public uint? ErrnoRet { get; init; }
    public IReadOnlyList<SpecSyscallArg>? Args { get; init; }
}

public sealed record SpecSyscallArg
{
    public uint Index { get; init; }
    public ulong Value { get; init; }
    public ulong ValueTwo { get; init; }
    public required string Op { get; init; }
}
