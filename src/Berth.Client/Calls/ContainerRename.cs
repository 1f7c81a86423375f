namespace Berth.Client;

public sealed record ContainerRenameOptions
{
    public required string NewName { get; init; }
}

public sealed record ContainerRenameResult;

public sealed partial class BerthClient
{
    public async Task<ContainerRenameResult> ContainerRenameAsync(string id, ContainerRenameOptions options, CancellationToken ct = default)
    {
        await SendAndDiscardAsync(HttpMethod.Post, $"/containers/{Escape(id)}/rename", new Query().Add("name", options.NewName), null, ct).ConfigureAwait(false);
        return new ContainerRenameResult();
    }
}
