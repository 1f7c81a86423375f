using System.Globalization;
using System.Text;

namespace Berth.Cli.Templates;

internal enum TokenKind
{
    Text,
    LeftDelim,
    RightDelim,
    Field,      // .A or .A.B (Value holds "A.B"); a lone "." is Dot
    Dot,
    Variable,   // $ or $x (Value holds "$x"), possibly followed by Field tokens
    Identifier,
    String,
    Number,
    Pipe,
    LeftParen,
    RightParen,
    Declare,    // :=
    Assign,     // =
    Comma,
    Eof,
}

internal readonly record struct Token(TokenKind Kind, string Value, int Pos);

// Splits a Go text/template source into tokens, honouring "{{-" and "-}}" whitespace trimming.
internal static class TemplateLexer
{
    public static List<Token> Lex(string src)
    {
        var tokens = new List<Token>();
        var pos = 0;
        var trimNextText = false;
        while (pos < src.Length)
        {
            var open = src.IndexOf("{{", pos, StringComparison.Ordinal);
            var textEnd = open < 0 ? src.Length : open;
            var text = src[pos..textEnd];
            var trimLeft = open >= 0 && open + 3 < src.Length && src[open + 2] == '-' && char.IsWhiteSpace(src[open + 3]);
            if (trimNextText)
            {
                text = text.TrimStart(' ', '\t', '\r', '\n');
            }
            if (trimLeft)
            {
                text = text.TrimEnd(' ', '\t', '\r', '\n');
            }
            if (text.Length > 0)
            {
                tokens.Add(new Token(TokenKind.Text, text, pos));
            }
            if (open < 0)
            {
                break;
            }
            pos = open + (trimLeft ? 3 : 2);
            tokens.Add(new Token(TokenKind.LeftDelim, "{{", open));
            trimNextText = false;
            pos = LexAction(src, pos, tokens, out trimNextText);
        }
        tokens.Add(new Token(TokenKind.Eof, "", src.Length));
        return tokens;
    }

    private static int LexAction(string src, int pos, List<Token> tokens, out bool trimRight)
    {
        trimRight = false;
        while (true)
        {
            if (pos >= src.Length)
            {
                throw new TemplateException("unclosed action");
            }
            var c = src[pos];
            // " -}}" closes with trimming; "}}" closes plainly.
            if (char.IsWhiteSpace(c) && pos + 3 < src.Length + 0 && src[pos + 1] == '-' && src.AsSpan(pos + 2).StartsWith("}}"))
            {
                tokens.Add(new Token(TokenKind.RightDelim, "}}", pos));
                trimRight = true;
                return pos + 4;
            }
            if (src.AsSpan(pos).StartsWith("}}"))
            {
                tokens.Add(new Token(TokenKind.RightDelim, "}}", pos));
                return pos + 2;
            }
            if (char.IsWhiteSpace(c))
            {
                pos++;
                continue;
            }
            if (src.AsSpan(pos).StartsWith("/*"))
            {
                var end = src.IndexOf("*/", pos + 2, StringComparison.Ordinal);
                if (end < 0)
                {
                    throw new TemplateException("unclosed comment");
                }
                pos = end + 2;
                continue;
            }
            switch (c)
            {
                case '|':
                    tokens.Add(new Token(TokenKind.Pipe, "|", pos++));
                    continue;
                case '(':
                    tokens.Add(new Token(TokenKind.LeftParen, "(", pos++));
                    continue;
                case ')':
                    tokens.Add(new Token(TokenKind.RightParen, ")", pos++));
                    continue;
                case ',':
                    tokens.Add(new Token(TokenKind.Comma, ",", pos++));
                    continue;
                case ':' when pos + 1 < src.Length && src[pos + 1] == '=':
                    tokens.Add(new Token(TokenKind.Declare, ":=", pos));
                    pos += 2;
                    continue;
                case '=':
                    tokens.Add(new Token(TokenKind.Assign, "=", pos++));
                    continue;
                case '"':
                    pos = LexQuoted(src, pos, tokens);
                    continue;
                case '`':
                    {
                        var end = src.IndexOf('`', pos + 1);
                        if (end < 0)
                        {
                            throw new TemplateException("unterminated raw quoted string");
                        }
                        tokens.Add(new Token(TokenKind.String, src[(pos + 1)..end], pos));
                        pos = end + 1;
                        continue;
                    }
                case '.':
                    {
                        if (pos + 1 < src.Length && char.IsDigit(src[pos + 1]))
                        {
                            pos = LexNumber(src, pos, tokens);
                            continue;
                        }
                        var start = pos;
                        pos++;
                        var name = ReadChain(src, ref pos);
                        if (name.Length == 0)
                        {
                            tokens.Add(new Token(TokenKind.Dot, ".", start));
                        }
                        else
                        {
                            tokens.Add(new Token(TokenKind.Field, name, start));
                        }
                        continue;
                    }
                case '$':
                    {
                        var start = pos;
                        pos++;
                        var name = ReadIdent(src, ref pos);
                        var chain = pos < src.Length && src[pos] == '.' ? (pos++ > 0 ? ReadChain(src, ref pos) : "") : "";
                        tokens.Add(new Token(TokenKind.Variable, chain.Length > 0 ? "$" + name + "." + chain : "$" + name, start));
                        continue;
                    }
                case '\'':
                    {
                        // A Go character constant is a number.
                        var end = src.IndexOf('\'', pos + 1);
                        if (end < 0)
                        {
                            throw new TemplateException("unterminated character constant");
                        }
                        var ch = Unescape(src[(pos + 1)..end]);
                        tokens.Add(new Token(TokenKind.Number, ((int)ch[0]).ToString(CultureInfo.InvariantCulture), pos));
                        pos = end + 1;
                        continue;
                    }
            }
            if (char.IsDigit(c) || ((c == '-' || c == '+') && pos + 1 < src.Length && char.IsDigit(src[pos + 1])))
            {
                pos = LexNumber(src, pos, tokens);
                continue;
            }
            if (char.IsLetter(c) || c == '_')
            {
                var start = pos;
                var name = ReadIdent(src, ref pos);
                tokens.Add(new Token(TokenKind.Identifier, name, start));
                continue;
            }
            throw new TemplateException($"unexpected \"{c}\" in command");
        }
    }

    private static string ReadIdent(string src, ref int pos)
    {
        var start = pos;
        while (pos < src.Length && (char.IsLetterOrDigit(src[pos]) || src[pos] == '_'))
        {
            pos++;
        }
        return src[start..pos];
    }

    // "A.B.C" after the leading dot of a field chain.
    private static string ReadChain(string src, ref int pos)
    {
        var name = ReadIdent(src, ref pos);
        while (name.Length > 0 && pos + 1 < src.Length && src[pos] == '.' && (char.IsLetter(src[pos + 1]) || src[pos + 1] == '_'))
        {
            pos++;
            name += "." + ReadIdent(src, ref pos);
        }
        return name;
    }

    private static int LexNumber(string src, int pos, List<Token> tokens)
    {
        var start = pos;
        pos++;
        while (pos < src.Length && (char.IsLetterOrDigit(src[pos]) || src[pos] == '.' || src[pos] == '_'))
        {
            pos++;
        }
        tokens.Add(new Token(TokenKind.Number, src[start..pos], start));
        return pos;
    }

    private static int LexQuoted(string src, int pos, List<Token> tokens)
    {
        var start = pos;
        pos++;
        var sb = new StringBuilder();
        while (true)
        {
            if (pos >= src.Length)
            {
                throw new TemplateException("unterminated quoted string");
            }
            var c = src[pos];
            if (c == '"')
            {
                break;
            }
            if (c == '\\' && pos + 1 < src.Length)
            {
                sb.Append(src, pos, 2);
                pos += 2;
                continue;
            }
            sb.Append(c);
            pos++;
        }
        tokens.Add(new Token(TokenKind.String, Unescape(sb.ToString()), start));
        return pos + 1;
    }

    private static string Unescape(string s)
    {
        if (!s.Contains('\\'))
        {
            return s;
        }
        var sb = new StringBuilder(s.Length);
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] != '\\' || i + 1 >= s.Length)
            {
                sb.Append(s[i]);
                continue;
            }
            var e = s[++i];
            switch (e)
            {
                case 'n': sb.Append('\n'); break;
                case 't': sb.Append('\t'); break;
                case 'r': sb.Append('\r'); break;
                case '\\': sb.Append('\\'); break;
                case '"': sb.Append('"'); break;
                case '\'': sb.Append('\''); break;
                case '0': sb.Append('\0'); break;
                case 'x' when i + 2 < s.Length:
                    sb.Append((char)int.Parse(s.AsSpan(i + 1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                    i += 2;
                    break;
                case 'u' when i + 4 < s.Length:
                    sb.Append((char)int.Parse(s.AsSpan(i + 1, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                    i += 4;
                    break;
                default: sb.Append('\\').Append(e); break;
            }
        }
        return sb.ToString();
    }
}

internal sealed class TemplateException(string message) : Exception(message);
