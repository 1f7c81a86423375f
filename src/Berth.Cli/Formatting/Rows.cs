using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Berth.Cli.Formatting;

// Builds the objects docker's formatter contexts expose to templates (ps, images, volume ls, history),
// with their computed, display-ready fields; keys sorted as docker's `{{json .}}` emits them.
internal static class Rows
{
    public static readonly JsonObject ContainerHeaders = new()
    {
        ["Command"] = "COMMAND", ["CreatedAt"] = "CREATED AT", ["ID"] = "CONTAINER ID", ["Image"] = "IMAGE", ["Labels"] = "LABELS",
        ["LocalVolumes"] = "LOCAL VOLUMES", ["Mounts"] = "MOUNTS", ["Names"] = "NAMES", ["Networks"] = "NETWORKS", ["Ports"] = "PORTS",
        ["RunningFor"] = "CREATED", ["Size"] = "SIZE", ["State"] = "STATE", ["Status"] = "STATUS", ["Platform"] = "PLATFORM",
    };

    public static readonly JsonObject ImageHeaders = new()
    {
        ["Containers"] = "CONTAINERS", ["CreatedAt"] = "CREATED AT", ["CreatedSince"] = "CREATED", ["Digest"] = "DIGEST", ["ID"] = "IMAGE ID",
        ["Repository"] = "REPOSITORY", ["SharedSize"] = "SHARED SIZE", ["Size"] = "SIZE", ["Tag"] = "TAG", ["UniqueSize"] = "UNIQUE SIZE",
        ["VirtualSize"] = "VIRTUAL SIZE",
    };

    public static readonly JsonObject VolumeHeaders = new()
    {
        ["Availability"] = "AVAILABILITY", ["Driver"] = "DRIVER", ["Group"] = "GROUP", ["Labels"] = "LABELS", ["Links"] = "LINKS",
        ["Mountpoint"] = "MOUNTPOINT", ["Name"] = "VOLUME NAME", ["Scope"] = "SCOPE", ["Size"] = "SIZE", ["Status"] = "STATUS",
    };

    public static readonly JsonObject HistoryHeaders = new()
    {
        ["Comment"] = "COMMENT", ["CreatedAt"] = "CREATED AT", ["CreatedBy"] = "CREATED BY", ["CreatedSince"] = "CREATED", ["ID"] = "IMAGE",
        ["Size"] = "SIZE",
    };

    public static string TruncateId(string id)
    {
        var colon = id.IndexOf(':');
        if (colon >= 0)
        {
            id = id[(colon + 1)..];
        }
        return id.Length > 12 ? id[..12] : id;
    }

    // docker's formatter.Ellipsis for ASCII/BMP text.
    public static string Ellipsis(string s, int max)
    {
        var runes = s.EnumerateRunes().ToArray();
        if (runes.Length <= max)
        {
            return s;
        }
        var sb = new StringBuilder();
        foreach (var r in runes.Take(max - 1))
        {
            sb.Append(r.ToString());
        }
        return sb.Append('…').ToString();
    }

    // strconv.Quote: Go-escaped, double-quoted.
    public static string GoQuote(string s)
    {
        var sb = new StringBuilder("\"");
        foreach (var r in s.EnumerateRunes())
        {
            switch (r.Value)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\t': sb.Append("\\t"); break;
                case '\r': sb.Append("\\r"); break;
                case '\a': sb.Append("\\a"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                case '\v': sb.Append("\\v"); break;
                default:
                    if (r.Value < 0x20 || r.Value == 0x7f)
                    {
                        sb.Append(CultureInfo.InvariantCulture, $"\\x{r.Value:x2}");
                    }
                    else
                    {
                        sb.Append(r.ToString());
                    }
                    break;
            }
        }
        return sb.Append('"').ToString();
    }

    // Go's time.Time.String() in UTC: "2006-01-02 15:04:05 +0000 UTC".
    public static string GoTime(DateTimeOffset t) => t.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + " +0000 UTC";

    private static string Str(JsonNode? n) => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : "";

    private static long Long(JsonNode? n) => n is JsonValue v ? (v.TryGetValue<long>(out var l) ? l : v.TryGetValue<double>(out var d) ? (long)d : 0) : 0;

    public static JsonObject Container(JsonNode c, bool trunc, DateTimeOffset now)
    {
        var id = Str(c["Id"]);
        var image = Str(c["Image"]);
        if (image.Length == 0)
        {
            image = "<no image>";
        }
        else if (trunc)
        {
            if (image.StartsWith("sha256:", StringComparison.Ordinal))
            {
                image = TruncateId(image);
            }
            else
            {
                var at = image.IndexOf('@');
                if (at > 0)
                {
                    image = image[..at];
                }
            }
        }
        var command = Str(c["Command"]);
        var created = DateTimeOffset.FromUnixTimeSeconds(Long(c["Created"]));
        var names = (c["Names"] as JsonArray)?.Select(n => Str(n).TrimStart('/')).ToList() ?? [];
        if (trunc)
        {
            var plain = names.FirstOrDefault(n => !n.Contains('/'));
            if (plain is not null)
            {
                names = [plain];
            }
        }
        var labels = c["Labels"] as JsonObject;
        var mounts = (c["Mounts"] as JsonArray)?.Select(m =>
        {
            var name = Str(m?["Name"]);
            if (name.Length == 0)
            {
                name = Str(m?["Source"]);
            }
            return trunc ? Ellipsis(name, 15) : name;
        }).ToList() ?? [];
        var localVolumes = (c["Mounts"] as JsonArray)?.Count(m => Str(m?["Driver"]) == "local") ?? 0;
        var networks = (c["NetworkSettings"]?["Networks"] as JsonObject)?.Select(p => p.Key).Order(StringComparer.Ordinal).ToList() ?? [];
        // docker formats the sizes whether or not they were asked for: "0B" without --size.
        var rw = Units.HumanSize(Long(c["SizeRw"]));
        var root = Long(c["SizeRootFs"]);
        var size = root > 0 ? $"{rw} (virtual {Units.HumanSize(root)})" : rw;
        return new JsonObject
        {
            ["Command"] = GoQuote(trunc ? Ellipsis(command, 20) : command),
            ["CreatedAt"] = GoTime(created),
            ["ID"] = trunc ? TruncateId(id) : id,
            ["Image"] = image,
            ["Labels"] = labels is null ? "" : string.Join(",", labels.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={Str(p.Value)}")),
            ["LocalVolumes"] = localVolumes.ToString(CultureInfo.InvariantCulture),
            ["Mounts"] = string.Join(",", mounts),
            ["Names"] = string.Join(",", names),
            ["Networks"] = string.Join(",", networks),
            ["Platform"] = null,
            ["Ports"] = Ports(c["Ports"] as JsonArray),
            ["RunningFor"] = Units.HumanDuration(now - created) + " ago",
            ["Size"] = size,
            ["State"] = Str(c["State"]),
            ["Status"] = Str(c["Status"]),
        };
    }

    // docker's DisplayablePorts: sorted by private port, IP, public port, type; runs of unpublished ports (or of ports
    // published on the same number) fold into ranges ("8000-8002/tcp", "0.0.0.0:80-81->80-81/tcp"), then the other
    // host mappings ("0.0.0.0:8080->80/tcp").
    public static string Ports(JsonArray? ports)
    {
        if (ports is null)
        {
            return "";
        }
        var list = ports.Select(p => (Ip: Str(p?["IP"]), Private: Long(p?["PrivatePort"]), Public: Long(p?["PublicPort"]), Type: Str(p?["Type"])))
            .OrderBy(p => p.Private).ThenBy(p => p.Ip, StringComparer.Ordinal).ThenBy(p => p.Public).ThenBy(p => p.Type, StringComparer.Ordinal).ToList();
        var groups = new Dictionary<string, (long First, long Last)>(StringComparer.Ordinal);
        var order = new List<string>();
        var result = new List<string>();
        var hostMappings = new List<string>();
        foreach (var p in list)
        {
            var key = p.Type;
            if (p.Ip.Length > 0)
            {
                if (p.Public != p.Private)
                {
                    var host = p.Ip.Contains(':') ? $"[{p.Ip}]" : p.Ip;
                    hostMappings.Add($"{host}:{p.Public}->{p.Private}/{p.Type}");
                    continue;
                }
                key = $"{p.Ip}/{p.Type}";
            }
            if (!groups.TryGetValue(key, out var g))
            {
                groups[key] = (p.Private, p.Private);
                order.Add(key);
                continue;
            }
            if (p.Private == g.Last + 1)
            {
                groups[key] = (g.First, p.Private);
                continue;
            }
            result.Add(FormGroup(key, g.First, g.Last));
            groups[key] = (p.Private, p.Private);
        }
        result.AddRange(order.Select(k => FormGroup(k, groups[k].First, groups[k].Last)));
        result.AddRange(hostMappings);
        return string.Join(", ", result);
    }

    private static string FormGroup(string key, long first, long last)
    {
        var slash = key.LastIndexOf('/');
        var ip = slash < 0 ? "" : key[..slash];
        var type = slash < 0 ? key : key[(slash + 1)..];
        var group = first == last ? $"{first}" : $"{first}-{last}";
        if (ip.Length > 0)
        {
            group = $"{ip}:{group}->{group}";
        }
        return $"{group}/{type}";
    }

    public static IEnumerable<JsonObject> Images(JsonNode image, bool trunc, bool digests, DateTimeOffset now)
    {
        var id = Str(image["Id"]);
        var created = DateTimeOffset.FromUnixTimeSeconds(Long(image["Created"]));
        var size = Long(image["Size"]);
        var repoDigests = (image["RepoDigests"] as JsonArray)?.Select(d => Str(d)).ToList() ?? [];
        var tags = (image["RepoTags"] as JsonArray)?.Select(t => Str(t)).Where(t => t != "<none>:<none>").ToList() ?? [];
        var pairs = new List<(string Repo, string Tag, string Digest)>();
        foreach (var t in tags)
        {
            var (repo, tag) = SplitTag(t);
            var digest = repoDigests.FirstOrDefault(d => d.StartsWith(repo + "@", StringComparison.Ordinal));
            pairs.Add((repo, tag, digest is null ? "<none>" : digest[(repo.Length + 1)..]));
        }
        if (pairs.Count == 0)
        {
            if (repoDigests.Count > 0)
            {
                foreach (var d in repoDigests)
                {
                    var at = d.IndexOf('@');
                    pairs.Add((at > 0 ? d[..at] : "<none>", "<none>", at > 0 ? d[(at + 1)..] : "<none>"));
                }
            }
            else
            {
                pairs.Add(("<none>", "<none>", "<none>"));
            }
        }
        foreach (var (repo, tag, digest) in pairs)
        {
            yield return new JsonObject
            {
                ["Containers"] = Long(image["Containers"]) < 0 ? "N/A" : Long(image["Containers"]).ToString(CultureInfo.InvariantCulture),
                ["CreatedAt"] = GoTime(created),
                ["CreatedSince"] = Units.HumanDuration(now - created) + " ago",
                ["Digest"] = digest,
                ["ID"] = trunc ? TruncateId(id) : id,
                ["Repository"] = repo,
                ["SharedSize"] = Long(image["SharedSize"]) < 0 ? "N/A" : Units.HumanSize(Long(image["SharedSize"])),
                ["Size"] = Units.HumanSize(size),
                ["Tag"] = tag,
                ["UniqueSize"] = Long(image["SharedSize"]) < 0 ? "N/A" : Units.HumanSize(size - Long(image["SharedSize"])),
                ["VirtualSize"] = Units.HumanSize(size),
            };
        }
    }

    // "registry:5000/repo:tag" → ("registry:5000/repo", "tag").
    public static (string Repo, string Tag) SplitTag(string reference)
    {
        var at = reference.IndexOf('@');
        if (at >= 0)
        {
            reference = reference[..at];
        }
        var colon = reference.LastIndexOf(':');
        return colon > reference.LastIndexOf('/') && colon >= 0 ? (reference[..colon], reference[(colon + 1)..]) : (reference, "latest");
    }

    public static JsonObject Volume(JsonNode v)
    {
        var labels = v["Labels"] as JsonObject;
        var usage = v["UsageData"];
        var size = usage is null ? "N/A" : Long(usage["Size"]) < 0 ? "N/A" : Units.HumanSize(Long(usage["Size"]));
        var links = usage is null ? "N/A" : Long(usage["RefCount"]) < 0 ? "N/A" : Long(usage["RefCount"]).ToString(CultureInfo.InvariantCulture);
        return new JsonObject
        {
            ["Availability"] = "N/A",
            ["Driver"] = Str(v["Driver"]),
            ["Group"] = "N/A",
            ["Labels"] = labels is null ? "" : string.Join(",", labels.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={Str(p.Value)}")),
            ["Links"] = links,
            ["Mountpoint"] = Str(v["Mountpoint"]),
            ["Name"] = Str(v["Name"]),
            ["Scope"] = Str(v["Scope"]),
            ["Size"] = size,
            ["Status"] = "N/A",
        };
    }

    public static JsonObject History(JsonNode h, bool trunc, bool human, DateTimeOffset now)
    {
        var id = Str(h["Id"]);
        var created = DateTimeOffset.FromUnixTimeSeconds(Long(h["Created"]));
        var createdBy = Str(h["CreatedBy"]).Replace("\t", " ", StringComparison.Ordinal);
        var size = Long(h["Size"]);
        return new JsonObject
        {
            ["Comment"] = Str(h["Comment"]),
            ["CreatedAt"] = human ? GoTime(created) : created.ToString("yyyy-MM-dd'T'HH:mm:ssK", CultureInfo.InvariantCulture),
            ["CreatedBy"] = trunc ? Ellipsis(createdBy, 45) : createdBy,
            ["CreatedSince"] = human ? Units.HumanDuration(now - created) + " ago" : created.ToString("yyyy-MM-dd'T'HH:mm:ssK", CultureInfo.InvariantCulture),
            ["ID"] = id == "<missing>" || !trunc ? id : TruncateId(id),
            ["Size"] = human ? Units.HumanSize(size) : size.ToString(CultureInfo.InvariantCulture),
        };
    }
}
