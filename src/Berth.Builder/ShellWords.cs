using System.Text;

namespace Berth.Builder;

/// <summary>
/// The Dockerfile's small shell-word language: quotes, the escape character and <c>$v</c>, <c>${v}</c>,
/// <c>${v:-w}</c>, <c>${v:+w}</c> (and the forms without the colon), as the instructions that allow substitution use it.
/// </summary>
public static class ShellWords
{
    /// <summary>Splits on whitespace outside quotes; quotes and escapes stay in the words for <see cref="Expand"/>.</summary>
    public static List<string> Split(string s, char escape = '\\')
    {
        var words = new List<string>();
        var cur = new StringBuilder();
        bool inWord = false;
        char quote = '\0';
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (quote == '\0' && char.IsWhiteSpace(c))
            {
                if (inWord) { words.Add(cur.ToString()); cur.Clear(); inWord = false; }
                continue;
            }
            inWord = true;
            if (c == escape && quote != '\'' && i + 1 < s.Length)
            {
                cur.Append(c).Append(s[++i]);
                continue;
            }
            if (quote == '\0' && c is '"' or '\'') quote = c;
            else if (quote == c) quote = '\0';
            cur.Append(c);
        }
        if (inWord) words.Add(cur.ToString());
        return words;
    }

    /// <summary>Splits, then expands each word.</summary>
    public static List<string> ExpandWords(string s, Func<string, string?> lookup, char escape = '\\') =>
        Split(s, escape).Select(w => Expand(w, lookup, escape)).ToList();

    /// <summary>Expands variables and removes quotes and escapes in one word. An unset variable is empty.</summary>
    public static string Expand(string s, Func<string, string?> lookup, char escape = '\\')
    {
        var sb = new StringBuilder();
        int i = 0;
        ExpandInto(sb, s, ref i, lookup, escape, stopAtBrace: false);
        return sb.ToString();
    }

    /// <summary>Here-document bodies: only <c>$</c> substitution (and its escape); quotes are literal text.</summary>
    public static string ExpandVariables(string s, Func<string, string?> lookup, char escape = '\\')
    {
        var sb = new StringBuilder();
        int i = 0;
        while (i < s.Length)
        {
            char c = s[i];
            if (c == escape && i + 1 < s.Length && (s[i + 1] == '$' || s[i + 1] == escape)) { sb.Append(s[i + 1]); i += 2; continue; }
            if (c == '$') { i++; sb.Append(Variable(s, ref i, lookup, escape)); continue; }
            sb.Append(c);
            i++;
        }
        return sb.ToString();
    }

    private static void ExpandInto(StringBuilder sb, string s, ref int i, Func<string, string?> lookup, char escape, bool stopAtBrace)
    {
        bool dq = false;
        while (i < s.Length)
        {
            char c = s[i];
            if (stopAtBrace && !dq && c == '}') return;
            if (c == escape)
            {
                if (i + 1 >= s.Length) { sb.Append(c); i++; continue; }
                char n = s[i + 1];
                if (dq && n != '"' && n != escape && n != '$') sb.Append(c);
                sb.Append(n);
                i += 2;
                continue;
            }
            if (!dq && c == '\'')
            {
                int end = s.IndexOf('\'', i + 1);
                if (end < 0) throw new FormatException("unexpected end of statement while looking for matching single-quote");
                sb.Append(s, i + 1, end - i - 1);
                i = end + 1;
                continue;
            }
            if (c == '"') { dq = !dq; i++; continue; }
            if (c == '$')
            {
                i++;
                sb.Append(Variable(s, ref i, lookup, escape));
                continue;
            }
            sb.Append(c);
            i++;
        }
        if (dq) throw new FormatException("unexpected end of statement while looking for matching double-quote");
    }

    private static string Variable(string s, ref int i, Func<string, string?> lookup, char escape)
    {
        if (i >= s.Length) return "$";
        if (s[i] == '{')
        {
            i++;
            int start = i;
            while (i < s.Length && (char.IsAsciiLetterOrDigit(s[i]) || s[i] == '_')) i++;
            var name = s[start..i];
            if (name.Length == 0) throw new FormatException("bad substitution: missing variable name in ${}");
            if (i >= s.Length) throw new FormatException($"missing '}}' in substitution of {name}");
            if (s[i] == '}') { i++; return lookup(name) ?? ""; }
            bool colon = s[i] == ':';
            if (colon) i++;
            if (i >= s.Length) throw new FormatException($"missing '}}' in substitution of {name}");
            char op = s[i++];
            if (op is not ('-' or '+' or '?'))
                throw new FormatException($"unsupported modifier ({op}) in substitution");
            var word = new StringBuilder();
            ExpandInto(word, s, ref i, lookup, escape, stopAtBrace: true);
            if (i >= s.Length || s[i] != '}') throw new FormatException($"missing '}}' in substitution of {name}");
            i++;
            var value = lookup(name);
            bool set = colon ? !string.IsNullOrEmpty(value) : value is not null;
            return op switch
            {
                '-' => set ? value! : word.ToString(),
                '+' => set ? word.ToString() : "",
                _ => set ? value! : throw new FormatException(word.Length > 0 ? $"{name}: {word}" : $"{name}: is not allowed to be unset"),
            };
        }
        if (char.IsAsciiLetter(s[i]) || s[i] == '_')
        {
            int start = i;
            while (i < s.Length && (char.IsAsciiLetterOrDigit(s[i]) || s[i] == '_')) i++;
            return lookup(s[start..i]) ?? "";
        }
        return "$";
    }
}
