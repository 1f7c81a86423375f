using Berth.Core.Interop;
using Berth.Core;

namespace Berth.Content;

/// <summary>
/// Path arithmetic that can never leave a root directory: names from a tar are cleaned lexically, and existing
/// components are resolved by following symlinks as if the root were <c>/</c> (a link to <c>/</c> or to
/// <c>../../..</c> lands on the root itself, not the host's).
/// </summary>
public static class RootPath
{
    private const int MaxSymlinks = 255;

    /// <summary>
    /// Whether the <c>..</c> of <paramref name="path"/> climb above where it starts (<c>../x</c>, <c>a/../../x</c>),
    /// read lexically, slashes at the start counting for nothing.
    /// </summary>
    public static bool ClimbsOut(string path)
    {
        int depth = 0;
        foreach (var c in path.Split('/'))
        {
            if (c is "" or ".") continue;
            depth += c == ".." ? -1 : 1;
            if (depth < 0) return true;
        }
        return false;
    }

    /// <summary>
    /// Cleans an archive member name into root-relative components. An absolute name is taken as relative to the
    /// root (its <c>..</c> stop at the root, as in <c>filepath.Clean("/"+p)</c>); a relative name whose <c>..</c>
    /// climbs above the root is an attempted breakout and is rejected, like Docker does.
    /// </summary>
    public static List<string> Clean(string name)
    {
        bool rooted = name.StartsWith('/');
        var parts = new List<string>();
        foreach (var c in name.Split('/'))
        {
            if (c is "" or ".") continue;
            if (c == "..")
            {
                if (parts.Count > 0) parts.RemoveAt(parts.Count - 1);
                else if (!rooted) throw BerthException.Invalid($"invalid tar entry \"{name}\": path escapes the extraction root");
                continue;
            }
            parts.Add(c);
        }
        return parts;
    }

    /// <summary>
    /// Resolves <paramref name="components"/> under <paramref name="root"/>, following every symlink met on the way
    /// (including the last component) within the root. The result is always <paramref name="root"/> or below it.
    /// Components that do not exist yet are appended as they are.
    /// </summary>
    public static string Resolve(string root, IEnumerable<string> components) =>
        Join(root, ResolveIn(parts => Join(root, parts, null), components, followLast: true), null);

    /// <summary>
    /// The general form of <see cref="Resolve(string, IEnumerable{string})"/> for a root made of several host
    /// directories (a container's rootfs with its volumes and binds): <paramref name="hostOf"/> maps cleaned
    /// root-relative components to the host path that holds them. Returns the resolved root-relative components,
    /// symlinks followed as if the root were <c>/</c> (the last one only when <paramref name="followLast"/>).
    /// </summary>
    public static List<string> ResolveIn(Func<IReadOnlyList<string>, string> hostOf, IEnumerable<string> components, bool followLast)
    {
        var pending = new LinkedList<string>(components);
        var resolved = new List<string>();
        int links = 0;
        while (pending.First is { } node)
        {
            var c = node.Value;
            pending.RemoveFirst();
            if (c is "" or ".") continue;
            if (c == "..")
            {
                // resolved holds real (non-link) components, so popping one is the true parent, clamped at the root.
                if (resolved.Count > 0) resolved.RemoveAt(resolved.Count - 1);
                continue;
            }
            resolved.Add(c);
            if (!followLast && !pending.Any(p => p is not ("" or "."))) break;
            var candidate = hostOf(resolved);
            var st = Fs.LStat(candidate);
            if (st is { } s && (s.Mode & Fs.S_IFMT) == Fs.S_IFLNK)
            {
                resolved.RemoveAt(resolved.Count - 1);
                if (++links > MaxSymlinks)
                    throw BerthException.Invalid($"too many levels of symbolic links resolving {candidate}");
                var target = new FileInfo(candidate).LinkTarget ?? "";
                if (target.StartsWith('/')) resolved.Clear();
                var parts = target.Split('/');
                for (int i = parts.Length - 1; i >= 0; i--) pending.AddFirst(parts[i]);
            }
        }
        return resolved;
    }

    /// <summary>
    /// The host path for creating the entry <paramref name="components"/>: its parent resolved inside the root,
    /// its last component not followed (an existing symlink there is replaced, never written through).
    /// </summary>
    public static string ResolveParent(string root, IReadOnlyList<string> components)
    {
        if (components.Count == 0) return root;
        var parent = Resolve(root, components.Take(components.Count - 1));
        return Path.Combine(parent, components[^1]);
    }

    private static string Join(string root, IReadOnlyList<string> parts, string? last)
    {
        var sb = new System.Text.StringBuilder(root.TrimEnd('/'));
        foreach (var p in parts) sb.Append('/').Append(p);
        if (last is not null) sb.Append('/').Append(last);
        return sb.Length == 0 ? "/" : sb.ToString();
    }
}
