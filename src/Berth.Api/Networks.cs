using System.Text.Json.Serialization;

namespace Berth.Api;

/// <summary>One IPAM pool; like Docker, unset fields are left out of the JSON.</summary>
public sealed record IpamConfig
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Subnet { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? IPRange { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Gateway { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public Dictionary<string, string>? AuxiliaryAddresses { get; init; }
}

public sealed record Ipam
{
    public string Driver { get; init; } = "default";
    public IReadOnlyList<IpamConfig>? Config { get; init; }
    public Dictionary<string, string>? Options { get; init; }
}

public sealed record NetworkContainer
{
    public string Name { get; init; } = "";
    public string EndpointID { get; init; } = "";
    public string MacAddress { get; init; } = "";
    public string IPv4Address { get; init; } = "";
    public string IPv6Address { get; init; } = "";
}

public sealed record NetworkResource
{
    public string Name { get; init; } = "";
    public string Id { get; init; } = "";
    public string Created { get; init; } = "";
    public string Scope { get; init; } = "local";
    public string Driver { get; init; } = "";
    public bool EnableIPv4 { get; init; } = true;
    public bool EnableIPv6 { get; init; }
    public Ipam IPAM { get; init; } = new();
    public bool Internal { get; init; }
    public bool Attachable { get; init; }
    public bool Ingress { get; init; }
    public Dictionary<string, NetworkContainer> Containers { get; init; } = new();
    public Dictionary<string, string> Options { get; init; } = new();
    public Dictionary<string, string> Labels { get; init; } = new();
}

/// <summary>POST /networks/create body.</summary>
public sealed record NetworkCreateRequest
{
    public string Name { get; init; } = "";
    public bool? CheckDuplicate { get; init; }
    public string? Driver { get; init; }
    public string? Scope { get; init; }
    public bool Internal { get; init; }
    public bool Attachable { get; init; }
    public bool Ingress { get; init; }
    public bool? EnableIPv4 { get; init; }
    public bool? EnableIPv6 { get; init; }
    public Ipam? IPAM { get; init; }
    public Dictionary<string, string>? Options { get; init; }
    public Dictionary<string, string>? Labels { get; init; }
}

public sealed record NetworkCreateResponse
{
    public string Id { get; init; } = "";
    public string Warning { get; init; } = "";
}

/// <summary>POST /networks/{id}/connect body.</summary>
public sealed record NetworkConnectRequest
{
    public string Container { get; init; } = "";
    public EndpointSettings? EndpointConfig { get; init; }
}

/// <summary>POST /networks/{id}/disconnect body.</summary>
public sealed record NetworkDisconnectRequest
{
    public string Container { get; init; } = "";
    public bool Force { get; init; }
}
