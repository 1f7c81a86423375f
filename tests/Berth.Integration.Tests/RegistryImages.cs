using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Berth.Integration.Tests;

/// <summary>Images for the registry tests (pull, push, builds that pull): made here, never fetched from outside.</summary>
internal static class RegistryImages
{
    /// <summary>An image made here by commit (a /marker file and no /etc/group), so it has a layer no registry has seen.</summary>
    public static async Task<string> CommitImageAsync(this DaemonFixture d, string name, string marker, string? extraCommand = null)
    {
        var c = "src" + Guid.NewGuid().ToString("N")[..8];
        foreach (var args in new[]
        {
            new[] { "run", "--name", c, "busybox", "sh", "-c", $"echo {marker} > /marker && rm /etc/group{(extraCommand is null ? "" : " && " + extraCommand)}" },
            ["commit", c, name],
            ["rm", c],
        })
        {
            var r = await d.DockerAsync(args);
            Assert.True(r.ExitCode == 0, $"docker {string.Join(' ', args)}: {r}");
        }
        return name;
    }

    /// <summary>The two-platform layout (below) written to <paramref name="layout"/> and pushed as <paramref name="target"/> with skopeo.</summary>
    public static async Task PushTwoPlatformIndexAsync(this DaemonFixture d, string layout, string target)
    {
        await d.WriteTwoPlatformLayoutAsync(layout);
        var copy = await d.RunAsync("skopeo", ["copy", "--all", "--dest-tls-verify=false", $"oci:{layout}:multi", $"docker://{target}"], null);
        Assert.True(copy.ExitCode == 0, copy.ToString());
    }

    /// <summary>
    /// An OCI layout with an index of two image manifests (linux/amd64 and linux/arm64) that share the busybox layer and
    /// differ in their configs; index-blob.json holds the index as pushed (what skopeo --all sends).
    /// </summary>
    public static async Task WriteTwoPlatformLayoutAsync(this DaemonFixture d, string layout)
    {
        var blobs = Path.Combine(layout, "blobs", "sha256");
        Directory.CreateDirectory(blobs);
        string Write(byte[] bytes)
        {
            var hex = Convert.ToHexStringLower(SHA256.HashData(bytes));
            File.WriteAllBytes(Path.Combine(blobs, hex), bytes);
            return "sha256:" + hex;
        }
        var tar = await d.ShellAsync($"{d.RepoRoot}/scripts/mkbusybox.sh > {layout}/rootfs.tar");
        Assert.Equal(0, tar.ExitCode);
        var tarBytes = await File.ReadAllBytesAsync(Path.Combine(layout, "rootfs.tar"));
        File.Delete(Path.Combine(layout, "rootfs.tar"));
        var diffId = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(tarBytes));
        using var gz = new MemoryStream();
        using (var z = new GZipStream(gz, CompressionLevel.Fastest, leaveOpen: true)) z.Write(tarBytes);
        var layer = gz.ToArray();
        var layerDigest = Write(layer);
        var manifests = new JsonArray();
        foreach (var arch in new[] { "amd64", "arm64" })
        {
            var config = Encoding.UTF8.GetBytes(new JsonObject
            {
                ["architecture"] = arch,
                ["os"] = "linux",
                ["config"] = new JsonObject { ["Cmd"] = new JsonArray("sh"), ["Labels"] = new JsonObject { ["which"] = $"{arch}-image" } },
                ["rootfs"] = new JsonObject { ["type"] = "layers", ["diff_ids"] = new JsonArray(diffId) },
            }.ToJsonString());
            var manifest = Encoding.UTF8.GetBytes(new JsonObject
            {
                ["schemaVersion"] = 2,
                ["mediaType"] = "application/vnd.oci.image.manifest.v1+json",
                ["config"] = new JsonObject { ["mediaType"] = "application/vnd.oci.image.config.v1+json", ["digest"] = Write(config), ["size"] = config.Length },
                ["layers"] = new JsonArray(new JsonObject { ["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip", ["digest"] = layerDigest, ["size"] = layer.Length }),
            }.ToJsonString());
            manifests.Add((JsonNode)new JsonObject
            {
                ["mediaType"] = "application/vnd.oci.image.manifest.v1+json",
                ["digest"] = Write(manifest),
                ["size"] = manifest.Length,
                ["platform"] = new JsonObject { ["architecture"] = arch, ["os"] = "linux" },
            });
        }
        var index = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = "application/vnd.oci.image.index.v1+json",
            ["manifests"] = manifests,
        }.ToJsonString());
        var indexDigest = Write(index);
        await File.WriteAllBytesAsync(Path.Combine(layout, "index-blob.json"), index);
        await File.WriteAllTextAsync(Path.Combine(layout, "oci-layout"), """{"imageLayoutVersion":"1.0.0"}""");
        await File.WriteAllTextAsync(Path.Combine(layout, "index.json"), new JsonObject
        {
            ["schemaVersion"] = 2,
            ["manifests"] = new JsonArray(new JsonObject
            {
                ["mediaType"] = "application/vnd.oci.image.index.v1+json",
                ["digest"] = indexDigest,
                ["size"] = index.Length,
                ["annotations"] = new JsonObject { ["org.opencontainers.image.ref.name"] = "multi" },
            }),
        }.ToJsonString());
    }
}
