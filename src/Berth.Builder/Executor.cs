using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Berth.Content;
using Berth.Core;

namespace Berth.Builder;

/// <summary>
/// Runs a parsed Dockerfile: one image per step (the legacy builder's model, so every step has an ID the cache and
/// the next build can reuse), RUN in a step container whose writable layer is committed, COPY/ADD written into a
/// step container's root, metadata instructions as config-only images. Multi-stage with <c>--target</c>: only the
/// stages the target needs run.
/// </summary>
public sealed partial class Executor(IBuildImages images, IBuildContainers containers, IBuildCache? cache)
{
    private static readonly IReadOnlyList<string> DefaultShell = ["/bin/sh", "-c"];

    private sealed class Stage
    {
        public required int Index { get; init; }
        public string? Name { get; init; }
        public required Instruction From { get; init; }
        public required string BaseName { get; init; }
        public List<Instruction> Body { get; } = [];
        public string? ResultId { get; set; }
    }

    private sealed class State
    {
        public string? ImageId;
        public ContainerConfig Config = new();
        public readonly Dictionary<string, string?> Args = new(StringComparer.Ordinal);
        public bool CmdSetHere;
        /// <summary>MAINTAINER's value: the Author of every image this stage commits from then on, as in dockerd.</summary>
        public string? Author;
    }

    private sealed class Run(Executor owner, BuildContext context, BuildOptions options, Dockerfile file, Func<string, Task> stream,
        IBuildImageSource? source, CancellationToken ct)
    {
        public readonly Executor Owner = owner;
        public readonly IBuildImageSource? Source = source;
        public readonly BuildContext Context = context;
        public readonly BuildOptions Options = options;
        public readonly Dockerfile File = file;
        public readonly CancellationToken Ct = ct;
        public readonly Dictionary<string, string?> MetaArgs = new(StringComparer.Ordinal);
        public readonly HashSet<string> UsedArgs = new(StringComparer.Ordinal);
        public readonly List<Instruction> MetaArgInstructions = [];
        public List<BuildImage>? CacheFromImages;
        public readonly Dictionary<(string Name, string? Platform), BuildImage> Images = [];
        public List<Stage> Stages = [];
        public int Step;
        public int Steps;

        public Task Out(string text) => Options.Quiet ? Task.CompletedTask : stream(text);

        public DockerfileException Error(Instruction i, string message) => new(File.FileName, i.Line, message);
    }

    /// <summary>
    /// Builds and tags; returns the image ID. Failures are <see cref="DockerfileException"/> or <see cref="BuildFailedException"/>.
    /// <paramref name="source"/> gets the images the Dockerfile names (pulling them as the request allows); without
    /// one they must be local.
    /// </summary>
    public async Task<string> BuildAsync(BuildContext context, Dockerfile file, BuildOptions options, Func<string, Task> stream,
        IBuildImageSource? source, CancellationToken ct)
    {
        var run = new Run(this, context, options, file, stream, source, ct);
        SplitStages(run);
        var target = TargetStage(run);
        var needed = NeededStages(run, target);
        run.Steps = run.MetaArgInstructions.Count + run.Stages.Where(s => needed.Contains(s.Index)).Sum(s => 1 + s.Body.Count) + run.Options.Labels.Count;

        // As dockerd's legacy builder: the parser's warnings first (on its stderr, which the CLI shows in red), then
        // the ARGs before the first FROM as steps of their own.
        if (file.Warnings.Count > 0)
            await run.Out("\u001b[91m" + string.Concat(file.Warnings.Select(w => $"[WARNING]: {w}\n"))
                + "[WARNING]: Empty continuation lines will become errors in a future release.\n\u001b[0m");
        foreach (var meta in run.MetaArgInstructions) await run.Out($"Step {++run.Step}/{run.Steps} : {meta.Original}\n");

        foreach (var stage in run.Stages)
        {
            if (!needed.Contains(stage.Index)) continue;
            stage.ResultId = await RunStageAsync(run, stage, isFinal: stage.Index == target.Index);
        }
        var id = target.ResultId ?? throw new BuildFailedException("the build produced no image");

        var unused = options.BuildArgs.Keys.Where(k => !run.UsedArgs.Contains(k) && !Predefined.Contains(k)).Order(StringComparer.Ordinal).ToList();
        if (unused.Count > 0) await run.Out($"[Warning] One or more build-args [{string.Join(' ', unused)}] were not consumed\n");
        return id;
    }

    private static readonly HashSet<string> Predefined = new(StringComparer.Ordinal)
    {
        "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy",
    };

    // ---- stages ----

    // dockerd's rule for a stage's name (lower-cased first).
    [System.Text.RegularExpressions.GeneratedRegex(@"^[a-z][a-z0-9-_\.]*$")]
    private static partial System.Text.RegularExpressions.Regex StageName();

    private static void SplitStages(Run run)
    {
        Stage? cur = null;
        foreach (var inst in run.File.Instructions)
        {
            if (inst.Keyword == "FROM")
            {
                var words = ShellWords.ExpandWords(inst.Args, n => MetaLookup(run, n), run.File.Escape);
                string? name = null;
                if (words.Count == 3 && words[1].Equals("AS", StringComparison.OrdinalIgnoreCase)) name = words[2].ToLowerInvariant();
                else if (words.Count != 1) throw run.Error(inst, "FROM requires either one or three arguments");
                if (name is not null && !StageName().IsMatch(name))
                    throw run.Error(inst, $"invalid name for build stage: \"{words[2]}\", name can't start with a number or contain symbols");
                if (name is not null && run.Stages.Any(s => s.Name == name))
                    throw run.Error(inst, $"{name} stage name already used");
                if (words[0].Length == 0) throw run.Error(inst, "base name (" + inst.Args + ") should not be blank");
                cur = new Stage { Index = run.Stages.Count, Name = name, From = inst, BaseName = words[0] };
                run.Stages.Add(cur);
                continue;
            }
            if (cur is null)
            {
                if (inst.Keyword != "ARG") throw run.Error(inst, "no build stage in current context");
                run.MetaArgInstructions.Add(inst);
                foreach (var (k, v) in ParseArgDecls(run, inst, n => MetaLookup(run, n)))
                {
                    run.MetaArgs[k] = run.Options.BuildArgs.TryGetValue(k, out var b) && b is not null ? b : v;
                    if (run.Options.BuildArgs.ContainsKey(k)) run.UsedArgs.Add(k);
                }
                continue;
            }
            cur.Body.Add(inst);
        }
        if (run.Stages.Count == 0)
            throw new DockerfileException(run.File.FileName, Math.Max(1, run.File.Instructions.LastOrDefault()?.Line ?? 1), "no build stage in current context");
    }

    private static string? MetaLookup(Run run, string name) => run.MetaArgs.GetValueOrDefault(name);

    private static Stage TargetStage(Run run)
    {
        if (string.IsNullOrEmpty(run.Options.Target)) return run.Stages[^1];
        return run.Stages.FirstOrDefault(s => s.Name == run.Options.Target.ToLowerInvariant())
            ?? throw new BuildFailedException($"failed to reach build target {run.Options.Target} in Dockerfile");
    }

    private static HashSet<int> NeededStages(Run run, Stage target)
    {
        var needed = new HashSet<int>();
        var todo = new Stack<Stage>([target]);
        while (todo.TryPop(out var s))
        {
            if (!needed.Add(s.Index)) continue;
            if (FindStage(run, s.BaseName, s.Index) is { } b) todo.Push(b);
            foreach (var inst in s.Body.Where(i => i.Keyword == "COPY" && i.Flag("from") is not null))
                if (FindStage(run, inst.Flag("from")!, s.Index) is { } f) todo.Push(f);
            // RUN --mount=...,from=stage needs that stage too (the value as written; build args are not known yet).
            foreach (var inst in s.Body.Where(i => i.Keyword == "RUN"))
                foreach (var (k, v) in inst.Flags)
                    if (k == "mount" && RunMount.Parse(v).From is { } from && FindStage(run, from, s.Index) is { } ms) todo.Push(ms);
        }
        return needed;
    }

    private static Stage? FindStage(Run run, string nameOrIndex, int before)
    {
        var lower = nameOrIndex.ToLowerInvariant();
        foreach (var s in run.Stages)
        {
            if (s.Index >= before) break;
            if (s.Name == lower) return s;
        }
        if (int.TryParse(nameOrIndex, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n < before) return run.Stages[n];
        return null;
    }

    private async Task<string> RunStageAsync(Run run, Stage stage, bool isFinal)
    {
        var st = new State();
        await run.Out($"Step {++run.Step}/{run.Steps} : {stage.From.Original}\n");
        BuildImage? img = null;
        if (FindStage(run, stage.BaseName, stage.Index) is { } prev)
            img = images.Find(prev.ResultId!) ?? throw new BuildFailedException($"the image of stage {stage.BaseName} is gone");
        else if (stage.BaseName != "scratch")
            img = await ImageAsync(run, stage.BaseName, StagePlatform(run, stage), run.Options.Pull);
        st.ImageId = img?.Id;
        if (img is not null)
        {
            st.Config = WithDefaultPath(img.Config.Config ?? new ContainerConfig());
            var triggers = st.Config.OnBuild ?? [];
            if (triggers.Count > 0)
            {
                st.Config = st.Config with { OnBuild = null };
                await run.Out($"# Executing {triggers.Count} build trigger{(triggers.Count > 1 ? "s" : "")}\n");
                foreach (var t in triggers)
                {
                    var inst = DockerfileParser.ParseInstruction(t, stage.From.Line, run.File.FileName, run.File.Escape);
                    await StepAsync(run, stage, st, inst);
                }
            }
            // As dockerd: the FROM step's result is shown after its build triggers ran.
            await run.Out($" ---> {Short(st.ImageId!)}\n");
        }
        else
        {
            st.Config = WithDefaultPath(st.Config); // FROM scratch
            await run.Out(" ---> \n");
        }
        st.Config = st.Config with { OnBuild = null };

        foreach (var inst in stage.Body)
        {
            await run.Out($"Step {++run.Step}/{run.Steps} : {inst.Original}\n");
            await StepAsync(run, stage, st, inst);
            await run.Out($" ---> {Short(st.ImageId!)}\n");
        }
        if (isFinal)
        {
            // As dockerd's legacy builder: each --label is one more LABEL step at the end, in the order of the keys.
            foreach (var (k, v) in run.Options.Labels.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                var shown = $"LABEL {k}={v}";
                await run.Out($"Step {++run.Step}/{run.Steps} : {shown}\n");
                var labels = new Dictionary<string, string>(st.Config.Labels ?? new Dictionary<string, string>()) { [k] = v };
                await CommitMetaAsync(run, st, st.Config with { Labels = labels }, shown);
                await run.Out($" ---> {Short(st.ImageId!)}\n");
            }
        }
        return await EnsureImageAsync(run, st);
    }

    /// <summary>The PATH dockerd's builder gives every stage whose image sets none (so it lands in the image's Env).</summary>
    public const string DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    internal static ContainerConfig WithDefaultPath(ContainerConfig c) =>
        (c.Env ?? []).Any(e => e.StartsWith("PATH=", StringComparison.Ordinal)) ? c : c with { Env = [.. c.Env ?? [], "PATH=" + DefaultPath] };

    /// <summary>
    /// An image the Dockerfile names: through the request's image source (which pulls as the request allows), or
    /// the local one when the build has no source.
    /// </summary>
    private async Task<BuildImage> ImageAsync(Run run, string name, string? platform, bool pull)
    {
        // Once per build for each name and platform: a --pull build pulls each image once, however often it is named.
        if (run.Images.TryGetValue((name, platform), out var known)) return known;
        var img = run.Source is not null
            ? await run.Source.GetAsync(name, platform, pull, run.Ct)
            : images.Find(name) ?? throw new BuildFailedException($"No such image: {name}");
        run.Images[(name, platform)] = img;
        return img;
    }

    /// <summary>
    /// The platform a stage is built for: its FROM's <c>--platform</c> (build args and the automatic platform args
    /// substituted), else the request's; null for the daemon's own.
    /// </summary>
    private static string? StagePlatform(Run run, Stage stage)
    {
        if (stage.From.Flag("platform") is not { Length: > 0 } flag) return run.Options.Platform is { Length: > 0 } p ? p : null;
        var value = ShellWords.ExpandVariables(flag, n => PlatformArg(run, n) ?? MetaLookup(run, n), run.File.Escape);
        if (value.Length == 0) throw run.Error(stage.From, $"empty platform value from expression {flag}");
        // The same reading as the request's platform: an architecture alone is linux's, another OS is refused.
        try { Platforms.Parse(value); }
        catch (BerthException e) { throw run.Error(stage.From, e.Message); }
        return value;
    }

    /// <summary>
    /// BuildKit's automatic platform args, which FROM --platform may use, normalised (<c>linux/x86_64</c> is
    /// <c>linux/amd64</c>): the build platform is this machine's, the target the request's.
    /// </summary>
    private static string? PlatformArg(Run run, string name)
    {
        var (_, buildArch, _) = Platforms.Parse(null);
        var (os, arch, variant) = Platforms.Parse(run.Options.Platform);
        return name switch
        {
            "BUILDPLATFORM" => Platforms.Format(null),
            "BUILDOS" => "linux",
            "BUILDARCH" => buildArch,
            "TARGETPLATFORM" => Platforms.Format(run.Options.Platform),
            "TARGETOS" => os,
            "TARGETARCH" => arch,
            "TARGETVARIANT" => variant ?? "",
            _ => null,
        };
    }

    public static string Short(string id) => (id.StartsWith("sha256:", StringComparison.Ordinal) ? id[7..] : id)[..12];

    // ---- steps ----

    private Task StepAsync(Run run, Stage stage, State st, Instruction inst)
    {
        try
        {
            return inst.Keyword switch
            {
                "RUN" => RunAsync(run, stage, st, inst),
                "COPY" or "ADD" => CopyAsync(run, stage, st, inst),
                "WORKDIR" => WorkdirAsync(run, st, inst),
                "ARG" => ArgAsync(run, st, inst),
                "ONBUILD" => CommitMetaAsync(run, st, st.Config with { OnBuild = [.. st.Config.OnBuild ?? [], inst.Args] }, "ONBUILD " + inst.Args),
                _ => MetaAsync(run, st, inst),
            };
        }
        catch (FormatException e)
        {
            throw run.Error(inst, e.Message);
        }
    }

    private static Func<string, string?> Lookup(Run run, State st) => name =>
    {
        foreach (var e in st.Config.Env ?? [])
        {
            int eq = e.IndexOf('=');
            if (eq > 0 && e.AsSpan(0, eq).SequenceEqual(name)) return e[(eq + 1)..];
        }
        if (st.Args.TryGetValue(name, out var v)) { run.UsedArgs.Add(name); return v; }
        return null;
    };

    private static List<KeyValuePair<string, string?>> ParseArgDecls(Run run, Instruction inst, Func<string, string?> lookup)
    {
        var list = new List<KeyValuePair<string, string?>>();
        foreach (var w in ShellWords.Split(inst.Args, run.File.Escape))
        {
            int eq = w.IndexOf('=');
            var name = eq < 0 ? w : w[..eq];
            if (name.Length == 0) throw run.Error(inst, "ARG names can not be blank");
            list.Add(new(name, eq < 0 ? null : ShellWords.Expand(w[(eq + 1)..], lookup, run.File.Escape)));
        }
        return list;
    }

    private Task ArgAsync(Run run, State st, Instruction inst)
    {
        foreach (var (k, v) in ParseArgDecls(run, inst, Lookup(run, st)))
        {
            string? value = v;
            if (run.Options.BuildArgs.TryGetValue(k, out var b) && b is not null) { value = b; run.UsedArgs.Add(k); }
            else if (v is null && run.MetaArgs.TryGetValue(k, out var meta)) value = meta;
            st.Args[k] = value;
        }
        // An ARG changes no config; the image stays the same, as in the legacy builder's cache-friendly model.
        return CommitMetaAsync(run, st, st.Config, "ARG " + inst.Args);
    }

    private static List<string> SetEnv(IReadOnlyList<string>? env, string key, string value)
    {
        var list = (env ?? []).Where(e => e.Split('=', 2)[0] != key).ToList();
        var idx = (env ?? []).ToList().FindIndex(e => e.Split('=', 2)[0] == key);
        if (idx >= 0) { var l = (env ?? []).ToList(); l[idx] = $"{key}={value}"; return l; }
        list.Add($"{key}={value}");
        return list;
    }

    private static List<KeyValuePair<string, string>> KeyValues(Run run, State st, Instruction inst, string what)
    {
        var lookup = Lookup(run, st);
        var words = ShellWords.Split(inst.Args, run.File.Escape);
        var result = new List<KeyValuePair<string, string>>();
        if (words.Count > 0 && !words[0].Contains('='))
        {
            // The old form: "ENV key value with spaces".
            if (words.Count < 2) throw run.Error(inst, $"{what} must have two arguments");
            var rest = inst.Args[(inst.Args.IndexOf(words[0], StringComparison.Ordinal) + words[0].Length)..].Trim();
            result.Add(new(ShellWords.Expand(words[0], lookup, run.File.Escape), ShellWords.Expand(rest, lookup, run.File.Escape)));
            return result;
        }
        foreach (var w in words)
        {
            int eq = w.IndexOf('=');
            if (eq <= 0) throw run.Error(inst, $"{what} names can not be blank");
            result.Add(new(ShellWords.Expand(w[..eq], lookup, run.File.Escape), ShellWords.Expand(w[(eq + 1)..], lookup, run.File.Escape)));
        }
        return result;
    }

    private Task MetaAsync(Run run, State st, Instruction inst)
    {
        var c = st.Config;
        var lookup = Lookup(run, st);
        var esc = run.File.Escape;
        string shown = inst.Keyword + " " + inst.Args;
        string? note = null;
        switch (inst.Keyword)
        {
            case "ENV":
                {
                    // As Docker: every pair is expanded against the environment before this ENV (ENV a=1 b=$a leaves b
                    // the old $a).
                    var env = (c.Env ?? []).ToList();
                    var kvs = KeyValues(run, st, inst, "ENV");
                    foreach (var (k, v) in kvs) env = SetEnv(env, k, v);
                    c = c with { Env = env };
                    shown = "ENV " + string.Join(' ', kvs.Select(kv => $"{kv.Key}={kv.Value}"));
                    break;
                }
            case "LABEL":
                {
                    var labels = new Dictionary<string, string>(c.Labels ?? new Dictionary<string, string>());
                    var kvs = KeyValues(run, st, inst, "LABEL");
                    foreach (var (k, v) in kvs) labels[k] = v;
                    c = c with { Labels = labels };
                    shown = "LABEL " + string.Join(' ', kvs.Select(kv => $"{kv.Key}={kv.Value}"));
                    break;
                }
            case "MAINTAINER":
                // Only the image's author changes; the config stays.
                shown = "MAINTAINER " + inst.Args;
                break;
            case "EXPOSE":
                {
                    var ports = new Dictionary<string, EmptyObject>(c.ExposedPorts ?? new Dictionary<string, EmptyObject>());
                    var written = ShellWords.ExpandWords(inst.Args, lookup, esc);
                    foreach (var w in written)
                    {
                        var parts = w.Split('/', 2);
                        var proto = parts.Length > 1 ? parts[1].ToLowerInvariant() : "tcp";
                        if (proto is not ("tcp" or "udp" or "sctp")) throw run.Error(inst, $"Invalid proto: {proto}");
                        var range = parts[0].Split('-', 2);
                        if (!ushort.TryParse(range[0], out var lo) || range.Length > 1 && !ushort.TryParse(range[1], out _))
                            throw run.Error(inst, $"invalid containerPort: {parts[0]}");
                        int hi = range.Length > 1 ? ushort.Parse(range[1], CultureInfo.InvariantCulture) : lo;
                        for (int p = lo; p <= hi; p++) ports[$"{p}/{proto}"] = EmptyObject.Instance;
                    }
                    c = c with { ExposedPorts = ports };
                    shown = "EXPOSE " + string.Join(' ', written);
                    break;
                }
            case "USER":
                {
                    var u = ShellWords.Expand(inst.Args.Trim(), lookup, esc);
                    c = c with { User = u };
                    shown = "USER " + u;
                    break;
                }
            case "STOPSIGNAL":
                {
                    var s = ShellWords.Expand(inst.Args.Trim(), lookup, esc);
                    if (!Signals.IsStopSignal(s)) throw run.Error(inst, $"Invalid signal: {s}");
                    c = c with { StopSignal = s };
                    shown = "STOPSIGNAL " + s;
                    break;
                }
            case "VOLUME":
                {
                    var vols = new Dictionary<string, EmptyObject>(c.Volumes ?? new Dictionary<string, EmptyObject>());
                    var list = inst.Json?.Select(v => ShellWords.Expand(v, lookup, esc)).ToList() ?? ShellWords.ExpandWords(inst.Args, lookup, esc);
                    foreach (var v in list)
                    {
                        if (v.Trim().Length == 0) throw run.Error(inst, "VOLUME specified can not be an empty string");
                        vols[v] = EmptyObject.Instance;
                    }
                    c = c with { Volumes = vols };
                    shown = "VOLUME [" + string.Join(' ', list) + "]";
                    break;
                }
            case "CMD":
                {
                    // As dockerd's legacy builder: `CMD []` clears the command, a bare `CMD` leaves the shell alone.
                    IReadOnlyList<string> cmd = inst.Json ?? (inst.Args.Length == 0 ? [.. c.Shell ?? DefaultShell] : [.. c.Shell ?? DefaultShell, inst.Args]);
                    c = c with { Cmd = cmd.Count == 0 ? null : cmd };
                    st.CmdSetHere = true;
                    shown = "CMD " + Show(cmd);
                    break;
                }
            case "ENTRYPOINT":
                {
                    var ep = inst.Json ?? (inst.Args.Length == 0 ? [] : [.. c.Shell ?? DefaultShell, inst.Args]);
                    // Docker: an ENTRYPOINT resets a CMD that came from the base image.
                    c = c with { Entrypoint = ep, Cmd = st.CmdSetHere ? c.Cmd : null };
                    shown = "ENTRYPOINT " + Show(ep);
                    break;
                }
            case "SHELL":
                {
                    if (inst.Json is null || inst.Json.Count == 0) throw run.Error(inst, "SHELL requires at least one argument");
                    c = c with { Shell = inst.Json };
                    shown = "SHELL [" + string.Join(' ', inst.Json) + "]";
                    break;
                }
            case "HEALTHCHECK":
                {
                    var hc = Healthcheck(run, st, inst);
                    // As dockerd: a note when this replaces a real check (from this Dockerfile or the base image).
                    if (c.Healthcheck?.Test is { Count: > 0 } old && old[0] != "NONE")
                        note = $"Note: overriding previous HEALTHCHECK: [{string.Join(' ', old)}]\n";
                    // dockerd's legacy builder commits the step through a container whose create merged the previous
                    // check into this one: the times and retries this one leaves unset are the previous one's, even
                    // under HEALTHCHECK NONE (a later --health-cmd at run takes them).
                    if (c.Healthcheck is { } prev)
                    {
                        hc = hc with
                        {
                            Interval = hc.Interval is null or 0 ? prev.Interval : hc.Interval,
                            Timeout = hc.Timeout is null or 0 ? prev.Timeout : hc.Timeout,
                            StartPeriod = hc.StartPeriod is null or 0 ? prev.StartPeriod : hc.StartPeriod,
                            StartInterval = hc.StartInterval is null or 0 ? prev.StartInterval : hc.StartInterval,
                            Retries = hc.Retries is null or 0 ? prev.Retries : hc.Retries,
                        };
                    }
                    c = c with { Healthcheck = hc };
                    break;
                }
            default:
                throw run.Error(inst, $"unknown instruction: {inst.Keyword}");
        }
        return note is null ? CommitMetaAsync(run, st, c, shown, author: inst.Keyword == "MAINTAINER" ? inst.Args : null) : NoteThenCommit();

        async Task NoteThenCommit()
        {
            await run.Out(note);
            await CommitMetaAsync(run, st, c, shown);
        }
    }

    private static string Show(IReadOnlyList<string> argv) => "[" + string.Join(' ', argv.Select(a => "\"" + a + "\"")) + "]";

    private static HealthConfig Healthcheck(Run run, State st, Instruction inst)
    {
        var words = inst.Args.Split((char[])[' ', '\t'], 2, StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0) throw run.Error(inst, "HEALTHCHECK requires an argument");
        var kind = words[0].ToUpperInvariant();
        if (kind == "NONE")
        {
            if (words.Length > 1 || inst.Flags.Count > 0) throw run.Error(inst, "HEALTHCHECK NONE takes no arguments");
            return new HealthConfig { Test = ["NONE"] };
        }
        if (kind != "CMD") throw run.Error(inst, $"Unknown type \"{words[0]}\" in HEALTHCHECK (try CMD)");
        if (words.Length < 2) throw run.Error(inst, "Missing command after HEALTHCHECK CMD");
        var rest = words[1].Trim();
        var json = rest.StartsWith('[') ? DockerfileParser.ParseInstruction("CMD " + rest, inst.Line, run.File.FileName).Json : null;
        var hc = new HealthConfig { Test = json is not null ? ["CMD", .. json] : ["CMD-SHELL", rest] };
        foreach (var (k, v) in inst.Flags)
        {
            try { hc = HealthcheckFlags.Apply(hc, k, v); }
            catch (FormatException e) { throw run.Error(inst, e.Message); }
        }
        return hc;
    }

    /// <summary>A Go duration ("30s", "1m30s", "500ms") in nanoseconds.</summary>
    public static long Duration(string s)
    {
        if (s == "0") return 0;
        long total = 0;
        int i = 0;
        if (s.Length == 0) throw new FormatException("empty duration");
        while (i < s.Length)
        {
            int start = i;
            while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.')) i++;
            if (start == i) throw new FormatException($"invalid duration {s}");
            var num = double.Parse(s[start..i], CultureInfo.InvariantCulture);
            int us = i;
            while (i < s.Length && (char.IsAsciiLetter(s[i]) || s[i] == 'µ')) i++;
            long unit = s[us..i] switch
            {
                "ns" => 1, "us" or "µs" => 1_000, "ms" => 1_000_000, "s" => 1_000_000_000, "m" => 60_000_000_000, "h" => 3_600_000_000_000,
                _ => throw new FormatException($"unknown unit in duration {s}"),
            };
            total += (long)(num * unit);
        }
        return total;
    }

    private async Task CommitMetaAsync(Run run, State st, ContainerConfig config, string shown, string? author = null, bool announce = true)
    {
        if (author is not null) st.Author = author;
        var createdBy = NopCreatedBy(config, " " + shown);
        var key = CacheKey(st.ImageId, createdBy, ConfigHash(config));
        if (await TryCacheAsync(run, st, key, createdBy, config) is { } hit)
        {
            if (announce) await run.Out(" ---> Using cache\n");
            st.ImageId = hit.Id;
            st.Config = config;
            return;
        }
        var img = await images.CommitConfigAsync(st.ImageId, config, createdBy, st.Author, run.Ct);
        cache?.Put(key, img.Id);
        st.ImageId = img.Id;
        st.Config = config;
    }

    /// <summary>
    /// dockerd's history text for a step that runs no command: the stage's shell, then "#(nop) " and the step. Config-only
    /// steps pass their text with a leading space, as dockerd joins them ("#(nop)  ENV a=1").
    /// </summary>
    internal static string NopCreatedBy(ContainerConfig config, string step) =>
        string.Join(' ', config.Shell ?? DefaultShell) + " #(nop) " + step;

    private static string ConfigHash(ContainerConfig c) =>
        Convert.ToHexStringLower(SHA256.HashData(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(c, ContentJsonContext.Default.ContainerConfig)));

    private static string CacheKey(string? parent, params string[] parts)
    {
        var sb = new StringBuilder(parent ?? "scratch");
        foreach (var p in parts) sb.Append('\n').Append(p);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())));
    }

    private BuildImage? TryCache(Run run, string key)
    {
        if (run.Options.NoCache || cache is null) return null;
        return cache.Get(key) is { } id ? images.Find(id) : null;
    }

    private async Task<string> EnsureImageAsync(Run run, State st)
    {
        if (st.ImageId is null)
            st.ImageId = (await images.CommitConfigAsync(null, st.Config, "", null, run.Ct)).Id;
        return st.ImageId;
    }

    // ---- RUN ----

    private async Task RunAsync(Run run, Stage stage, State st, Instruction inst)
    {
        var mounts = ParseMounts(run, st, inst);
        if (inst.Flag("security") is { } sec && sec != "sandbox") throw run.Error(inst, $"RUN --security={sec} is not supported");
        IReadOnlyList<string> argv;
        var shell = st.Config.Shell ?? DefaultShell;
        if (inst.Json is not null) argv = inst.Json;
        else if (inst.Heredocs.Count == 1 && inst.Args.Trim().TrimStart('<').TrimStart('-').Trim('"', '\'') == inst.Heredocs[0].Name)
            argv = [.. shell, inst.Heredocs[0].Content];
        else if (inst.Heredocs.Count > 0)
            argv = [.. shell, inst.Args + "\n" + string.Join("", inst.Heredocs.Select(h => h.Content + h.Name + "\n"))];
        else argv = [.. shell, inst.Args];

        // Build args reach the command's environment (not the image's), and the cache key, as in the legacy builder.
        var env = (st.Config.Env ?? []).ToList();
        var envKeys = env.Select(e => e.Split('=', 2)[0]).ToHashSet(StringComparer.Ordinal);
        var argEnv = st.Args.Where(a => a.Value is not null && !envKeys.Contains(a.Key)).Select(a => $"{a.Key}={a.Value}").ToList();
        foreach (var a in st.Args.Keys) if (run.Options.BuildArgs.ContainsKey(a)) run.UsedArgs.Add(a);
        // The proxy args need no ARG line: given with --build-arg they reach the command, as in dockerd, but stay out
        // of its history and cache key unless the Dockerfile declares them (so a proxy change keeps the cache).
        var proxyEnv = Predefined.Where(p => !st.Args.ContainsKey(p) && !envKeys.Contains(p)
            && run.Options.BuildArgs.TryGetValue(p, out var v) && v is not null).Select(p => $"{p}={run.Options.BuildArgs[p]}").ToList();
        // The mounts' specs (not a cache's content) belong to the step, as in BuildKit: in its history and cache key.
        var createdBy = string.Concat(mounts.Select(m => "--mount=" + m.Canonical() + " "))
            + (argEnv.Count > 0 ? $"|{argEnv.Count} {string.Join(' ', argEnv)} " : "") + string.Join(' ', argv);

        var key = CacheKey(st.ImageId, "RUN", createdBy, ConfigHash(st.Config));
        if (await TryCacheAsync(run, st, key, createdBy, st.Config) is { } hit)
        {
            await run.Out(" ---> Using cache\n");
            st.ImageId = hit.Id;
            return;
        }

        var image = await EnsureImageAsync(run, st);
        var network = inst.Flag("network") is { } n && n != "default" ? n : run.Options.NetworkMode;
        await using var prepared = await PrepareMountsAsync(run, stage, inst, mounts);
        await using var c = await containers.CreateAsync(new StepContainerSpec
        {
            ImageId = image,
            Cmd = argv,
            Env = [.. env, .. argEnv, .. proxyEnv],
            User = st.Config.User,
            WorkingDir = st.Config.WorkingDir,
            NetworkMode = network,
            Mounts = prepared.Mounts,
            Resources = run.Options.Resources,
        }, run.Ct);
        c.Remove = run.Options.Remove || run.Options.ForceRemove;
        var mountpoints = mounts.Count > 0 ? await MissingMountpointsAsync(c, mounts, run.Ct) : new Mountpoints([], []);
        await run.Out($" ---> Running in {c.Id[..12]}\n");
        var decoder = Encoding.UTF8.GetDecoder();
        int code = await c.RunAsync(async chunk =>
        {
            var chars = new char[decoder.GetCharCount(chunk.Span, flush: false)];
            decoder.GetChars(chunk.Span, chars, flush: false);
            if (chars.Length > 0) await run.Out(new string(chars));
        }, run.Ct);
        if (code != 0)
            throw new BuildFailedException($"The command '{string.Join(' ', argv)}' returned a non-zero code: {code}", code);
        await RemoveMountpointsAsync(c, mountpoints, run.Ct);
        var img = await c.CommitAsync(st.Config, createdBy, st.Author, run.Ct);
        cache?.Put(key, img.Id);
        st.ImageId = img.Id;
        if (c.Remove) await run.Out($"Removing intermediate container {c.Id[..12]}\n");
        else await run.Out($" ---> Kept intermediate container {c.Id[..12]}\n");
    }

    // ---- WORKDIR ----

    private async Task WorkdirAsync(Run run, State st, Instruction inst)
    {
        var dir = ShellWords.Expand(inst.Args.Trim(), Lookup(run, st), run.File.Escape);
        if (!dir.StartsWith('/')) dir = (st.Config.WorkingDir is { Length: > 0 } w ? w.TrimEnd('/') : "") + "/" + dir;
        dir = "/" + string.Join('/', RootPath.Clean(dir));
        var config = st.Config with { WorkingDir = dir };
        var createdBy = NopCreatedBy(st.Config, "WORKDIR " + dir);
        var key = CacheKey(st.ImageId, createdBy, ConfigHash(config));
        if (await TryCacheAsync(run, st, key, createdBy, config) is { } hit)
        {
            await run.Out(" ---> Using cache\n");
            (st.ImageId, st.Config) = (hit.Id, config);
            return;
        }
        // The directory is made in the image (owned by root), as dockerd does, so a later USER can still cd into it.
        var image = await EnsureImageAsync(run, st);
        await using var c = await containers.CreateAsync(new StepContainerSpec { ImageId = image, Cmd = ["/bin/sh"] }, run.Ct);
        bool created = false;
        using (var root = await c.MountAsync(run.Ct))
        {
            var host = RootPath.Resolve(root.Path, RootPath.Clean(dir));
            if (!Directory.Exists(host))
            {
                FileOps.MkdirAll(root.Path, RootPath.Clean(dir), 0, 0);
                created = true;
            }
        }
        var img = created ? await c.CommitAsync(config, createdBy, st.Author, run.Ct) : await images.CommitConfigAsync(st.ImageId, config, createdBy, st.Author, run.Ct);
        cache?.Put(key, img.Id);
        (st.ImageId, st.Config) = (img.Id, config);
    }
}
