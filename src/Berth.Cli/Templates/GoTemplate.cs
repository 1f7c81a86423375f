using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Berth.Cli.Templates;

// A Go text/template evaluator for the subset docker users write, over JsonNode data.
// Values during evaluation are null, string, long, double, bool, JsonObject, JsonArray or List<object?>.
internal sealed class GoTemplate
{
    private readonly ListNode _root;

    private GoTemplate(ListNode root) => _root = root;

    public static GoTemplate Parse(string source) => new(TemplateParser.Parse(source));

    public string Execute(JsonNode? data, bool headerMode = false)
    {
        var sb = new StringBuilder();
        var state = new EvalState(sb, headerMode);
        state.Vars.Add(("$", Normalize(data)));
        state.Walk(_root, Normalize(data));
        return sb.ToString();
    }

    internal static object? Normalize(JsonNode? node)
    {
        switch (node)
        {
            case null:
                return null;
            case JsonObject or JsonArray:
                return node;
            case JsonValue v:
                switch (v.GetValueKind())
                {
                    case JsonValueKind.String:
                        return v.GetValue<string>();
                    case JsonValueKind.True:
                        return true;
                    case JsonValueKind.False:
                        return false;
                    case JsonValueKind.Number:
                        if (v.TryGetValue<long>(out var l))
                        {
                            return l;
                        }
                        if (v.TryGetValue<double>(out var d))
                        {
                            return d == Math.Floor(d) && Math.Abs(d) < 1e15 ? (long)d : d;
                        }
                        return double.Parse(v.ToJsonString(), CultureInfo.InvariantCulture);
                    default:
                        return null;
                }
            default:
                return null;
        }
    }

    internal static JsonNode? ToNode(object? value) => value switch
    {
        null => null,
        JsonNode n => n.DeepClone(),
        string s => JsonValue.Create(s),
        long l => JsonValue.Create(l),
        int i => JsonValue.Create(i),
        double d => JsonValue.Create(d),
        bool b => JsonValue.Create(b),
        List<object?> list => new JsonArray(list.Select(ToNode).ToArray()),
        _ => JsonValue.Create(value.ToString()),
    };

    private static readonly JsonSerializerOptions JsonFuncOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    internal static string ToJson(object? value) => value is null ? "null" : ToNode(value)!.ToJsonString(JsonFuncOptions);

    // "--format json" of list rows: docker's row contexts marshal themselves with json.Marshal, which (unlike the template's
    // json function) escapes HTML-sensitive characters in lower-case hex ("<none>" is "\u003cnone\u003e"). They can only
    // occur inside strings, so replacing them in the encoded text is safe.
    internal static string ToGoJson(object? value) => ToJson(value)
        .Replace("<", "\\u003c", StringComparison.Ordinal)
        .Replace(">", "\\u003e", StringComparison.Ordinal)
        .Replace("&", "\\u0026", StringComparison.Ordinal)
        .Replace("\u2028", "\\u2028", StringComparison.Ordinal)
        .Replace("\u2029", "\\u2029", StringComparison.Ordinal);

    // fmt's %v.
    internal static string Print(object? value, bool nested = false) => value switch
    {
        null => nested ? "<nil>" : "<no value>",
        string s => s,
        bool b => b ? "true" : "false",
        long l => l.ToString(CultureInfo.InvariantCulture),
        int i => i.ToString(CultureInfo.InvariantCulture),
        double d => FormatFloat(d),
        JsonObject o => "map[" + string.Join(" ", o.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Key + ":" + Print(Normalize(p.Value), true))) + "]",
        JsonArray a => "[" + string.Join(" ", a.Select(e => Print(Normalize(e), true))) + "]",
        List<object?> list => "[" + string.Join(" ", list.Select(e => Print(e, true))) + "]",
        _ => value.ToString() ?? "",
    };

    private static string FormatFloat(double d)
    {
        var r = d.ToString("R", CultureInfo.InvariantCulture);
        var exp = d == 0 ? 0 : (int)Math.Floor(Math.Log10(Math.Abs(d)));
        if (exp < -4 || exp >= 21)
        {
            // Go's %v switches to exponent form: 1e+21, 1.5e-05
            var e = d.ToString("0.################e+00", CultureInfo.InvariantCulture);
            return e;
        }
        return r.Contains('E') ? d.ToString("0.####################", CultureInfo.InvariantCulture) : r;
    }

    internal static bool Truth(object? value) => value switch
    {
        null => false,
        bool b => b,
        string s => s.Length > 0,
        long l => l != 0,
        int i => i != 0,
        double d => d != 0,
        JsonObject o => o.Count > 0,
        JsonArray a => a.Count > 0,
        List<object?> list => list.Count > 0,
        _ => true,
    };

    private sealed class BreakSignal(bool isContinue) : Exception
    {
        public bool IsContinue { get; } = isContinue;
    }

    private sealed class EvalState(StringBuilder output, bool headerMode)
    {
        public List<(string Name, object? Value)> Vars { get; } = [];

        public void Walk(TemplateNode node, object? dot)
        {
            switch (node)
            {
                case TextNode t:
                    output.Append(t.Text);
                    break;
                case ListNode list:
                    foreach (var n in list.Nodes)
                    {
                        Walk(n, dot);
                    }
                    break;
                case ActionNode a:
                    {
                        var v = EvalPipeline(a.Pipe, dot);
                        if (a.Pipe.Vars.Count == 0)
                        {
                            output.Append(Print(v));
                        }
                        break;
                    }
                case BranchNode b:
                    WalkBranch(b, dot);
                    break;
                case BreakNode br:
                    throw new BreakSignal(br.IsContinue);
            }
        }

        private void WalkScoped(ListNode list, object? dot)
        {
            var mark = Vars.Count;
            try
            {
                Walk(list, dot);
            }
            finally
            {
                Vars.RemoveRange(mark, Vars.Count - mark);
            }
        }

        private void WalkBranch(BranchNode b, object? dot)
        {
            var mark = Vars.Count;
            try
            {
                if (b.Kind == BranchKind.Range)
                {
                    WalkRange(b, dot);
                    return;
                }
                var v = EvalPipeline(b.Pipe, dot);
                if (Truth(v))
                {
                    WalkScoped(b.Body, b.Kind == BranchKind.With ? v : dot);
                }
                else if (b.Else is not null)
                {
                    WalkScoped(b.Else, dot);
                }
            }
            finally
            {
                Vars.RemoveRange(mark, Vars.Count - mark);
            }
        }

        private void WalkRange(BranchNode b, object? dot)
        {
            // The range pipeline's variables are bound per element, not to the pipeline's value.
            var pipe = b.Pipe with { Vars = [] };
            var v = EvalPipeline(pipe, dot);
            var items = new List<(object? Key, object? Value)>();
            switch (v)
            {
                case null:
                    break;
                case JsonArray a:
                    for (var i = 0; i < a.Count; i++)
                    {
                        items.Add(((long)i, Normalize(a[i])));
                    }
                    break;
                case List<object?> list:
                    for (var i = 0; i < list.Count; i++)
                    {
                        items.Add(((long)i, list[i]));
                    }
                    break;
                case JsonObject o:
                    foreach (var p in o.OrderBy(p => p.Key, StringComparer.Ordinal))
                    {
                        items.Add((p.Key, Normalize(p.Value)));
                    }
                    break;
                case long n:
                    for (long i = 0; i < n; i++)
                    {
                        items.Add((i, i));
                    }
                    break;
                default:
                    throw new TemplateException($"range can't iterate over {Print(v)}");
            }
            if (items.Count == 0)
            {
                if (b.Else is not null)
                {
                    WalkScoped(b.Else, dot);
                }
                return;
            }
            foreach (var (key, value) in items)
            {
                var mark = Vars.Count;
                if (b.Pipe.Vars.Count == 1)
                {
                    Vars.Add((b.Pipe.Vars[0], value));
                }
                else if (b.Pipe.Vars.Count >= 2)
                {
                    Vars.Add((b.Pipe.Vars[0], key));
                    Vars.Add((b.Pipe.Vars[1], value));
                }
                try
                {
                    Walk(b.Body, value);
                }
                catch (BreakSignal br)
                {
                    if (!br.IsContinue)
                    {
                        break;
                    }
                }
                finally
                {
                    Vars.RemoveRange(mark, Vars.Count - mark);
                }
            }
        }

        private object? EvalPipeline(Pipeline pipe, object? dot)
        {
            object? value = null;
            var first = true;
            foreach (var cmd in pipe.Commands)
            {
                value = EvalCommand(cmd, dot, first ? NoArg : value);
                first = false;
            }
            if (pipe.Vars.Count > 0)
            {
                if (pipe.IsAssign)
                {
                    var idx = Vars.FindLastIndex(v => v.Name == pipe.Vars[0]);
                    if (idx < 0)
                    {
                        throw new TemplateException($"undefined variable: {pipe.Vars[0]}");
                    }
                    Vars[idx] = (pipe.Vars[0], value);
                }
                else
                {
                    Vars.Add((pipe.Vars[0], value));
                }
            }
            return value;
        }

        private static readonly object NoArg = new();

        private object? EvalCommand(CommandNode cmd, object? dot, object? piped)
        {
            var head = cmd.Args[0];
            if (head is IdentArg fn)
            {
                return CallFunction(fn.Name, cmd.Args.Skip(1).ToList(), dot, piped);
            }
            if (head is FieldArg { Path: [.., "Label"] } method && cmd.Args.Count == 2 && piped == NoArg)
            {
                var name = Print(EvalArg(cmd.Args[1], dot));
                if (headerMode)
                {
                    // docker's header for .Label "com.example.some-key" is "some key".
                    return name.Split('.')[^1].Replace('-', ' ').Replace('_', ' ');
                }
                if (Walk(dot, method.Path.Take(method.Path.Count - 1).ToList()) is JsonObject { } row && row["Labels"] is JsonValue joined)
                {
                    return LabelFromJoined(joined.ToString(), name);
                }
            }
            if (cmd.Args.Count > 1 || piped != NoArg)
            {
                throw new TemplateException($"can't give argument to non-function {Describe(head)}");
            }
            return EvalArg(head, dot);
        }

        // The list rows (ps, volume ls) carry labels as docker's .Labels shows them, "k=v,k2=v2"; docker's .Label method
        // reads the map. A piece without "=" belongs to the value before it ("q=a,b").
        private static string LabelFromJoined(string joined, string name)
        {
            string? key = null;
            var value = new System.Text.StringBuilder();
            string? found = null;
            foreach (var piece in joined.Length == 0 ? [] : joined.Split(','))
            {
                var eq = piece.IndexOf('=');
                if (eq < 0 && key is not null)
                {
                    value.Append(',').Append(piece);
                    continue;
                }
                if (key == name)
                {
                    found = value.ToString();
                }
                key = eq < 0 ? piece : piece[..eq];
                value.Clear().Append(eq < 0 ? "" : piece[(eq + 1)..]);
            }
            return key == name ? value.ToString() : found ?? "";
        }

        private static string Describe(ArgNode arg) => arg switch
        {
            FieldArg f => "." + string.Join('.', f.Path),
            VariableArg v => v.Name,
            DotArg => ".",
            _ => "operand",
        };

        private object? EvalArg(ArgNode arg, object? dot)
        {
            switch (arg)
            {
                case DotArg:
                    return dot;
                case FieldArg f:
                    return Walk(dot, f.Path);
                case VariableArg v:
                    {
                        var idx = Vars.FindLastIndex(x => x.Name == v.Name);
                        if (idx < 0)
                        {
                            throw new TemplateException($"undefined variable \"{v.Name}\"");
                        }
                        return Walk(Vars[idx].Value, v.Path);
                    }
                case LiteralArg l:
                    return l.Value;
                case PipeArg p:
                    return Walk(EvalPipeline(p.Pipe, dot), p.Path);
                case IdentArg i:
                    return CallFunction(i.Name, [], dot, NoArg);
                default:
                    throw new TemplateException("bad operand");
            }
        }

        private object? Walk(object? value, IReadOnlyList<string> path)
        {
            foreach (var name in path)
            {
                switch (value)
                {
                    case null:
                        return headerMode ? "" : null;
                    case JsonObject o:
                        if (!o.TryGetPropertyValue(name, out var child))
                        {
                            // Docker's typed structs spell some fields differently from the JSON ("ID" vs "Id").
                            child = o.FirstOrDefault(p => string.Equals(p.Key, name, StringComparison.OrdinalIgnoreCase)).Value;
                            if (child is null && headerMode)
                            {
                                return "";
                            }
                        }
                        value = Normalize(child);
                        break;
                    default:
                        throw new TemplateException($"can't evaluate field {name} in type {TypeName(value)}");
                }
            }
            return value;
        }

        private object? CallFunction(string name, List<ArgNode> argNodes, object? dot, object? piped)
        {
            // and/or evaluate lazily like Go 1.18+.
            if (name is "and" or "or")
            {
                object? last = null;
                var all = argNodes.Select(a => (Func<object?>)(() => EvalArg(a, dot))).ToList();
                if (piped != NoArg)
                {
                    all.Add(() => piped);
                }
                if (all.Count == 0)
                {
                    throw new TemplateException($"wrong number of args for {name}: want at least 1 got 0");
                }
                foreach (var f in all)
                {
                    last = f();
                    if (Truth(last) != (name == "and"))
                    {
                        return last;
                    }
                }
                return last;
            }
            var args = argNodes.Select(a => EvalArg(a, dot)).ToList();
            if (piped != NoArg)
            {
                args.Add(piped);
            }
            if (headerMode && name is "json" or "split" or "join" or "title" or "lower" or "upper" or "truncate" or "pad")
            {
                // Header rows keep the header text as is, like docker's templates.HeaderFunctions.
                return args.Count > 0 ? Print(args[0]) : "";
            }
            return TemplateFunctions.Call(name, args);
        }
    }

    internal static string TypeName(object? value) => value switch
    {
        null => "<nil>",
        string => "string",
        long or int => "int",
        double => "float64",
        bool => "bool",
        JsonObject => "map[string]interface {}",
        JsonArray or List<object?> => "[]interface {}",
        _ => value.GetType().Name,
    };
}
