namespace Berth.Api;

public sealed record IpamConfig
{
    public string? Subnet { get; init; }
    public string? IPRange { get; init; }
    public string? Gateway { get; init; }
    public Dictionary<string, string>? AuxiliaryAddresses { get; init; }
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
