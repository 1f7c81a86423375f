using System.Text;
using System.Text.RegularExpressions;

namespace Berth.Builder;

/// <summary>
/// <c>.dockerignore</c> with Docker's rules: one pattern per line, <c>#</c> comments, <c>*</c> and <c>?</c> within a
/// path component, <c>**</c> across any number of them, <c>!</c> exceptions; the last matching line decides, and a
/// pattern that matches a directory matches everything below it.
/// </summary>
public sealed class DockerIgnore
{
    private readonly List<(Regex Pattern, bool Exclude)> _rules = [];

    public static DockerIgnore Parse(string text)
    {
        var d = new DockerIgnore();
        foreach (var raw in text.Replace("\r\n", "\n").Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#') continue;
            bool exclude = true;
            if (line[0] == '!') { exclude = false; line = line[1..].Trim(); }
            var cleaned = Clean(line);
            if (cleaned.Length == 0) continue;
            d._rules.Add((new Regex("^" + ToRegex(cleaned) + "$", RegexOptions.CultureInvariant), exclude));
        }
        return d;
    }

    public bool IsEmpty => _rules.Count == 0;

    /// <summary>Whether any exception (<c>!</c>) rule exists: then an excluded directory may still have kept files.</summary>
    public bool HasExceptions => _rules.Any(r => !r.Exclude);

    /// <summary>Whether <paramref name="path"/> (context-relative, '/'-separated) is left out of the context.</summary>
    public bool Excludes(string path)
    {
        path = Clean(path);
        bool excluded = false;
        foreach (var (pattern, exclude) in _rules)
        {
            if (Matches(pattern, path)) excluded = exclude;
        }
        return excluded;
    }

    private static bool Matches(Regex pattern, string path)
    {
        if (pattern.IsMatch(path)) return true;
        // A pattern that matches a parent directory matches the path too.
        for (int i = path.LastIndexOf('/'); i > 0; i = path.LastIndexOf('/', i - 1))
            if (pattern.IsMatch(path[..i])) return true;
        return false;
    }

    private static string Clean(string p)
    {
        var parts = new List<string>();
        foreach (var c in p.Replace('\\', '/').Split('/'))
        {
            if (c is "" or ".") continue;
            if (c == "..") { if (parts.Count > 0) parts.RemoveAt(parts.Count - 1); continue; }
            parts.Add(c);
        }
        return string.Join('/', parts);
    }

    private static string ToRegex(string p)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < p.Length; i++)
        {
            char c = p[i];
            if (c == '*')
            {
                if (i + 1 < p.Length && p[i + 1] == '*')
                {
                    i++;
                    if (i + 1 < p.Length && p[i + 1] == '/') { i++; sb.Append("(?:.*/)?"); }
                    else sb.Append(".*");
                }
                else sb.Append("[^/]*");
            }
            else if (c == '?') sb.Append("[^/]");
            else if (c == '[')
            {
                int end = p.IndexOf(']', i + 1);
                if (end < 0) { sb.Append(@"\["); continue; }
                var cls = p[(i + 1)..end];
                if (cls.StartsWith('!') || cls.StartsWith('^')) cls = "^" + cls[1..];
                sb.Append('[').Append(cls.Replace("\\", "\\\\")).Append(']');
                i = end;
            }
            else sb.Append(Regex.Escape(c.ToString()));
        }
        return sb.ToString();
    }
}
