using System.Text.Json;

namespace Berth.Core;

/// <summary>Dockerfile and `changes` exec form: a JSON array of strings, or not that form at all.</summary>
public static class JsonStringArray
{
    /// <summary>The strings of a JSON string array; null when the text is anything else (then it is shell form).</summary>
    public static List<string>? TryParse(string s)
    {
        if (!s.TrimStart().StartsWith('[')) return null;
        try
        {
            using var doc = JsonDocument.Parse(s);
            if (doc.RootElement.ValueKind != JsonValueKind.Array) return null;
            var list = new List<string>();
            foreach (var e in doc.RootElement.EnumerateArray())
            {
                if (e.ValueKind != JsonValueKind.String) return null;
                list.Add(e.GetString()!);
            }
            return list;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
