namespace Berth.Cli.Templates;

internal abstract record TemplateNode;

internal sealed record TextNode(string Text) : TemplateNode;

internal sealed record ActionNode(Pipeline Pipe) : TemplateNode;

internal sealed record ListNode(IReadOnlyList<TemplateNode> Nodes) : TemplateNode;

internal enum BranchKind
{
    If,
    With,
    Range,
}

internal sealed record BranchNode(BranchKind Kind, Pipeline Pipe, ListNode Body, ListNode? Else) : TemplateNode;

internal sealed record BreakNode(bool IsContinue) : TemplateNode;

// "$a, $b := cmd | cmd"; IsAssign for "=" instead of ":=".
internal sealed record Pipeline(IReadOnlyList<string> Vars, bool IsAssign, IReadOnlyList<CommandNode> Commands);

internal sealed record CommandNode(IReadOnlyList<ArgNode> Args);

internal abstract record ArgNode;

internal sealed record DotArg : ArgNode;

internal sealed record FieldArg(IReadOnlyList<string> Path) : ArgNode;

internal sealed record VariableArg(string Name, IReadOnlyList<string> Path) : ArgNode;

internal sealed record IdentArg(string Name) : ArgNode;

internal sealed record LiteralArg(object? Value) : ArgNode;

internal sealed record PipeArg(Pipeline Pipe, IReadOnlyList<string> Path) : ArgNode;
