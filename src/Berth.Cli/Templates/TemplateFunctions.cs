using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Berth.Cli.Templates;

// Go's builtins plus docker's template functions (cli/templates: json, split, join, title, lower, upper, pad, truncate).
internal static class TemplateFunctions
{
    public static object? Call(string name, List<object?> args)
    {
        switch (name)
        {
            case "json":
                Want(name, args, 1);
                return GoTemplate.ToJson(args[0]);
            case "upper":
                Want(name, args, 1);
                return Str(args[0]).ToUpperInvariant();
            case "lower":
                Want(name, args, 1);
                return Str(args[0]).ToLowerInvariant();
            case "title":
                Want(name, args, 1);
                return Title(Str(args[0]));
            case "split":
                Want(name, args, 2);
                return Str(args[0]).Split(Str(args[1])).Select(s => (object?)s).ToList();
            case "join":
                Want(name, args, 2);
                return string.Join(Str(args[1]), Items(args[0]).Select(i => GoTemplate.Print(i, true)));
            case "truncate":
                {
                    Want(name, args, 2);
                    var s = Str(args[0]);
                    var n = (int)Int(args[1]);
                    return s.Length < n ? s : s[..Math.Max(0, n)];
                }
            case "pad":
                Want(name, args, 3);
                return new string(' ', (int)Int(args[1])) + Str(args[0]) + new string(' ', (int)Int(args[2]));
            case "len":
                Want(name, args, 1);
                return args[0] switch
                {
                    string s => (long)Encoding.UTF8.GetByteCount(s),
                    JsonObject o => (long)o.Count,
                    JsonArray a => (long)a.Count,
                    List<object?> l => (long)l.Count,
                    _ => throw new TemplateException($"error calling len: len of type {GoTemplate.TypeName(args[0])}"),
                };
            case "index":
                return Index(args);
            case "slice":
                return Slice(args);
            case "not":
                Want(name, args, 1);
                return !GoTemplate.Truth(args[0]);
            case "eq":
                if (args.Count < 2)
                {
                    throw new TemplateException("missing argument for comparison");
                }
                return args.Skip(1).Any(a => Compare(args[0], a) == 0);
            case "ne":
                Want(name, args, 2);
                return Compare(args[0], args[1]) != 0;
            case "lt":
                Want(name, args, 2);
                return Compare(args[0], args[1], ordered: true) < 0;
            case "le":
                Want(name, args, 2);
                return Compare(args[0], args[1], ordered: true) <= 0;
            case "gt":
                Want(name, args, 2);
                return Compare(args[0], args[1], ordered: true) > 0;
            case "ge":
                Want(name, args, 2);
                return Compare(args[0], args[1], ordered: true) >= 0;
            case "print":
                return Sprint(args);
            case "println":
                return string.Join(" ", args.Select(a => GoTemplate.Print(a, true))) + "\n";
            case "printf":
                if (args.Count < 1)
                {
                    throw new TemplateException("wrong number of args for printf: want at least 1 got 0");
                }
                return Printf(Str(args[0]), args.Skip(1).ToList());
            case "html":
                return System.Net.WebUtility.HtmlEncode(Sprint(args));
            case "urlquery":
                return Uri.EscapeDataString(Sprint(args));
            default:
                throw new TemplateException($"function \"{name}\" not defined");
        }
    }

    private static void Want(string name, List<object?> args, int n)
    {
        if (args.Count != n)
        {
            throw new TemplateException($"wrong number of args for {name}: want {n} got {args.Count}");
        }
    }

    private static string Str(object? v) => v is null ? "" : GoTemplate.Print(v, true);

    private static long Int(object? v) => v switch
    {
        long l => l,
        int i => i,
        double d => (long)d,
        string s when long.TryParse(s, CultureInfo.InvariantCulture, out var l) => l,
        _ => throw new TemplateException($"expected integer; found {GoTemplate.Print(v, true)}"),
    };

    private static IEnumerable<object?> Items(object? v) => v switch
    {
        JsonArray a => a.Select(GoTemplate.Normalize),
        List<object?> l => l,
        null => [],
        string s => [s],
        _ => throw new TemplateException($"can't join {GoTemplate.TypeName(v)}"),
    };

    private static string Title(string s)
    {
        var chars = s.ToCharArray();
        var prevLetter = false;
        for (var i = 0; i < chars.Length; i++)
        {
            var isLetter = char.IsLetterOrDigit(chars[i]) || chars[i] == '\'';
            if (isLetter && !prevLetter)
            {
                chars[i] = char.ToUpperInvariant(chars[i]);
            }
            prevLetter = isLetter;
        }
        return new string(chars);
    }

    private static object? Index(List<object?> args)
    {
        if (args.Count < 1)
        {
            throw new TemplateException("wrong number of args for index: want at least 1 got 0");
        }
        var v = args[0];
        foreach (var key in args.Skip(1))
        {
            v = v switch
            {
                JsonObject o => GoTemplate.Normalize(o[Str(key)]),
                JsonArray a => IndexList(a.Select(GoTemplate.Normalize).ToList(), key),
                List<object?> l => IndexList(l, key),
                null => null,
                _ => throw new TemplateException($"error calling index: can't index item of type {GoTemplate.TypeName(v)}"),
            };
        }
        return v;
    }

    private static object? IndexList(List<object?> list, object? key)
    {
        var i = Int(key);
        if (i < 0 || i >= list.Count)
        {
            throw new TemplateException($"error calling index: index out of range: {i}");
        }
        return list[(int)i];
    }

    private static object? Slice(List<object?> args)
    {
        if (args.Count is < 1 or > 3)
        {
            throw new TemplateException("wrong number of args for slice");
        }
        var from = args.Count > 1 ? (int)Int(args[1]) : 0;
        switch (args[0])
        {
            case string s:
                return s[from..(args.Count > 2 ? (int)Int(args[2]) : s.Length)];
            case JsonArray or List<object?>:
                {
                    var list = Items(args[0]).ToList();
                    return list.GetRange(from, (args.Count > 2 ? (int)Int(args[2]) : list.Count) - from);
                }
            default:
                throw new TemplateException($"can't slice item of type {GoTemplate.TypeName(args[0])}");
        }
    }

    private static int Compare(object? a, object? b, bool ordered = false)
    {
        if (IsNumber(a) && IsNumber(b))
        {
            return ToDouble(a).CompareTo(ToDouble(b));
        }
        if (a is string sa && b is string sb)
        {
            return string.CompareOrdinal(sa, sb);
        }
        if (ordered)
        {
            throw new TemplateException($"incompatible types for comparison");
        }
        if (a is bool ba && b is bool bb)
        {
            return ba == bb ? 0 : 1;
        }
        if (a is null || b is null)
        {
            return a is null && b is null ? 0 : 1;
        }
        if (a.GetType() != b.GetType())
        {
            throw new TemplateException("incompatible types for comparison");
        }
        return GoTemplate.ToJson(a) == GoTemplate.ToJson(b) ? 0 : 1;
    }

    private static bool IsNumber(object? v) => v is long or int or double;

    private static double ToDouble(object? v) => v switch
    {
        long l => l,
        int i => i,
        double d => d,
        _ => 0,
    };

    // fmt.Sprint: a space between operands when neither side is a string.
    private static string Sprint(List<object?> args)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < args.Count; i++)
        {
            if (i > 0 && args[i] is not string && args[i - 1] is not string)
            {
                sb.Append(' ');
            }
            sb.Append(GoTemplate.Print(args[i], true));
        }
        return sb.ToString();
    }

    internal static string Printf(string format, List<object?> args)
    {
        var sb = new StringBuilder();
        var argi = 0;
        for (var i = 0; i < format.Length; i++)
        {
            var c = format[i];
            if (c != '%')
            {
                sb.Append(c);
                continue;
            }
            if (++i >= format.Length)
            {
                sb.Append("%!(NOVERB)");
                break;
            }
            var leftAlign = false;
            var zeroPad = false;
            var plus = false;
            while (i < format.Length && format[i] is '-' or '0' or '+' or ' ' or '#')
            {
                leftAlign |= format[i] == '-';
                zeroPad |= format[i] == '0';
                plus |= format[i] == '+';
                i++;
            }
            var width = 0;
            while (i < format.Length && char.IsDigit(format[i]))
            {
                width = (width * 10) + (format[i++] - '0');
            }
            var precision = -1;
            if (i < format.Length && format[i] == '.')
            {
                i++;
                precision = 0;
                while (i < format.Length && char.IsDigit(format[i]))
                {
                    precision = (precision * 10) + (format[i++] - '0');
                }
            }
            if (i >= format.Length)
            {
                sb.Append("%!(NOVERB)");
                break;
            }
            var verb = format[i];
            if (verb == '%')
            {
                sb.Append('%');
                continue;
            }
            if (argi >= args.Count)
            {
                sb.Append("%!").Append(verb).Append("(MISSING)");
                continue;
            }
            var arg = args[argi++];
            string text = verb switch
            {
                's' => precision >= 0 ? Trunc(Str(arg), precision) : (arg is null ? "%!s(<nil>)" : Str(arg)),
                'v' => GoTemplate.Print(arg, true),
                'q' => GoTemplate.ToJson(arg is string ? arg : Str(arg)),
                'd' => IsNumber(arg) ? ((long)ToDouble(arg)).ToString(CultureInfo.InvariantCulture) : $"%!d({GoTemplate.TypeName(arg)}={Str(arg)})",
                'f' or 'F' => ToDouble(arg).ToString("F" + (precision < 0 ? 6 : precision).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture),
                'x' => arg is string xs ? Convert.ToHexStringLower(Encoding.UTF8.GetBytes(xs)) : ((long)ToDouble(arg)).ToString("x", CultureInfo.InvariantCulture),
                't' => GoTemplate.Print(arg, true),
                _ => $"%!{verb}({GoTemplate.TypeName(arg)}={Str(arg)})",
            };
            if (plus && verb == 'd' && IsNumber(arg) && ToDouble(arg) >= 0)
            {
                text = "+" + text;
            }
            if (text.Length < width)
            {
                text = leftAlign ? text.PadRight(width) : text.PadLeft(width, zeroPad && verb is 'd' or 'f' ? '0' : ' ');
            }
            sb.Append(text);
        }
        if (argi < args.Count)
        {
            sb.Append("%!(EXTRA ");
            sb.Append(string.Join(", ", args.Skip(argi).Select(a => $"{GoTemplate.TypeName(a)}={Str(a)}")));
            sb.Append(')');
        }
        return sb.ToString();
    }

    private static string Trunc(string s, int n) => s.Length > n ? s[..n] : s;
}
