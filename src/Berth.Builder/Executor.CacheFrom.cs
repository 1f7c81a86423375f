using Berth.Content;

namespace Berth.Builder;

public sealed partial class Executor
{
    /// <summary>
    /// A step's cached image: the local cache first, then <c>--cache-from</c> as the legacy builder does it. A
    /// cache-from image (S) stands in for the step when the parent's history and layers are a prefix of S's, and
    /// S's next history entry was made by the same instruction (<paramref name="createdBy"/>, which carries the
    /// copied files' checksums, the build args and the mounts); when that entry is S's last, S's config must also
    /// be the step's, and S is the step's image. Otherwise the step's image is the parent plus S's layer and history
    /// entry for that step, created when that entry was, so a rebuild from the same cache has the same IDs.
    /// </summary>
    private async Task<BuildImage?> TryCacheAsync(Run run, State st, string key, string createdBy, ContainerConfig config)
    {
        if (TryCache(run, key) is { } hit) return hit;
        if (run.Options.NoCache || run.Options.CacheFrom.Count == 0) return null;
        run.CacheFromImages ??= [.. run.Options.CacheFrom.Select(images.Find).OfType<BuildImage>()];
        if (run.CacheFromImages.Count == 0) return null;

        var parent = st.ImageId is null ? null : images.Find(st.ImageId);
        if (st.ImageId is not null && parent is null) return null;
        IReadOnlyList<HistoryEntry> ph = parent?.Config.History ?? [];
        IReadOnlyList<string> pd = parent?.Config.RootFs.DiffIds ?? [];
        foreach (var s in run.CacheFromImages)
        {
            IReadOnlyList<HistoryEntry> sh = s.Config.History ?? [];
            var sd = s.Config.RootFs.DiffIds;
            int k = ph.Count;
            if (sh.Count <= k || sd.Count < pd.Count) continue;
            if (!pd.SequenceEqual(sd.Take(pd.Count), StringComparer.Ordinal)) continue;
            if (!ph.Zip(sh).All(p => SameEntry(p.First, p.Second))) continue;
            if (sh.Take(k).Count(e => e.EmptyLayer != true) != pd.Count) continue;
            var h = sh[k];
            if (h.CreatedBy != createdBy) continue;
            if (h.EmptyLayer != true && sd.Count <= pd.Count) continue;
            BuildImage img;
            if (k == sh.Count - 1)
            {
                // S's last entry: S itself is the step's image (as dockerd: the same ID as the image cached from).
                if (ConfigHash(s.Config.Config ?? new ContainerConfig()) != ConfigHash(config)) continue;
                img = s;
            }
            else
            {
                img = await images.CommitFromHistoryAsync(st.ImageId, s.Id, k, config, run.Ct);
            }
            cache?.Put(key, img.Id);
            return img;
        }
        return null;
    }

    private static bool SameEntry(HistoryEntry a, HistoryEntry b) =>
        a.CreatedBy == b.CreatedBy && (a.EmptyLayer == true) == (b.EmptyLayer == true) && (a.Comment ?? "") == (b.Comment ?? "");
}
