using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;
using Berth.Cli.CommandLine;
using Berth.Client;

namespace Berth.Cli.Commands;

internal static class SystemCommands
{
    public const string ClientVersion = "0.1.0";

    public static async Task<int> VersionAsync(CliContext ctx, ParsedArgs args)
    {
        var client = new JsonObject
        {
            ["Platform"] = new JsonObject { ["Name"] = "Berth" },
            ["Version"] = ClientVersion,
            ["ApiVersion"] = BerthClient.MaxApiVersion,
            ["DefaultAPIVersion"] = BerthClient.MaxApiVersion,
            ["GitCommit"] = "",
            ["GoVersion"] = $".NET {Environment.Version}",
            ["Os"] = "linux",
            ["Arch"] = Arch(),
            ["BuildTime"] = "",
            ["Context"] = "default",
        };
        JsonObject? server = null;
        Exception? error = null;
        try
        {
            server = (await ctx.Client.ServerVersionAsync().ConfigureAwait(false)).Raw;
            client["ApiVersion"] = ctx.Client.ApiVersion ?? BerthClient.MaxApiVersion;
        }
        catch (Exception e) when (e is DaemonUnreachableException or DockerApiException)
        {
            error = e;
        }
        var data = new JsonObject { ["Client"] = client, ["Server"] = server?.DeepClone() };
        if (args.Get("format") is { } format)
        {
            Support.WriteTemplate(ctx, format, data);
        }
        else
        {
            var sb = new StringBuilder();
            sb.Append("Client:\n");
            sb.Append($" Version:           {ClientVersion}\n");
            sb.Append($" API version:       {client["ApiVersion"]}\n");
            sb.Append($" Go version:        {client["GoVersion"]}\n");
            sb.Append($" Git commit:        {client["GitCommit"]}\n");
            sb.Append($" Built:             {client["BuildTime"]}\n");
            sb.Append($" OS/Arch:           linux/{Arch()}\n");
            sb.Append(" Context:           default\n");
            if (server is not null)
            {
                AppendServer(sb, server);
            }
            ctx.Out.Write(sb.ToString());
        }
        if (error is not null)
        {
            ctx.Err.WriteLine(error is DockerApiException ? $"Error response from daemon: {error.Message}" : error.Message);
            return 1;
        }
        return 0;
    }

    // docker's version template: the server's components in order; Engine with its fixed lines, the others with their
    // details sorted by key. Engine details the daemon leaves out come from the top-level fields.
    private static void AppendServer(StringBuilder sb, JsonObject server)
    {
        sb.Append("\nServer:");
        if (server["Platform"]?["Name"] is { } pn && pn.ToString().Length > 0)
        {
            sb.Append(' ').Append(pn);
        }
        sb.Append('\n');
        var components = server["Components"] as JsonArray;
        if (components is null || components.Count == 0)
        {
            components = new JsonArray((JsonNode)new JsonObject { ["Name"] = "Engine", ["Version"] = server["Version"]?.DeepClone() });
        }
        foreach (var component in components.OfType<JsonObject>())
        {
            var name = component["Name"]?.ToString() ?? "";
            var details = component["Details"] as JsonObject ?? [];
            sb.Append(' ').Append(name).Append(":\n");
            sb.Append($"  Version:          {component["Version"]}\n");
            if (name == "Engine")
            {
                string D(string key) => Text(details[key] ?? server[key]);
                sb.Append($"  API version:      {D("ApiVersion")} (minimum version {D("MinAPIVersion")})\n");
                sb.Append($"  Go version:       {D("GoVersion")}\n");
                sb.Append($"  Git commit:       {D("GitCommit")}\n");
                sb.Append($"  Built:            {D("BuildTime")}\n");
                sb.Append($"  OS/Arch:          {D("Os")}/{D("Arch")}\n");
                sb.Append($"  Experimental:     {D("Experimental")}\n");
                continue;
            }
            foreach (var (key, value) in details.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                sb.Append("  ").Append(key).Append(':').Append(' ', Math.Max(1, 17 - key.Length)).Append(Text(value)).Append('\n');
            }
        }
    }

    // Go prints booleans in lower case.
    private static string Text(JsonNode? node) => node switch
    {
        null => "",
        JsonValue v when v.TryGetValue<bool>(out var b) => b ? "true" : "false",
        _ => node.ToString(),
    };

    private static string Arch() => RuntimeInformation.OSArchitecture switch
    {
        Architecture.X64 => "amd64",
        Architecture.Arm64 => "arm64",
        Architecture.Arm => "arm",
        Architecture.X86 => "386",
        var a => a.ToString().ToLowerInvariant(),
    };

    public static async Task<int> InfoAsync(CliContext ctx, ParsedArgs args)
    {
        var info = (await ctx.Client.SystemInfoAsync().ConfigureAwait(false)).Raw;
        if (args.Get("format") is { } format)
        {
            Support.WriteTemplate(ctx, format, info);
            return 0;
        }
        string S(string key) => info[key]?.ToString() ?? "";
        var sb = new StringBuilder();
        sb.Append("Client:\n Version:    ").Append(ClientVersion).Append("\n Context:    default\n Debug Mode: false\n\n");
        sb.Append("Server:\n");
        sb.Append(" Containers: ").Append(S("Containers")).Append('\n');
        sb.Append("  Running: ").Append(S("ContainersRunning")).Append('\n');
        sb.Append("  Paused: ").Append(S("ContainersPaused")).Append('\n');
        sb.Append("  Stopped: ").Append(S("ContainersStopped")).Append('\n');
        sb.Append(" Images: ").Append(S("Images")).Append('\n');
        sb.Append(" Server Version: ").Append(S("ServerVersion")).Append('\n');
        sb.Append(" Storage Driver: ").Append(S("Driver")).Append('\n');
        sb.Append(" Logging Driver: ").Append(S("LoggingDriver")).Append('\n');
        sb.Append(" Cgroup Driver: ").Append(S("CgroupDriver")).Append('\n');
        sb.Append(" Cgroup Version: ").Append(S("CgroupVersion")).Append('\n');
        sb.Append(" Kernel Version: ").Append(S("KernelVersion")).Append('\n');
        sb.Append(" Operating System: ").Append(S("OperatingSystem")).Append('\n');
        sb.Append(" OSType: ").Append(S("OSType")).Append('\n');
        sb.Append(" Architecture: ").Append(S("Architecture")).Append('\n');
        sb.Append(" CPUs: ").Append(S("NCPU")).Append('\n');
        sb.Append(" Total Memory: ").Append(Formatting.Units.BytesSize(info["MemTotal"] is JsonValue m && m.TryGetValue<long>(out var mem) ? mem : 0)).Append('\n');
        sb.Append(" Name: ").Append(S("Name")).Append('\n');
        sb.Append(" ID: ").Append(S("ID")).Append('\n');
        sb.Append(" Docker Root Dir: ").Append(S("DockerRootDir")).Append('\n');
        sb.Append(" Debug Mode: ").Append(S("Debug").ToLowerInvariant()).Append('\n');
        sb.Append(" Experimental: ").Append(S("ExperimentalBuild").ToLowerInvariant()).Append('\n');
        ctx.Out.Write(sb.ToString());
        return 0;
    }
}
