using Berth.Images;

namespace Berth.Daemon.Events;

/// <summary>The image events of a tag, a delete or a prune, in dockerd's terms (an untag per name, a delete per image).</summary>
internal static class ImageEvents
{
    /// <summary><c>tag</c>: the name as docker shows it, with the default tag filled in ("busybox:latest").</summary>
    public static void Tagged(EventBus bus, ImageRecord image, string reference)
    {
        var r = ImageReference.ParseNormalized(reference);
        if (r.Tag is null && r.Digest is null) r = r.WithTag(ImageReference.DefaultTag);
        bus.Image("tag", image.Id, r.FamiliarString, image.Labels);
    }

    /// <summary>
    /// One <c>untag</c> per name removed and one <c>delete</c> per image removed. <paramref name="before"/> is the image
    /// list taken before the removal: the delete results name tags and IDs, and the events need which image each was.
    /// </summary>
    public static void Removed(EventBus bus, IReadOnlyList<ImageRecord> before, IEnumerable<ImageDeleteItem> items)
    {
        var byId = before.ToDictionary(i => i.Id, StringComparer.Ordinal);
        var byTag = new Dictionary<string, ImageRecord>(StringComparer.Ordinal);
        foreach (var img in before)
            foreach (var t in img.RepoTags) byTag[t] = img;
        foreach (var item in items)
        {
            if (item.Kind == ImageDeleteItem.Untagged)
            {
                if (byTag.TryGetValue(item.Value, out var img) || byTag.TryGetValue(item.Value + ":" + ImageReference.DefaultTag, out img))
                    bus.Image("untag", img.Id, img.Id, img.Labels);
            }
            else if (byId.TryGetValue(item.Value, out var img))
            {
                // The image is gone when dockerd logs its delete, so the event carries no labels.
                bus.Image("delete", img.Id, img.Id);
            }
        }
    }
}
