using System.Text;

namespace Berth.Cli.Templates;

// Go's text/tabwriter as docker configures it (minwidth 10, tabwidth 1, padding 3, ' '): tab-terminated
// cells are aligned per column block; the text after the last tab of a line is not part of a column.
internal static class TabWriter
{
    public static string Format(string text, int minWidth = 10, int padding = 3)
    {
        var endsWithNewline = text.EndsWith('\n');
        var rawLines = text.Split('\n');
        if (endsWithNewline)
        {
            rawLines = rawLines[..^1];
        }
        var lines = rawLines.Select(l => l.Split('\t')).ToArray();
        var sb = new StringBuilder();
        var widths = new List<int>();
        FormatBlock(lines, 0, lines.Length, widths, sb, minWidth, padding);
        if (!endsWithNewline && sb.Length > 0)
        {
            sb.Length--;
        }
        return sb.ToString();
    }

    private static void FormatBlock(string[][] lines, int line0, int line1, List<int> widths, StringBuilder sb, int minWidth, int padding)
    {
        var column = widths.Count;
        for (var cur = line0; cur < line1; cur++)
        {
            if (column >= lines[cur].Length - 1)
            {
                continue;
            }
            // This line has a cell in this column: lines before it are printed with the current widths.
            WriteLines(lines, line0, cur, widths, sb);
            line0 = cur;
            var width = minWidth;
            for (; cur < line1; cur++)
            {
                if (column >= lines[cur].Length - 1)
                {
                    break;
                }
                var w = CellWidth(lines[cur][column]) + padding;
                if (w > width)
                {
                    width = w;
                }
            }
            widths.Add(width);
            FormatBlock(lines, line0, cur, widths, sb, minWidth, padding);
            widths.RemoveAt(widths.Count - 1);
            line0 = cur;
            cur--;
        }
        WriteLines(lines, line0, line1, widths, sb);
    }

    private static void WriteLines(string[][] lines, int from, int to, List<int> widths, StringBuilder sb)
    {
        for (var i = from; i < to; i++)
        {
            var cells = lines[i];
            for (var j = 0; j < cells.Length; j++)
            {
                sb.Append(cells[j]);
                if (j < widths.Count && j < cells.Length - 1)
                {
                    sb.Append(' ', widths[j] - CellWidth(cells[j]));
                }
            }
            sb.Append('\n');
        }
    }

    private static int CellWidth(string s)
    {
        var n = 0;
        foreach (var _ in s.EnumerateRunes())
        {
            n++;
        }
        return n;
    }
}
