using System.Text.Json;

namespace Berth.Runtime.Cgroups;

/// <summary>
/// New limits for a running container, in OCI terms; <c>runc update -r -</c> reads <see cref="ToRuncJson"/>.
/// A null field is left as it is (runc treats an absent or zero value as "unchanged").
/// </summary>
public sealed record ResourceUpdate
{
    public long? Memory { get; init; }
    public long? MemorySwap { get; init; }
    public long? MemoryReservation { get; init; }
    public ulong? CpuShares { get; init; }
    public long? CpuQuota { get; init; }
    public ulong? CpuPeriod { get; init; }
    public string? CpusetCpus { get; init; }
    public string? CpusetMems { get; init; }

    /// <summary>-1 = unlimited.</summary>
    public long? PidsLimit { get; init; }
    public ushort? BlkioWeight { get; init; }

    public bool IsEmpty => this == new ResourceUpdate();

    /// <summary>The OCI LinuxResources document (memory/cpu/pids/blockIO objects with only the fields that change).</summary>
    public byte[] ToRuncJson()
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            if (Memory is not null || MemorySwap is not null || MemoryReservation is not null)
            {
                w.WriteStartObject("memory");
                if (Memory is { } m) w.WriteNumber("limit", m);
                if (MemoryReservation is { } r) w.WriteNumber("reservation", r);
                if (MemorySwap is { } s) w.WriteNumber("swap", s);
                w.WriteEndObject();
            }
            if (CpuShares is not null || CpuQuota is not null || CpuPeriod is not null || CpusetCpus is not null || CpusetMems is not null)
            {
                w.WriteStartObject("cpu");
                if (CpuShares is { } sh) w.WriteNumber("shares", sh);
                if (CpuQuota is { } q) w.WriteNumber("quota", q);
                if (CpuPeriod is { } p) w.WriteNumber("period", p);
                if (CpusetCpus is { } c) w.WriteString("cpus", c);
                if (CpusetMems is { } mems) w.WriteString("mems", mems);
                w.WriteEndObject();
            }
            if (PidsLimit is { } pl)
            {
                w.WriteStartObject("pids");
                w.WriteNumber("limit", pl);
                w.WriteEndObject();
            }
            if (BlkioWeight is { } bw)
            {
                w.WriteStartObject("blockIO");
                w.WriteNumber("weight", bw);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        return ms.ToArray();
    }
}
