namespace Berth.Core;

/// <summary>Points at a blob: what it is, where it is, how big it is (OCI image-spec descriptor).</summary>
public readonly record struct Descriptor(string MediaType, Digest Digest, long Size);
