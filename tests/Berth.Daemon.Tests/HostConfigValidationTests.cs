using Berth.Api;
using Berth.Core;
using Berth.Daemon.Containers;

namespace Berth.Daemon.Tests;

public sealed class HostConfigValidationTests
{
    private static BerthException Invalid(HostConfig h)
    {
        var ex = Assert.Throws<BerthException>(() => ContainerValidation.ValidateHostConfig(h));
        Assert.Equal(ErrorKind.InvalidArgument, ex.Kind);
        return ex;
    }

    [Fact]
    public void Defaults_AreValid_WithNoWarnings()
    {
        Assert.Empty(ContainerValidation.ValidateHostConfig(new HostConfig()));
    }

    [Fact]
    public void TypicalConfig_IsValid()
    {
        var h = new HostConfig
        {
            Memory = 64 * 1024 * 1024,
            MemorySwap = 128 * 1024 * 1024,
            NanoCpus = 500_000_000,
            CpuShares = 512,
            PidsLimit = 100,
            NetworkMode = "bridge",
            RestartPolicy = new RestartPolicy { Name = "on-failure", MaximumRetryCount = 3 },
            LogConfig = new LogConfig { Type = "json-file", Config = new() { ["max-size"] = "10m", ["max-file"] = "3", ["compress"] = "true" } },
        };
        Assert.Empty(ContainerValidation.ValidateHostConfig(h));
    }

    [Fact]
    public void NegativeMemory_Rejected()
    {
        Assert.Contains("negative", Invalid(new HostConfig { Memory = -5 }).Message);
    }

    [Fact]
    public void MemoryBelow6MB_Rejected()
    {
        Assert.Equal("Minimum memory limit allowed is 6MB", Invalid(new HostConfig { Memory = 4 * 1024 * 1024 }).Message);
        ContainerValidation.ValidateHostConfig(new HostConfig { Memory = 6 * 1024 * 1024 });
    }

    [Fact]
    public void SwapBelowMemory_Rejected()
    {
        Invalid(new HostConfig { Memory = 64 * 1024 * 1024, MemorySwap = 32 * 1024 * 1024 });
        // -1 means unlimited swap.
        ContainerValidation.ValidateHostConfig(new HostConfig { Memory = 64 * 1024 * 1024, MemorySwap = -1 });
    }

    [Fact]
    public void CpusOutOfRange_Rejected()
    {
        Invalid(new HostConfig { NanoCpus = -1 });
        Invalid(new HostConfig { NanoCpus = (Environment.ProcessorCount + 1) * 1_000_000_000L });
    }

    [Fact]
    public void NegativeCpuShares_AndPidsBelowMinusOne_Rejected()
    {
        Invalid(new HostConfig { CpuShares = -1 });
        Invalid(new HostConfig { PidsLimit = -2 });
        ContainerValidation.ValidateHostConfig(new HostConfig { PidsLimit = -1 });
    }

    [Theory]
    [InlineData("no")]
    [InlineData("")]
    [InlineData("always")]
    [InlineData("unless-stopped")]
    [InlineData("on-failure")]
    public void RestartPolicy_KnownNames_Accepted(string name)
    {
        ContainerValidation.ValidateHostConfig(new HostConfig { RestartPolicy = new RestartPolicy { Name = name } });
    }

    [Theory]
    [InlineData("always")]
    [InlineData("unless-stopped")]
    [InlineData("no")]
    public void RestartPolicy_RetryCountWithoutOnFailure_Rejected(string name)
    {
        var ex = Invalid(new HostConfig { RestartPolicy = new RestartPolicy { Name = name, MaximumRetryCount = 2 } });
        Assert.Contains("maximum retry count can only be used with 'on-failure'", ex.Message);
    }

    [Fact]
    public void RestartPolicy_NegativeRetryCount_Rejected()
    {
        Invalid(new HostConfig { RestartPolicy = new RestartPolicy { Name = "on-failure", MaximumRetryCount = -1 } });
    }

    [Fact]
    public void RestartPolicy_UnknownName_Rejected()
    {
        var ex = Invalid(new HostConfig { RestartPolicy = new RestartPolicy { Name = "sometimes" } });
        Assert.Contains("unknown policy 'sometimes'", ex.Message);
    }

    [Theory]
    [InlineData("always")]
    [InlineData("unless-stopped")]
    [InlineData("on-failure")]
    public void AutoRemove_WithRestartPolicy_Rejected(string name)
    {
        var ex = Invalid(new HostConfig { AutoRemove = true, RestartPolicy = new RestartPolicy { Name = name } });
        Assert.Equal("can't create 'AutoRemove' container with restart policy", ex.Message);
    }

    [Fact]
    public void AutoRemove_WithNoRestart_Accepted()
    {
        ContainerValidation.ValidateHostConfig(new HostConfig { AutoRemove = true, RestartPolicy = new RestartPolicy { Name = "no" } });
        ContainerValidation.ValidateHostConfig(new HostConfig { AutoRemove = true });
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("default")]
    [InlineData("bridge")]
    [InlineData("host")]
    [InlineData("none")]
    public void NetworkMode_Builtin_Accepted(string? mode)
    {
        ContainerValidation.ValidateHostConfig(new HostConfig { NetworkMode = mode });
    }

    [Fact]
    public void NetworkMode_OtherName_IsLeftToTheNetworkCheck()
    {
        // A name may be a user-defined network: ContainerService checks it exists (UserNetworkTests covers "not found").
        Assert.Empty(ContainerValidation.ValidateHostConfig(new HostConfig { NetworkMode = "mynet" }));
    }

    [Fact]
    public void NetworkMode_Container_IsNotImplemented()
    {
        var ex = Assert.Throws<BerthException>(() => ContainerValidation.ValidateHostConfig(new HostConfig { NetworkMode = "container:abc" }));
        Assert.Equal(ErrorKind.NotImplemented, ex.Kind);
    }

    [Fact]
    public void LogDriver_OtherThanJsonFile_Rejected()
    {
        Assert.Contains("syslog", Invalid(new HostConfig { LogConfig = new LogConfig { Type = "syslog" } }).Message);
    }

    [Fact]
    public void LogOpt_UnknownKey_Rejected()
    {
        var ex = Invalid(new HostConfig { LogConfig = new LogConfig { Config = new() { ["max-sise"] = "1m" } } });
        Assert.Equal("unknown log opt 'max-sise' for json-file log driver", ex.Message);
    }

    [Theory]
    [InlineData("max-size", "ten")]
    [InlineData("max-size", "10x")]
    [InlineData("max-size", "")]
    [InlineData("max-file", "0")]
    [InlineData("max-file", "-1")]
    [InlineData("max-file", "many")]
    public void LogOpt_BadValue_Rejected(string key, string value)
    {
        Invalid(new HostConfig { LogConfig = new LogConfig { Config = new() { [key] = value } } });
    }

    [Fact]
    public void LogOpt_KnownKeys_Accepted()
    {
        var opts = new Dictionary<string, string> { ["max-size"] = "1g", ["max-file"] = "5", ["compress"] = "false", ["labels"] = "a,b", ["env"] = "X", ["tag"] = "{{.Name}}" };
        ContainerValidation.ValidateHostConfig(new HostConfig { LogConfig = new LogConfig { Type = "", Config = opts } });
    }
}
