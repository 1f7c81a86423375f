using System.IO.Compression;
using System.Text;
using Berth.Core;

namespace Berth.Content.Tests;

public sealed class CompressionAndModelTests
{
    [Fact]
    public void Decompress_DetectsGzipAndPlain()
    {
        var tar = new TestTar().File("a", "x").Build();
        var gz = new MemoryStream();
        using (var z = new GZipStream(gz, CompressionLevel.Fastest, leaveOpen: true)) z.Write(tar);

        Assert.Equal(LayerCompression.Gzip, Compression.Detect(new MemoryStream(gz.ToArray())).Compression);
        using var plain = new MemoryStream();
        Compression.Decompress(new MemoryStream(gz.ToArray())).CopyTo(plain);
        Assert.Equal(tar, plain.ToArray());

        using var same = new MemoryStream();
        Compression.Decompress(new MemoryStream(tar)).CopyTo(same);
        Assert.Equal(tar, same.ToArray());
    }

    [Fact]
    public void Decompress_Zstd_YieldsTheContent()
    {
        using var packed = new MemoryStream();
        using (var z = Compression.CompressTo(packed, LayerCompression.Zstd)) z.Write("layer bytes"u8);
        packed.Position = 0;
        using var r = new StreamReader(Compression.Decompress(packed));
        Assert.Equal("layer bytes", r.ReadToEnd());
    }

    /// <summary>The bytes of <paramref name="data"/> through the host's <paramref name="tool"/> (xz or bzip2).</summary>
    private static byte[] Through(string tool, byte[] data)
    {
        var psi = new System.Diagnostics.ProcessStartInfo(tool, "-c") { RedirectStandardInput = true, RedirectStandardOutput = true };
        using var p = System.Diagnostics.Process.Start(psi)!;
        var output = new MemoryStream();
        var reading = p.StandardOutput.BaseStream.CopyToAsync(output);
        p.StandardInput.BaseStream.Write(data);
        p.StandardInput.Close();
        reading.Wait(TimeSpan.FromSeconds(30));
        Assert.True(p.WaitForExit(30_000));
        return output.ToArray();
    }

    [Theory]
    [InlineData("xz")]
    [InlineData("bzip2")]
    public async Task Decompress_XzAndBzip2_AsDockerdReadsThem_AndABrokenOneIsInvalidData(string tool)
    {
        var tar = new TestTar().File("a", new string('x', 100_000)).Build();
        var packed = Through(tool, tar);
        using (var plain = new MemoryStream())
        {
            Compression.Decompress(new MemoryStream(packed)).CopyTo(plain);
            Assert.Equal(tar, plain.ToArray());
        }
        using (var plain = new MemoryStream())
        {
            await using var s = await Compression.DecompressAsync(new MemoryStream(packed), CancellationToken.None);
            await s.CopyToAsync(plain);
            Assert.Equal(tar, plain.ToArray());
        }
        var broken = packed.ToArray();
        for (int i = 20; i < broken.Length - 20; i++) broken[i] ^= 0x5a;
        Assert.ThrowsAny<Exception>(() => Compression.Decompress(new MemoryStream(broken)).CopyTo(Stream.Null));
        var e = Record.Exception(() => Compression.Decompress(new MemoryStream(broken)).CopyTo(Stream.Null));
        Assert.True(e is InvalidDataException or EndOfStreamException, e?.ToString());
    }

    [Fact]
    public void ImageConfig_UsesDockerJsonNames()
    {
        var cfg = new ImageConfig
        {
            Created = new DateTimeOffset(2024, 5, 6, 7, 8, 9, TimeSpan.Zero),
            Architecture = "amd64",
            Os = "linux",
            Config = new ContainerConfig
            {
                User = "nobody",
                Env = ["PATH=/bin"],
                Cmd = ["sh"],
                ExposedPorts = new Dictionary<string, EmptyObject> { ["80/tcp"] = EmptyObject.Instance },
            },
            RootFs = new RootFs { DiffIds = [Digest.FromBytes("x"u8).ToString()] },
            History = [new HistoryEntry { CreatedBy = "test", EmptyLayer = true }],
        };
        var json = Encoding.UTF8.GetString(cfg.ToJsonBytes());
        Assert.Contains("\"created\":\"2024-05-06T07:08:09Z\"", json);
        Assert.Contains("\"config\":{\"User\":\"nobody\",\"ExposedPorts\":{\"80/tcp\":{}},\"Env\":[\"PATH=/bin\"]", json);
        Assert.Contains("\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:", json);
        Assert.Contains("\"history\":[{\"created_by\":\"test\",\"empty_layer\":true}]", json);
        Assert.DoesNotContain("null", json);

        var back = ImageConfig.Parse(Encoding.UTF8.GetBytes(json));
        Assert.Equal(cfg.Created, back.Created);
        Assert.Equal("nobody", back.Config!.User);
        Assert.Equal(["sh"], back.Config.Cmd!);
        Assert.Equal(cfg.RootFs.DiffIds, back.RootFs.DiffIds);
    }

    [Fact]
    public void ImageConfig_ParsesRealDockerJson()
    {
        const string json = """
            {"architecture":"amd64","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"],"WorkingDir":"/","Labels":null,"OnBuild":null,"ArgsEscaped":true},"created":"2024-09-26T21:31:42.123456789+02:00","history":[{"created":"2024-09-26T21:31:42Z","created_by":"BusyBox 1.37.0 (glibc), Debian 13"}],"os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:e14542cc062958c3bfada9c260a6ae47bb2906fd8b514999774760710dbce3cb"]}}
            """;
        var cfg = ImageConfig.Parse(Encoding.UTF8.GetBytes(json));
        Assert.Equal(new DateTimeOffset(2024, 9, 26, 19, 31, 42, TimeSpan.Zero), cfg.Created!.Value.AddTicks(-(cfg.Created.Value.Ticks % TimeSpan.TicksPerSecond)));
        Assert.Equal("/", cfg.Config!.WorkingDir);
        Assert.Single(cfg.RootFs.DiffIds);

        var bad = Assert.Throws<BerthException>(() => ImageConfig.Parse("{\"rootfs\":5}"u8));
        Assert.Equal(ErrorKind.InvalidArgument, bad.Kind);
    }

    [Fact]
    public void Manifest_RoundTrips()
    {
        var m = new ImageManifest
        {
            Config = OciDescriptor.From(new Descriptor(MediaTypes.OciConfig, Digest.FromBytes("c"u8), 1)),
            Layers = [OciDescriptor.From(new Descriptor(MediaTypes.OciLayer, Digest.FromBytes("l"u8), 2))],
        };
        var json = Encoding.UTF8.GetString(m.ToJsonBytes());
        Assert.StartsWith("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{", json);
        var back = ImageManifest.Parse(Encoding.UTF8.GetBytes(json));
        Assert.Equal(m.Layers[0].ToDescriptor(), back.Layers[0].ToDescriptor());
    }
}
