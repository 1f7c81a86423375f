using Berth.Api;
using Berth.Daemon.Containers;
using ImageConfig = Berth.Content.ContainerConfig;
using ImageEmpty = Berth.Content.EmptyObject;

namespace Berth.Daemon.Tests;

public sealed class MergeTests
{
    private const string DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    private static readonly ImageConfig Image = new()
    {
        User = "app",
        Env = ["PATH=/opt/bin:/usr/bin", "LANG=C.UTF-8", "MODE=prod"],
        Entrypoint = ["/docker-entrypoint.sh"],
        Cmd = ["serve", "--port", "80"],
        WorkingDir = "/srv",
        Labels = new Dictionary<string, string> { ["maintainer"] = "img", ["tier"] = "image" },
        ExposedPorts = new Dictionary<string, ImageEmpty> { ["80/tcp"] = ImageEmpty.Instance },
        Volumes = new Dictionary<string, ImageEmpty> { ["/var/cache"] = ImageEmpty.Instance },
        StopSignal = "SIGQUIT",
        OnBuild = ["RUN echo child"],
    };

    [Fact]
    public void EmptyRequest_TakesEverythingFromImage()
    {
        var m = ContainerValidation.Merge(new ContainerConfig { Image = "x" }, Image);
        Assert.Equal(["PATH=/opt/bin:/usr/bin", "LANG=C.UTF-8", "MODE=prod"], m.Env);
        Assert.Equal(["/docker-entrypoint.sh"], m.Entrypoint);
        Assert.Equal(["serve", "--port", "80"], m.Cmd);
        Assert.Equal("/srv", m.WorkingDir);
        Assert.Equal("app", m.User);
        Assert.Equal("SIGQUIT", m.StopSignal);
        Assert.Equal(new Dictionary<string, string> { ["maintainer"] = "img", ["tier"] = "image" }, m.Labels);
        Assert.Equal(["80/tcp"], m.ExposedPorts!.Keys);
        Assert.Equal(["/var/cache"], m.Volumes!.Keys);
        Assert.Null(m.OnBuild); // ONBUILD triggers belong to builds, not to containers
        Assert.Equal("x", m.Image);
    }

    [Fact]
    public void RequestValues_WinOverImage()
    {
        var req = new ContainerConfig
        {
            User = "1000:1000",
            WorkingDir = "/work",
            StopSignal = "SIGTERM",
            Labels = new Dictionary<string, string> { ["tier"] = "user", ["extra"] = "1" },
        };
        var m = ContainerValidation.Merge(req, Image);
        Assert.Equal("1000:1000", m.User);
        Assert.Equal("/work", m.WorkingDir);
        Assert.Equal("SIGTERM", m.StopSignal);
        Assert.Equal(new Dictionary<string, string> { ["maintainer"] = "img", ["tier"] = "user", ["extra"] = "1" }, m.Labels);
    }

    [Fact]
    public void Env_RequestOverridesSameKey_KeepsOthers_NoDuplicates()
    {
        var m = ContainerValidation.Merge(new ContainerConfig { Env = ["MODE=dev", "NEW=1", "LANG"] }, Image);
        var env = m.Env!;
        Assert.Equal(env.Count, env.Select(e => e.Split('=', 2)[0]).Distinct().Count());
        Assert.Contains("MODE=dev", env);
        Assert.Contains("NEW=1", env);
        Assert.Contains("PATH=/opt/bin:/usr/bin", env);
        Assert.DoesNotContain("MODE=prod", env);
        // A bare key from `-e LANG` replaces the image's LANG=... as in Docker (the CLI resolves it client-side).
        Assert.Contains("LANG", env);
        Assert.DoesNotContain("LANG=C.UTF-8", env);
        Assert.Equal(4, env.Count); // PATH, MODE, NEW, LANG
    }

    [Fact]
    public void Env_Order_IsDockers_RequestFirstThenImageOnlyKeys()
    {
        // moby daemon/commit.go merge(): userConf.Env as given, then each image var whose key the user did not set.
        var m = ContainerValidation.Merge(new ContainerConfig { Env = ["MODE=dev", "NEW=1"] }, Image);
        Assert.Equal(["MODE=dev", "NEW=1", "PATH=/opt/bin:/usr/bin", "LANG=C.UTF-8"], m.Env);
    }

    [Fact]
    public void Path_AddedWhenImageHasNone()
    {
        var m = ContainerValidation.Merge(new ContainerConfig { Env = ["A=1"] }, new ImageConfig { Cmd = ["sh"] });
        Assert.Equal(DefaultPath, m.Env![0]);
        Assert.Contains("A=1", m.Env);
        Assert.Equal(2, m.Env.Count);
    }

    [Fact]
    public void Path_AddedWithoutImageConfig_AndRequestPassedThrough()
    {
        var req = new ContainerConfig { Cmd = ["sh"], Entrypoint = ["/init"], User = "u" };
        var m = ContainerValidation.Merge(req, null);
        Assert.Equal([DefaultPath], m.Env);
        Assert.Equal(["sh"], m.Cmd);
        Assert.Equal(["/init"], m.Entrypoint);
        Assert.Equal("u", m.User);
    }

    [Fact]
    public void Path_FromRequest_IsNotDuplicated()
    {
        var m = ContainerValidation.Merge(new ContainerConfig { Env = ["PATH=/mine"] }, new ImageConfig());
        Assert.Equal(["PATH=/mine"], m.Env);
    }

    [Fact]
    public void Cmd_FromRequest_KeepsImageEntrypoint()
    {
        var m = ContainerValidation.Merge(new ContainerConfig { Cmd = ["version"] }, Image);
        Assert.Equal(["/docker-entrypoint.sh"], m.Entrypoint);
        Assert.Equal(["version"], m.Cmd);
    }

    [Fact]
    public void Entrypoint_FromRequest_DropsImageCmd()
    {
        // Docker: "Passing --entrypoint will clear out any default command set on the image."
        var m = ContainerValidation.Merge(new ContainerConfig { Entrypoint = ["/bin/sh"] }, Image);
        Assert.Equal(["/bin/sh"], m.Entrypoint);
        Assert.True(m.Cmd is null || m.Cmd.Count == 0);
    }

    [Fact]
    public void Entrypoint_AndCmd_FromRequest()
    {
        var m = ContainerValidation.Merge(new ContainerConfig { Entrypoint = ["/bin/sh"], Cmd = ["-c", "true"] }, Image);
        Assert.Equal(["/bin/sh"], m.Entrypoint);
        Assert.Equal(["-c", "true"], m.Cmd);
    }

    [Fact]
    public void EmptyStringEntrypoint_ResetsImageEntrypoint_KeepsRequestCmd()
    {
        // `docker run --entrypoint "" img sh` sends Entrypoint [""].
        var m = ContainerValidation.Merge(new ContainerConfig { Entrypoint = [""], Cmd = ["sh"] }, Image);
        Assert.True(m.Entrypoint is null || m.Entrypoint.Count == 0);
        Assert.Equal(["sh"], m.Cmd);
    }

    [Fact]
    public void EmptyStringEntrypoint_WithoutCmd_NeverRunsImageEntrypoint()
    {
        var m = ContainerValidation.Merge(new ContainerConfig { Entrypoint = [""] }, Image);
        Assert.True(m.Entrypoint is null || m.Entrypoint.Count == 0);
        Assert.DoesNotContain("/docker-entrypoint.sh", m.Entrypoint ?? []);
    }

    [Fact]
    public void ExposedPorts_AndVolumes_AreUnions()
    {
        var req = new ContainerConfig
        {
            ExposedPorts = new Dictionary<string, EmptyObject> { ["443/tcp"] = new() },
            Volumes = new Dictionary<string, EmptyObject> { ["/data"] = new() },
        };
        var m = ContainerValidation.Merge(req, Image);
        Assert.Equal(["443/tcp", "80/tcp"], m.ExposedPorts!.Keys.Order());
        Assert.Equal(["/data", "/var/cache"], m.Volumes!.Keys.Order());
    }

    [Fact]
    public void NoPortsOrVolumesAnywhere_StayNull()
    {
        var m = ContainerValidation.Merge(new ContainerConfig(), new ImageConfig { Cmd = ["sh"] });
        Assert.Null(m.ExposedPorts);
        Assert.Null(m.Volumes);
    }

    [Fact]
    public void Merge_DoesNotMutateRequestDictionaries()
    {
        var ports = new Dictionary<string, EmptyObject> { ["443/tcp"] = new() };
        var labels = new Dictionary<string, string> { ["a"] = "1" };
        ContainerValidation.Merge(new ContainerConfig { ExposedPorts = ports, Labels = labels }, Image);
        Assert.Equal(["443/tcp"], ports.Keys);
        Assert.Equal(["a"], labels.Keys);
    }
}
