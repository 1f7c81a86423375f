using Docker.DotNet;
using Docker.DotNet.Models;

namespace Berth.Integration.Tests;

/// <summary>
/// Docker.DotNet (the client under Testcontainers for .NET) reads every answer it asks for into its typed models,
/// which fail on a JSON null where Docker sends a number or a boolean: each listing and inspect of a live daemon with a
/// running container, a user network, a volume and a built image goes through them.
/// </summary>
public sealed class DockerDotNetTests(DaemonFixture d) : IClassFixture<DaemonFixture>
{
    [Fact]
    public async Task EveryListingAndInspectReadsIntoItsModels()
    {
        using var client = new DockerClientBuilder().WithEndpoint(new Uri($"unix://{d.Socket}")).Build();
        string name = "dn" + d.Tag, net = "dnnet" + d.Tag, vol = "dnvol" + d.Tag, image = "dnimg" + d.Tag;
        try
        {
            Assert.Equal(0, (await d.DockerAsync("network", "create", net)).ExitCode);
            Assert.Equal(0, (await d.DockerAsync("volume", "create", vol)).ExitCode);
            var run = await d.DockerAsync("run", "-d", "--name", name, "--network", net, "-v", $"{vol}:/data", "-p", "127.0.0.1::80",
                "--health-cmd", "true", "--health-interval", "300ms", "busybox", "sh", "-c", "echo started; sleep 300");
            Assert.True(run.ExitCode == 0, run.ToString());
            var dir = d.NewContext(("Dockerfile", "FROM busybox\nRUN echo x > /x\nLABEL dn=1\n"));
            Assert.Equal(0, (await d.DockerBuildAsync(dir, "-t", image)).ExitCode);
            await DockerCliTests.PollAsync(() => d.DockerAsync("inspect", "-f", "{{.State.Health.Status}}", name), r => r.Stdout.Trim() == "healthy", 100);

            var version = await client.System.GetVersionAsync();
            Assert.False(string.IsNullOrEmpty(version.APIVersion));
            var info = await client.System.GetSystemInfoAsync();
            Assert.True(info.ContainersRunning >= 1);
            await client.System.PingAsync();

            var containers = await client.Containers.ListContainersAsync(new ContainersListParameters { All = true, Size = true });
            var listed = Assert.Single(containers, c => c.Names.Contains("/" + name));
            Assert.Contains(listed.Ports, p => p.PrivatePort == 80 && p.PublicPort > 0);
            var inspect = await client.Containers.InspectContainerAsync(name);
            Assert.True(inspect.State!.Running);
            Assert.Equal("healthy", inspect.State.Health!.Status);
            Assert.True(inspect.NetworkSettings!.Networks!.ContainsKey(net));
            Assert.Contains(inspect.Mounts, m => m.Name == vol);
            var top = await client.Containers.ListProcessesAsync(name, new ContainerListProcessesParameters());
            Assert.NotEmpty(top.Processes);
            var changes = await client.Containers.InspectChangesAsync(name);
            Assert.NotNull(changes);
            var stats = new LastOf<ContainerStatsResponse>();
            await client.Containers.GetContainerStatsAsync(name, new ContainerStatsParameters { Stream = false }, stats);
            Assert.True(stats.Value!.MemoryStats!.Usage > 0);

            var exec = await client.Exec.CreateContainerExecAsync(name, new ContainerExecCreateParameters { Cmd = ["true"] });
            Assert.False(string.IsNullOrEmpty(exec.ID));
            Assert.False((await client.Exec.InspectContainerExecAsync(exec.ID)).Running);

            var images = await client.Images.ListImagesAsync(new ImagesListParameters { All = true });
            Assert.Contains(images, i => i.RepoTags?.Contains($"{image}:latest") == true);
            var img = await client.Images.InspectImageAsync(image);
            Assert.Equal("1", img.Config!.Labels!["dn"]);
            var history = await client.Images.GetImageHistoryAsync(image);
            Assert.True(history.Count >= 3);

            var networks = await client.Networks.ListNetworksAsync(new NetworksListParameters());
            Assert.Contains(networks, n => n.Name == net);
            var network = await client.Networks.InspectNetworkAsync(net);
            Assert.Single(network.Containers);
            var volumes = await client.Volumes.ListAsync(new VolumesListParameters());
            Assert.Contains(volumes.Volumes, v => v.Name == vol);
            Assert.Equal(vol, (await client.Volumes.InspectAsync(vol)).Name);
            Assert.NotNull(await client.System.GetDataUsageInfoAsync(new SytemDataUsageInfoParameters()));
        }
        finally
        {
            await d.DockerAsync("rm", "-f", name);
            await d.DockerAsync("network", "rm", net);
            await d.DockerAsync("volume", "rm", vol);
            await d.DockerAsync("rmi", image);
        }
    }

    /// <summary>Keeps the last report, synchronously (Progress&lt;T&gt; posts its reports later).</summary>
    private sealed class LastOf<T> : IProgress<T>
    {
        public T? Value { get; private set; }
        public void Report(T value) => Value = value;
    }
}
