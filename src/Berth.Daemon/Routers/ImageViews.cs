using Berth.Api;
using Berth.Daemon.Containers;
using Berth.Daemon.Http;
using Berth.Images;

namespace Berth.Daemon.Routers;

/// <summary>Translates image records into the API's list, inspect and history shapes.</summary>
internal static class ImageViews
{
    public static List<ImageSummary> List(ImageStore images, Filters f, bool all, Func<string, int> containerCount)
    {
        var dangling = f.Get("dangling").FirstOrDefault();
        if (dangling is not (null or "true" or "false" or "1" or "0"))
            throw Core.BerthException.Invalid($"invalid filter 'dangling={dangling}'");
        var before = f.Get("before").Select(x => Reference(images, x).Created).FirstOrDefault();
        var since = f.Get("since").Select(x => Reference(images, x).Created).FirstOrDefault();
        var until = f.Get("until").Select(x => TimeParam.Parse(x)).FirstOrDefault();
        return images.List()
            // As dockerd: an untagged image with children is the builder's intermediate image, shown only with all=1
            // and never dangling; dangling images are the untagged ones nothing was made on.
            .Where(i => all || !i.IsIntermediate)
            .Where(i => dangling switch
            {
                null => true,
                "true" or "1" => i.RepoTags.Count == 0 && !i.HasChildren,
                _ => i.RepoTags.Count > 0 || i.RepoDigests.Count > 0,
            })
            .Where(i => !f.Has("reference") || f.Get("reference").Any(r => i.RepoTags.Any(t => ReferenceMatches(t, r))))
            .Where(i => ContainerFilter.LabelsMatch(i.Labels, f.Get("label")))
            .Where(i => before is null || i.Created < before)
            .Where(i => since is null || i.Created > since)
            .Where(i => until is null || i.Created < until)
            .OrderByDescending(i => i.Created)
            .Select(i => new ImageSummary
            {
                Id = i.Id,
                ParentId = i.Parent ?? "",
                // Like dockerd, a reference filter also narrows the tags shown to the ones it matched.
                RepoTags = f.Has("reference") ? i.RepoTags.Where(t => f.Get("reference").Any(r => ReferenceMatches(t, r))).ToList() : i.RepoTags,
                RepoDigests = i.RepoDigests,
                Created = i.Created?.ToUnixTimeSeconds() ?? 0,
                Size = i.Size,
                Labels = i.Labels.ToDictionary(),
                Containers = containerCount(i.Id),
            })
            .ToList();
    }

    private static ImageRecord Reference(ImageStore images, string name) =>
        images.Resolve(name) ?? throw Core.BerthException.NotFound($"No such image: {name}");

    /// <summary>Docker's reference filter: a glob on the familiar name, with or without the tag.</summary>
    private static bool ReferenceMatches(string repoTag, string pattern)
    {
        var repo = repoTag[..repoTag.LastIndexOf(':')];
        return Glob(repoTag, pattern) || Glob(repo, pattern);
    }

    private static bool Glob(string s, string pattern)
    {
        var rx = "^" + System.Text.RegularExpressions.Regex.Escape(pattern).Replace("\\*", "[^/]*").Replace("\\?", "[^/]") + "$";
        return System.Text.RegularExpressions.Regex.IsMatch(s, rx);
    }

    /// <summary>Image inspect, in the shape of the API version asked for (<paramref name="version"/>).</summary>
    public static ImageInspectResponse Inspect(ImageStore images, ImageRecord i, (int Major, int Minor) version)
    {
        var cfg = images.GetConfig(i);
        var c = cfg.Config;
        var comment = i.History.LastOrDefault()?.Comment ?? "";
        bool before150 = version.CompareTo((1, 50)) < 0;
        return new ImageInspectResponse
        {
            Id = i.Id,
            RepoTags = i.RepoTags,
            RepoDigests = i.RepoDigests,
            Comment = comment,
            Created = HumanTime.Rfc3339(cfg.Created ?? i.Created),
            Author = cfg.Author ?? "",
            Config = new Api.ImageConfig
            {
                User = c?.User ?? "",
                Env = c?.Env,
                Cmd = c?.Cmd,
                Entrypoint = c?.Entrypoint,
                WorkingDir = c?.WorkingDir ?? "",
                Labels = c?.Labels?.ToDictionary(),
                StopSignal = c?.StopSignal,
                ExposedPorts = c?.ExposedPorts?.ToDictionary(kv => kv.Key, _ => new EmptyObject()),
                Volumes = c?.Volumes?.ToDictionary(kv => kv.Key, _ => new EmptyObject()),
                OnBuild = c?.OnBuild,
                Shell = c?.Shell,
                ArgsEscaped = c?.ArgsEscaped is true ? true : null,
                Healthcheck = HealthRules.Merge(null, c?.Healthcheck),
                // What dockerd still wrote, empty, before API 1.50.
                Hostname = before150 ? "" : null,
                Domainname = before150 ? "" : null,
                Image = before150 ? "" : null,
                AttachStdin = before150 ? false : null,
                AttachStdout = before150 ? false : null,
                AttachStderr = before150 ? false : null,
                Tty = before150 ? false : null,
                OpenStdin = before150 ? false : null,
                StdinOnce = before150 ? false : null,
            },
            Architecture = cfg.Architecture,
            Variant = cfg.Variant,
            Os = cfg.Os,
            Size = i.Size,
            VirtualSize = version.CompareTo((1, 44)) < 0 ? i.Size : null,
            Parent = i.Parent ?? "",
            GraphDriver = new DriverData { Name = "overlay2", Data = new() },
            RootFS = new RootFs { Type = "layers", Layers = i.Layers.Select(l => l.ToString()).ToList() },
            Metadata = new ImageMetadata { LastTagTime = i.LastTagTime is { } t ? HumanTime.Rfc3339(t) : null },
        };
    }

    public static List<ImageHistoryItem> History(ImageStore images, ImageRecord i)
    {
        var result = new List<ImageHistoryItem>();
        int layer = i.LayerSizes.Count - 1;
        var history = i.History.Count > 0 ? i.History : [new Content.HistoryEntry()];
        // As dockerd: the newest entries are named by the image and then its local parents, one entry each, as long
        // as the chain goes; older entries (pulled, loaded) are <missing>.
        ImageRecord? named = i;
        for (int h = history.Count - 1; h >= 0; h--)
        {
            var e = history[h];
            long size = 0;
            if (e.EmptyLayer != true && layer >= 0) size = i.LayerSizes[layer--];
            result.Add(new ImageHistoryItem
            {
                Id = named?.Id ?? "<missing>",
                Created = e.Created?.ToUnixTimeSeconds() ?? i.Created?.ToUnixTimeSeconds() ?? 0,
                CreatedBy = e.CreatedBy ?? "",
                Tags = named is { RepoTags.Count: > 0 } ? named.RepoTags : null,
                Size = size,
                Comment = e.Comment ?? "",
            });
            named = named?.Parent is { } parent ? images.Resolve(parent) : null;
        }
        return result;
    }
}
