using System.Text.Json.Nodes;
using Berth.Cli.Templates;

namespace Berth.Cli.Tests;

public sealed class GoTemplateTests
{
    private static readonly JsonNode Data = JsonNode.Parse("""
    {
      "Id": "abc123",
      "Name": "/web",
      "State": { "Status": "running", "Pid": 42, "Running": true, "ExitCode": 0 },
      "Config": { "Image": "busybox", "Labels": { "b": "2", "a": "1" }, "Env": ["A=1", "B=2"], "Cmd": null },
      "Mounts": [ { "Source": "/src1", "Destination": "/d1" }, { "Source": "/src2", "Destination": "/d2" } ],
      "Names": "web,db",
      "Size": 1.5,
      "Empty": "",
      "Html": "<a&b>"
    }
    """)!;

    private static string Run(string template, JsonNode? data = null) => GoTemplate.Parse(template).Execute(data ?? Data);

    [Theory]
    [InlineData("{{.Id}}", "abc123")]
    [InlineData("{{.State.Status}}", "running")]
    [InlineData("{{.State.Pid}}", "42")]
    [InlineData("{{.State.Running}}", "true")]
    [InlineData("{{.Size}}", "1.5")]
    [InlineData("id={{.Id}} name={{.Name}}", "id=abc123 name=/web")]
    [InlineData("{{.Missing}}", "<no value>")]
    [InlineData("{{.Config.Cmd}}", "<no value>")]
    [InlineData("{{.Missing.Deeper}}", "<no value>")]
    [InlineData("{{.ID}}", "abc123")]
    [InlineData("{{.Config.Env}}", "[A=1 B=2]")]
    [InlineData("{{.Config.Labels}}", "map[a:1 b:2]")]
    public void Fields(string template, string expected) => Assert.Equal(expected, Run(template));

    [Theory]
    [InlineData("{{json .Config.Labels}}", "{\"b\":\"2\",\"a\":\"1\"}")]
    [InlineData("{{json .State.Status}}", "\"running\"")]
    [InlineData("{{json .Config.Env}}", "[\"A=1\",\"B=2\"]")]
    [InlineData("{{json .Missing}}", "null")]
    [InlineData("{{json .Html}}", "\"<a&b>\"")]
    [InlineData("{{.Config | json}}", "{\"Image\":\"busybox\",\"Labels\":{\"b\":\"2\",\"a\":\"1\"},\"Env\":[\"A=1\",\"B=2\"],\"Cmd\":null}")]
    public void Json(string template, string expected) => Assert.Equal(expected, Run(template));

    [Fact]
    public void JsonDot()
    {
        var data = JsonNode.Parse("{\"A\":1,\"B\":[true,null]}");
        Assert.Equal("{\"A\":1,\"B\":[true,null]}", Run("{{json .}}", data));
    }

    [Theory]
    [InlineData("{{range .Mounts}}{{.Source}}:{{.Destination}} {{end}}", "/src1:/d1 /src2:/d2 ")]
    [InlineData("{{range $i, $m := .Mounts}}{{$i}}={{$m.Source}};{{end}}", "0=/src1;1=/src2;")]
    [InlineData("{{range $k, $v := .Config.Labels}}{{$k}}={{$v}},{{end}}", "a=1,b=2,")]
    [InlineData("{{range .Config.Labels}}{{.}}{{end}}", "12")]
    [InlineData("{{range .Nothing}}x{{else}}empty{{end}}", "empty")]
    [InlineData("{{range .Config.Env}}{{if eq . \"B=2\"}}{{break}}{{end}}{{.}} {{end}}", "A=1 ")]
    [InlineData("{{range .Config.Env}}{{if eq . \"A=1\"}}{{continue}}{{end}}{{.}}{{end}}", "B=2")]
    [InlineData("{{range $e := .Config.Env}}[{{$e}}]{{end}}", "[A=1][B=2]")]
    public void Range(string template, string expected) => Assert.Equal(expected, Run(template));

    [Theory]
    [InlineData("{{index .Config.Labels \"a\"}}", "1")]
    [InlineData("{{index .Config.Env 1}}", "B=2")]
    [InlineData("{{index .Config.Labels \"zz\"}}", "<no value>")]
    [InlineData("{{(index .Mounts 1).Source}}", "/src2")]
    public void Index(string template, string expected) => Assert.Equal(expected, Run(template));

    [Theory]
    [InlineData("{{if .State.Running}}yes{{else}}no{{end}}", "yes")]
    [InlineData("{{if .Empty}}yes{{else}}no{{end}}", "no")]
    [InlineData("{{if .Missing}}yes{{end}}", "")]
    [InlineData("{{if eq .State.Status \"exited\"}}a{{else if eq .State.Status \"running\"}}b{{else}}c{{end}}", "b")]
    [InlineData("{{if not .State.Running}}x{{else}}y{{end}}", "y")]
    [InlineData("{{if and .State.Running (eq .State.Pid 42)}}ok{{end}}", "ok")]
    [InlineData("{{if or .Empty .Id}}{{or .Empty .Id}}{{end}}", "abc123")]
    [InlineData("{{with .State}}{{.Status}}{{end}}", "running")]
    [InlineData("{{with .Missing}}x{{else}}none{{end}}", "none")]
    [InlineData("{{if gt .State.Pid 10}}big{{end}}{{if lt .State.Pid 10}}small{{end}}", "big")]
    [InlineData("{{if ne .State.Status \"running\"}}x{{else}}same{{end}}", "same")]
    [InlineData("{{if eq .State.Status \"a\" \"running\"}}any{{end}}", "any")]
    [InlineData("{{len .Mounts}} {{len .Config.Labels}} {{len .Id}}", "2 2 6")]
    public void Conditionals(string template, string expected) => Assert.Equal(expected, Run(template));

    [Theory]
    [InlineData("{{.Config.Image | upper}}", "BUSYBOX")]
    [InlineData("{{upper .Config.Image}}", "BUSYBOX")]
    [InlineData("{{lower \"ABC\"}}", "abc")]
    [InlineData("{{title \"hello big world\"}}", "Hello Big World")]
    [InlineData("{{join .Config.Env \",\"}}", "A=1,B=2")]
    [InlineData("{{split .Names \",\"}}", "[web db]")]
    [InlineData("{{index (split .Names \",\") 1}}", "db")]
    [InlineData("{{join (split .Names \",\") \"+\"}}", "web+db")]
    [InlineData("{{truncate .Id 3}}", "abc")]
    [InlineData("{{truncate .Id 30}}", "abc123")]
    [InlineData("{{pad .Id 1 2}}|", " abc123  |")]
    [InlineData("{{println .Id}}", "abc123\n")]
    [InlineData("{{printf \"%s-%d-%v-%q\" .Id .State.Pid .State.Running .Name}}", "abc123-42-true-\"/web\"")]
    [InlineData("{{printf \"%-8s|%5d|%.2f\" .Id .State.Pid .Size}}", "abc123  |   42|1.50")]
    [InlineData("{{.Id | printf \"[%s]\"}}", "[abc123]")]
    [InlineData("{{.Name | truncate 3 | upper}}", "")]
    public void Functions(string template, string expected)
    {
        if (expected.Length == 0)
        {
            // A piped value goes last: truncate 3 "/web" is a type error in Go, and here too.
            Assert.ThrowsAny<TemplateException>(() => Run(template));
            return;
        }
        Assert.Equal(expected, Run(template));
    }

    [Theory]
    [InlineData("{{$n := .Name}}{{$n}}", "/web")]
    [InlineData("{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}", "2")]
    [InlineData("{{range .Mounts}}{{$.Id}} {{end}}", "abc123 abc123 ")]
    [InlineData("{{$.State.Status}}", "running")]
    public void Variables(string template, string expected) => Assert.Equal(expected, Run(template));

    [Theory]
    [InlineData("a  {{- .Id -}}  b", "aabc123b")]
    [InlineData("{{/* comment */}}x", "x")]
    [InlineData("{{`raw\\n`}}", "raw\\n")]
    [InlineData("{{\"q\\tx\"}}", "q\tx")]
    [InlineData("{{ .Id }}", "abc123")]
    public void Syntax(string template, string expected) => Assert.Equal(expected, Run(template));

    [Theory]
    [InlineData("{{.Id")]
    [InlineData("{{if .Id}}x")]
    [InlineData("{{end}}")]
    [InlineData("{{nosuchfunc .Id}}")]
    [InlineData("{{.Id.Sub}}")]
    public void Errors(string template) => Assert.ThrowsAny<TemplateException>(() => Run(template));

    [Fact]
    public void TableWithHeaders()
    {
        var rows = new JsonNode?[]
        {
            JsonNode.Parse("{\"ID\":\"0123456789ab\",\"Image\":\"busybox\",\"Names\":\"web\"}"),
            JsonNode.Parse("{\"ID\":\"ba9876543210\",\"Image\":\"alpine:3.19\",\"Names\":\"a-much-longer-name\"}"),
        };
        var headers = new JsonObject { ["ID"] = "CONTAINER ID", ["Image"] = "IMAGE", ["Names"] = "NAMES" };
        var text = OutputFormat.Render("table {{.ID}}\\t{{.Image}}\\t{{.Names}}", rows, headers);
        Assert.Equal(
            "CONTAINER ID   IMAGE         NAMES\n" +
            "0123456789ab   busybox       web\n" +
            "ba9876543210   alpine:3.19   a-much-longer-name\n", text);
    }

    [Fact]
    public void TableHeaderModeKeepsHeaderThroughFunctions()
    {
        var rows = new JsonNode?[] { JsonNode.Parse("{\"Names\":\"web\",\"ID\":\"x\"}") };
        var headers = new JsonObject { ["ID"] = "CONTAINER ID", ["Names"] = "NAMES" };
        var text = OutputFormat.Render("table {{.Names | upper}}\t{{json .ID}}\t{{.Nope}}", rows, headers);
        Assert.Equal("NAMES     CONTAINER ID   \nWEB       \"x\"            <no value>\n", text);
    }

    [Fact]
    public void TableWithNoRowsPrintsHeader()
    {
        var headers = new JsonObject { ["Driver"] = "DRIVER", ["Name"] = "VOLUME NAME" };
        Assert.Equal("DRIVER    VOLUME NAME\n", OutputFormat.Render("table {{.Driver}}\t{{.Name}}", [], headers));
    }

    [Fact]
    public void DockerPsDefaultHeader()
    {
        var headers = Formatting.Rows.ContainerHeaders;
        var text = OutputFormat.Render("table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}", [], headers);
        Assert.Equal("CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES\n", text);
    }

    [Fact]
    public void NonTableFormatIsOneLinePerRow()
    {
        var rows = new JsonNode?[] { JsonNode.Parse("{\"A\":\"1\"}"), JsonNode.Parse("{\"A\":\"2\"}") };
        Assert.Equal("1\n2\n", OutputFormat.Render("{{.A}}", rows, null));
        Assert.Equal("{\"A\":\"1\"}\n{\"A\":\"2\"}\n", OutputFormat.Render("json", rows, null));
        Assert.Equal("1\t-\n2\t-\n", OutputFormat.Render("{{.A}}\\t-", rows, null));
    }

    [Fact]
    public void TabWriterMatchesGo()
    {
        // Cells after the last tab are not aligned; minwidth 10, padding 3.
        Assert.Equal("a         bb\nccc       d\n", TabWriter.Format("a\tbb\nccc\td\n"));
        Assert.Equal("0123456789abc   x\ny               z\n", TabWriter.Format("0123456789abc\tx\ny\tz\n"));
        // A line without tabs ends the column block.
        Assert.Equal("a         b\nplain\nlonger-cell   c\n", TabWriter.Format("a\tb\nplain\nlonger-cell\tc\n"));
    }
}
