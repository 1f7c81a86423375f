using System.Globalization;
using System.Text;

namespace Berth.Builder;

/// <summary>
/// One <c>RUN --mount=...</c> flag in BuildKit's syntax: <c>type=cache|bind|tmpfs</c> (bind is the default), a
/// <c>target</c> and the type's options. The mount is not part of the step's layer.
/// </summary>
public sealed record RunMount
{
    public required string Type { get; init; }
    public required string Target { get; init; }

    /// <summary>cache: the cache's id (default: the target). bind/cache: the path inside <see cref="From"/> or the context.</summary>
    public string? Id { get; init; }
    public string? Source { get; init; }

    /// <summary>A stage or image name; null: the build context (bind) or an empty directory (cache).</summary>
    public string? From { get; init; }

    /// <summary>cache: shared (default), private or locked.</summary>
    public string Sharing { get; init; } = "shared";

    public bool ReadOnly { get; init; }
    public uint Mode { get; init; } = 0x1ED; // 0755
    public int Uid { get; init; }
    public int Gid { get; init; }

    /// <summary>tmpfs: size in bytes, 0 for the default.</summary>
    public long Size { get; init; }

    private static readonly Dictionary<string, string[]> Keys = new(StringComparer.Ordinal)
    {
        ["cache"] = ["type", "target", "dst", "destination", "id", "sharing", "from", "source", "src", "mode", "uid", "gid", "ro", "readonly", "rw", "readwrite"],
        ["bind"] = ["type", "target", "dst", "destination", "source", "src", "from", "ro", "readonly", "rw", "readwrite"],
        ["tmpfs"] = ["type", "target", "dst", "destination", "size"],
    };

    /// <summary>Parses the value of one <c>--mount</c> flag. Throws <see cref="FormatException"/> with the reason.</summary>
    public static RunMount Parse(string value)
    {
        var fields = new List<KeyValuePair<string, string?>>();
        foreach (var field in SplitCsv(value))
        {
            if (field.Length == 0) continue;
            int eq = field.IndexOf('=');
            var key = (eq < 0 ? field : field[..eq]).Trim().ToLowerInvariant();
            fields.Add(new(key, eq < 0 ? null : field[(eq + 1)..]));
        }
        var type = fields.LastOrDefault(f => f.Key == "type").Value ?? "bind";
        if (!Keys.TryGetValue(type, out var allowed)) throw new FormatException($"unsupported mount type \"{type}\"");

        var m = new RunMount { Type = type, Target = "", ReadOnly = type == "bind" };
        string? target = null;
        foreach (var (key, v) in fields)
        {
            if (!allowed.Contains(key))
                throw new FormatException(Keys.Values.Any(a => a.Contains(key)) ? $"option \"{key}\" is not valid for mount type {type}" : $"unexpected key '{key}' in '{value}'");
            string Need() => v ?? throw new FormatException($"invalid value for {key}: a value is required");
            switch (key)
            {
                case "type": break;
                case "target" or "dst" or "destination": target = Need(); break;
                case "id": m = m with { Id = Need() }; break;
                case "source" or "src": m = m with { Source = Need() }; break;
                case "from": m = m with { From = Need() }; break;
                case "sharing":
                    var s = Need().ToLowerInvariant();
                    if (s is not ("shared" or "private" or "locked")) throw new FormatException($"unsupported sharing value \"{v}\"");
                    m = m with { Sharing = s };
                    break;
                case "mode":
                    try { m = m with { Mode = Convert.ToUInt32(Need(), 8) }; }
                    catch (Exception e) when (e is FormatException or OverflowException or ArgumentException) { throw new FormatException($"invalid mode \"{v}\""); }
                    if (m.Mode > 0xFFF) throw new FormatException($"invalid mode \"{v}\"");
                    break;
                case "uid" or "gid":
                    if (!int.TryParse(Need(), NumberStyles.None, CultureInfo.InvariantCulture, out var n)) throw new FormatException($"invalid {key} \"{v}\"");
                    m = key == "uid" ? m with { Uid = n } : m with { Gid = n };
                    break;
                case "ro" or "readonly": m = m with { ReadOnly = Bool(key, v) }; break;
                case "rw" or "readwrite": m = m with { ReadOnly = !Bool(key, v) }; break;
                case "size": m = m with { Size = ParseSize(Need()) }; break;
            }
        }
        if (string.IsNullOrEmpty(target)) throw new FormatException("mount target is required");
        return m with { Target = target };
    }

    /// <summary>The mount as it enters the step's cache key and history: every option, normalized, no cache content.</summary>
    public string Canonical()
    {
        var sb = new StringBuilder("type=").Append(Type).Append(",target=").Append(Target);
        if (Type == "cache") sb.Append(",id=").Append(Id ?? Target).Append(",sharing=").Append(Sharing)
            .Append(",mode=").Append(Convert.ToString(Mode, 8)).Append(",uid=").Append(Uid).Append(",gid=").Append(Gid);
        if (Source is not null) sb.Append(",source=").Append(Source);
        if (From is not null) sb.Append(",from=").Append(From);
        if (Type == "tmpfs" && Size > 0) sb.Append(",size=").Append(Size);
        if (Type != "tmpfs") sb.Append(ReadOnly ? ",ro" : ",rw");
        return sb.ToString();
    }

    private static bool Bool(string key, string? v) => v is null ? true : v.ToLowerInvariant() switch
    {
        "true" or "1" => true,
        "false" or "0" => false,
        _ => throw new FormatException($"invalid value for {key}: \"{v}\""),
    };

    private static long ParseSize(string s)
    {
        var t = s.Trim().ToLowerInvariant();
        long unit = 1;
        if (t.EndsWith('b')) t = t[..^1];
        if (t.Length > 0 && "kmgt".Contains(t[^1]))
        {
            unit = t[^1] switch { 'k' => 1L << 10, 'm' => 1L << 20, 'g' => 1L << 30, _ => 1L << 40 };
            t = t[..^1];
        }
        if (!long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 0) throw new FormatException($"invalid size \"{s}\"");
        return n * unit;
    }

    /// <summary>Splits on commas outside double quotes, as the CSV reader BuildKit uses.</summary>
    private static List<string> SplitCsv(string value)
    {
        var list = new List<string>();
        var cur = new StringBuilder();
        bool quoted = false;
        foreach (var ch in value)
        {
            if (ch == '"') { quoted = !quoted; continue; }
            if (ch == ',' && !quoted) { list.Add(cur.ToString()); cur.Clear(); continue; }
            cur.Append(ch);
        }
        if (quoted) throw new FormatException($"unterminated quote in '{value}'");
        list.Add(cur.ToString());
        return list;
    }
}
