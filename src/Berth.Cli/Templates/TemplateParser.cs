using System.Globalization;

namespace Berth.Cli.Templates;

internal sealed class TemplateParser
{
    private readonly List<Token> _tokens;
    private int _pos;

    private TemplateParser(List<Token> tokens) => _tokens = tokens;

    public static ListNode Parse(string source)
    {
        var parser = new TemplateParser(TemplateLexer.Lex(source));
        var list = parser.ParseList(out var terminator);
        if (terminator is not null)
        {
            throw new TemplateException($"unexpected {{{{{terminator}}}}}");
        }
        return list;
    }

    private Token Peek => _tokens[_pos];

    private Token Next() => _tokens[_pos++];

    private void Expect(TokenKind kind, string context)
    {
        var t = Next();
        if (t.Kind != kind)
        {
            throw new TemplateException($"unexpected \"{t.Value}\" in {context}");
        }
    }

    // Parses nodes until EOF or a control keyword ({{end}}, {{else ...}}), which is left for the caller
    // and named in terminator.
    private ListNode ParseList(out string? terminator)
    {
        var nodes = new List<TemplateNode>();
        terminator = null;
        while (true)
        {
            var t = Peek;
            if (t.Kind == TokenKind.Eof)
            {
                return new ListNode(nodes);
            }
            if (t.Kind == TokenKind.Text)
            {
                _pos++;
                nodes.Add(new TextNode(t.Value));
                continue;
            }
            // LeftDelim
            var save = _pos;
            _pos++;
            var kw = Peek;
            if (kw.Kind == TokenKind.Identifier)
            {
                switch (kw.Value)
                {
                    case "end":
                    case "else":
                        _pos = save;
                        terminator = kw.Value;
                        return new ListNode(nodes);
                    case "if":
                    case "with":
                    case "range":
                        _pos++;
                        nodes.Add(ParseBranch(kw.Value));
                        continue;
                    case "break":
                    case "continue":
                        _pos++;
                        Expect(TokenKind.RightDelim, kw.Value);
                        nodes.Add(new BreakNode(kw.Value == "continue"));
                        continue;
                    case "template":
                    case "define":
                    case "block":
                        throw new TemplateException($"{kw.Value} is not supported");
                }
            }
            if (kw.Kind == TokenKind.RightDelim)
            {
                // Only a comment was in the action.
                _pos++;
                continue;
            }
            var pipe = ParsePipeline(TokenKind.RightDelim);
            nodes.Add(new ActionNode(pipe));
        }
    }

    private BranchNode ParseBranch(string keyword)
    {
        var kind = keyword switch { "if" => BranchKind.If, "with" => BranchKind.With, _ => BranchKind.Range };
        var pipe = ParsePipeline(TokenKind.RightDelim);
        var body = ParseList(out var term);
        ListNode? elseList = null;
        if (term is null)
        {
            throw new TemplateException($"unexpected EOF in {keyword}");
        }
        // consume "{{" and the keyword
        _pos += 2;
        if (term == "else")
        {
            if (Peek.Kind == TokenKind.Identifier && (Peek.Value == "if" || Peek.Value == "with"))
            {
                // {{else if ...}} is an if nested in the else branch that shares our {{end}}.
                var nested = Next().Value;
                elseList = new ListNode([ParseBranch(nested)]);
                return new BranchNode(kind, pipe, body, elseList);
            }
            Expect(TokenKind.RightDelim, "else");
            elseList = ParseList(out term);
            if (term != "end")
            {
                throw new TemplateException($"expected end; found {term ?? "EOF"}");
            }
            _pos += 2;
        }
        Expect(TokenKind.RightDelim, "end");
        return new BranchNode(kind, pipe, body, elseList);
    }

    private Pipeline ParsePipeline(TokenKind end)
    {
        var vars = new List<string>();
        var isAssign = false;
        // Look ahead for "$x :=", "$x, $y :=" or "$x =".
        var look = _pos;
        var candidate = new List<string>();
        while (_tokens[look].Kind == TokenKind.Variable && !_tokens[look].Value.Contains('.'))
        {
            candidate.Add(_tokens[look].Value);
            look++;
            if (_tokens[look].Kind == TokenKind.Comma)
            {
                look++;
                continue;
            }
            break;
        }
        if (candidate.Count > 0 && (_tokens[look].Kind == TokenKind.Declare || _tokens[look].Kind == TokenKind.Assign))
        {
            vars = candidate;
            isAssign = _tokens[look].Kind == TokenKind.Assign;
            _pos = look + 1;
        }
        var commands = new List<CommandNode>();
        while (true)
        {
            var args = new List<ArgNode>();
            while (Peek.Kind != TokenKind.Pipe && Peek.Kind != end)
            {
                if (Peek.Kind == TokenKind.Eof || Peek.Kind == TokenKind.RightDelim)
                {
                    throw new TemplateException("unclosed action");
                }
                args.Add(ParseArg());
            }
            if (args.Count == 0)
            {
                throw new TemplateException("missing value for command");
            }
            commands.Add(new CommandNode(args));
            var t = Next();
            if (t.Kind == end)
            {
                break;
            }
        }
        return new Pipeline(vars, isAssign, commands);
    }

    private ArgNode ParseArg()
    {
        var t = Next();
        switch (t.Kind)
        {
            case TokenKind.Dot:
                return new DotArg();
            case TokenKind.Field:
                return new FieldArg(t.Value.Split('.'));
            case TokenKind.Variable:
                {
                    var dot = t.Value.IndexOf('.');
                    return dot < 0 ? new VariableArg(t.Value, []) : new VariableArg(t.Value[..dot], t.Value[(dot + 1)..].Split('.'));
                }
            case TokenKind.String:
                return new LiteralArg(t.Value);
            case TokenKind.Number:
                return new LiteralArg(ParseNumber(t.Value));
            case TokenKind.Identifier:
                return t.Value switch
                {
                    "true" => new LiteralArg(true),
                    "false" => new LiteralArg(false),
                    "nil" => new LiteralArg(null),
                    _ => new IdentArg(t.Value),
                };
            case TokenKind.LeftParen:
                {
                    var pipe = ParsePipeline(TokenKind.RightParen);
                    IReadOnlyList<string> path = [];
                    if (Peek.Kind == TokenKind.Field && Peek.Pos == _tokens[_pos - 1].Pos + 1)
                    {
                        path = Next().Value.Split('.');
                    }
                    return new PipeArg(pipe, path);
                }
            default:
                throw new TemplateException($"unexpected \"{t.Value}\" in operand");
        }
    }

    private static object ParseNumber(string s)
    {
        var clean = s.Replace("_", "", StringComparison.Ordinal);
        if (long.TryParse(clean, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l))
        {
            return l;
        }
        if (clean.StartsWith("0x", StringComparison.OrdinalIgnoreCase) &&
            long.TryParse(clean.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out l))
        {
            return l;
        }
        if (double.TryParse(clean, NumberStyles.Float, CultureInfo.InvariantCulture, out var d))
        {
            return d;
        }
        throw new TemplateException($"bad number syntax: \"{s}\"");
    }
}
