using Berth.Builder;

namespace Berth.Builder.Tests;

public sealed class DockerfileParserTests
{
    [Fact]
    public void ContinuationsCommentsAndKeywordsCaseInsensitive()
    {
        var f = DockerfileParser.Parse("""
            # a comment
            from busybox
            RUN echo a \
              # comment inside
                b \

              c
            cmd ["sh"]
            """);
        Assert.Equal(["FROM", "RUN", "CMD"], f.Instructions.Select(i => i.Keyword));
        Assert.Equal(2, f.Instructions[0].Line);
        Assert.Equal(3, f.Instructions[1].Line);
        Assert.Equal("echo a     b   c", f.Instructions[1].Args);
        Assert.Equal(["sh"], f.Instructions[2].Json!);
        Assert.Equal(8, f.Instructions[2].Line);
    }

    [Fact]
    public void EscapeDirectiveChangesTheContinuationCharacter()
    {
        var f = DockerfileParser.Parse("# escape=`\n# syntax=docker/dockerfile:1\nFROM busybox\nRUN dir c:\\ `\n  /b\n");
        Assert.Equal('`', f.Escape);
        Assert.Equal("docker/dockerfile:1", f.Syntax);
        Assert.Equal("dir c:\\   /b", f.Instructions[1].Args);
    }

    [Fact]
    public void DirectivesAfterAnInstructionAreComments()
    {
        var f = DockerfileParser.Parse("FROM busybox\n# escape=`\nRUN a \\\n b\n");
        Assert.Equal('\\', f.Escape);
        Assert.Equal("a  b", f.Instructions[1].Args);
    }

    [Fact]
    public void BadEscapeIsAnError()
    {
        var e = Assert.Throws<DockerfileException>(() => DockerfileParser.Parse("# escape=x\nFROM busybox\n"));
        Assert.Equal(1, e.Line);
    }

    [Fact]
    public void UnknownInstructionNamesFileAndLine()
    {
        var e = Assert.Throws<DockerfileException>(() => DockerfileParser.Parse("FROM busybox\n\nFORM x\n", "Dockerfile.dev"));
        Assert.Equal("Dockerfile.dev:3: unknown instruction: FORM", e.Message);
    }

    [Fact]
    public void FlagsAreSplitAndChecked()
    {
        var f = DockerfileParser.Parse("FROM --platform=linux/amd64 busybox AS b\nCOPY --from=b --chown=1:2 --chmod=644 /a /b\n");
        Assert.Equal("linux/amd64", f.Instructions[0].Flag("platform"));
        Assert.Equal("busybox AS b", f.Instructions[0].Args);
        var copy = f.Instructions[1];
        Assert.Equal("b", copy.Flag("from"));
        Assert.Equal("1:2", copy.Flag("chown"));
        Assert.Equal("644", copy.Flag("chmod"));
        Assert.Equal("/a /b", copy.Args);
        var e = Assert.Throws<DockerfileException>(() => DockerfileParser.Parse("FROM busybox\nCOPY --bogus=1 a b\n"));
        Assert.Equal("Dockerfile:2: unknown flag: bogus", e.Message);
    }

    [Fact]
    public void JsonAndShellForms()
    {
        var f = DockerfileParser.Parse("FROM busybox\nRUN [\"echo\", \"a b\"]\nRUN [not json\nENTRYPOINT echo hi\n");
        Assert.Equal(["echo", "a b"], f.Instructions[1].Json!);
        Assert.Null(f.Instructions[2].Json);
        Assert.Equal("[not json", f.Instructions[2].Args);
        Assert.Null(f.Instructions[3].Json);
    }

    [Fact]
    public void ShellNeedsJson()
    {
        var e = Assert.Throws<DockerfileException>(() => DockerfileParser.Parse("FROM busybox\nSHELL /bin/bash -c\n"));
        Assert.Equal(2, e.Line);
    }

    [Fact]
    public void CopyNeedsADestination()
    {
        var e = Assert.Throws<DockerfileException>(() => DockerfileParser.Parse("FROM busybox\nCOPY onlyone\n"));
        Assert.Contains("requires at least two arguments", e.Message);
    }

    [Fact]
    public void Heredocs()
    {
        var f = DockerfileParser.Parse("FROM busybox\nRUN <<EOF\necho one\necho two\nEOF\nCOPY <<-'END' /f\n\tliteral $x\n\tEND\nRUN echo after\n");
        var run = f.Instructions[1];
        Assert.Equal("EOF", Assert.Single(run.Heredocs).Name);
        Assert.Equal("echo one\necho two\n", run.Heredocs[0].Content);
        Assert.True(run.Heredocs[0].Expand);
        var copy = f.Instructions[2];
        Assert.Equal("literal $x\n", copy.Heredocs[0].Content);
        Assert.False(copy.Heredocs[0].Expand);
        Assert.Equal("echo after", f.Instructions[3].Args);
        Assert.Equal(9, f.Instructions[3].Line);
    }

    [Fact]
    public void UnterminatedHeredocIsAnError()
    {
        var e = Assert.Throws<DockerfileException>(() => DockerfileParser.Parse("FROM busybox\nRUN <<EOF\necho\n"));
        Assert.Equal("Dockerfile:2: unterminated heredoc EOF", e.Message);
    }

    [Fact]
    public void OnbuildTriggersAreCheckedButKeptAsText()
    {
        var f = DockerfileParser.Parse("FROM busybox\nONBUILD RUN echo hi\n");
        Assert.Equal("RUN echo hi", f.Instructions[1].Args);
        Assert.Throws<DockerfileException>(() => DockerfileParser.Parse("FROM busybox\nONBUILD FROM x\n"));
        Assert.Throws<DockerfileException>(() => DockerfileParser.Parse("FROM busybox\nONBUILD NOPE x\n"));
    }

    [Theory]
    [InlineData("FROM", "FROM busybox")]
    [InlineData("RUN", "RUN true")]
    [InlineData("CMD", "CMD [\"x\"]")]
    [InlineData("LABEL", "LABEL a=b")]
    [InlineData("MAINTAINER", "MAINTAINER me")]
    [InlineData("EXPOSE", "EXPOSE 80")]
    [InlineData("ENV", "ENV a=b")]
    [InlineData("ADD", "ADD a b")]
    [InlineData("COPY", "COPY a b")]
    [InlineData("ENTRYPOINT", "ENTRYPOINT [\"x\"]")]
    [InlineData("VOLUME", "VOLUME /v")]
    [InlineData("USER", "USER nobody")]
    [InlineData("WORKDIR", "WORKDIR /w")]
    [InlineData("ARG", "ARG a")]
    [InlineData("ONBUILD", "ONBUILD RUN x")]
    [InlineData("STOPSIGNAL", "STOPSIGNAL SIGKILL")]
    [InlineData("HEALTHCHECK", "HEALTHCHECK --interval=5s CMD true")]
    [InlineData("SHELL", "SHELL [\"/bin/bash\", \"-c\"]")]
    public void EveryInstructionParses(string keyword, string line)
    {
        var f = DockerfileParser.Parse("FROM busybox\n" + line + "\n");
        Assert.Equal(keyword, f.Instructions[^1].Keyword);
    }
}

public sealed class ShellWordsTests
{
    private static readonly Dictionary<string, string> Env = new() { ["a"] = "A", ["empty"] = "", ["path"] = "/usr/bin" };

    private static string X(string s) => ShellWords.Expand(s, n => Env.TryGetValue(n, out var v) ? v : null);

    [Theory]
    [InlineData("$a", "A")]
    [InlineData("${a}x", "Ax")]
    [InlineData("x$a-y", "xA-y")]
    [InlineData("$unset", "")]
    [InlineData("${unset:-def}", "def")]
    [InlineData("${empty:-def}", "def")]
    [InlineData("${empty-def}", "")]
    [InlineData("${a:-def}", "A")]
    [InlineData("${a:+alt}", "alt")]
    [InlineData("${unset:+alt}", "")]
    [InlineData("${empty+alt}", "alt")]
    [InlineData("${unset:-${a}}", "A")]
    [InlineData("\\$a", "$a")]
    [InlineData("'$a'", "$a")]
    [InlineData("\"$a b\"", "A b")]
    [InlineData("\"\\$a\"", "$a")]
    [InlineData("a\\ b", "a b")]
    [InlineData("$", "$")]
    [InlineData("${path}:/x", "/usr/bin:/x")]
    public void Expands(string input, string expected) => Assert.Equal(expected, X(input));

    [Fact]
    public void SplitsOutsideQuotes()
    {
        var words = ShellWords.ExpandWords("a=\"x y\" b='$a c' c=$a", n => Env.GetValueOrDefault(n));
        Assert.Equal(["a=x y", "b=$a c", "c=A"], words);
    }

    [Fact]
    public void UnterminatedQuoteIsAnError()
    {
        Assert.Throws<FormatException>(() => X("\"abc"));
        Assert.Throws<FormatException>(() => X("${a"));
    }

    [Fact]
    public void HeredocExpansionKeepsQuotes()
    {
        Assert.Equal("say \"A\" and '\\n' $a\n", ShellWords.ExpandVariables("say \"$a\" and '\\n' \\$a\n", n => Env.GetValueOrDefault(n)));
    }
}

public sealed class DockerIgnoreTests
{
    [Theory]
    [InlineData("secret.txt", "secret.txt", true)]
    [InlineData("secret.txt", "sub/secret.txt", false)]
    [InlineData("/secret.txt", "secret.txt", true)]
    [InlineData("**/*.log", "a/b/c.log", true)]
    [InlineData("**/*.log", "c.log", true)]
    [InlineData("*.log", "a/c.log", false)]
    [InlineData("dir", "dir/inner/file", true)]
    [InlineData("d?r", "dir", true)]
    [InlineData("d[a-j]r", "dir", true)]
    [InlineData("d[!i]r", "dir", false)]
    [InlineData("a/**/z", "a/b/c/z", true)]
    [InlineData("a/**/z", "a/z", true)]
    [InlineData("# comment", "# comment", false)]
    public void Matches(string pattern, string path, bool excluded) =>
        Assert.Equal(excluded, DockerIgnore.Parse(pattern).Excludes(path));

    [Fact]
    public void ExceptionsAndLastMatchWins()
    {
        var d = DockerIgnore.Parse("*.md\n!README.md\nREADME*.md\n!README-keep.md\n");
        Assert.True(d.Excludes("CHANGES.md"));
        Assert.True(d.Excludes("README.md"));
        Assert.False(d.Excludes("README-keep.md"));
        Assert.False(d.Excludes("main.cs"));
        Assert.True(d.HasExceptions);
    }
}
