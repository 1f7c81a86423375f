namespace Berth.Registry;

/// <summary>The error codes of the OCI Distribution Spec (and Docker's registry), each with its HTTP status.</summary>
internal static class ErrorCodes
{
    public const string BlobUnknown = "BLOB_UNKNOWN";
    public const string BlobUploadInvalid = "BLOB_UPLOAD_INVALID";
    public const string BlobUploadUnknown = "BLOB_UPLOAD_UNKNOWN";
    public const string DigestInvalid = "DIGEST_INVALID";
    public const string ManifestBlobUnknown = "MANIFEST_BLOB_UNKNOWN";
    public const string ManifestInvalid = "MANIFEST_INVALID";
    public const string ManifestUnknown = "MANIFEST_UNKNOWN";
    public const string NameInvalid = "NAME_INVALID";
    public const string NameUnknown = "NAME_UNKNOWN";
    public const string SizeInvalid = "SIZE_INVALID";
    public const string Unauthorized = "UNAUTHORIZED";
    public const string Denied = "DENIED";
    public const string Unsupported = "UNSUPPORTED";
    public const string TagInvalid = "TAG_INVALID";
    public const string RangeInvalid = "RANGE_INVALID";
    public const string PaginationNumberInvalid = "PAGINATION_NUMBER_INVALID";
    /// <summary>distribution's code for 503 (here: a request that took longer than the request timeout).</summary>
    public const string Unavailable = "UNAVAILABLE";
    /// <summary>distribution's code for errors without a more specific one.</summary>
    public const string Unknown = "UNKNOWN";
}

/// <summary>
/// An error the registry answers with <c>{"errors":[{"code","message","detail"}]}</c>. Thrown by storage and endpoints,
/// turned into a response in one place (<see cref="RegistryEndpoints"/>).
/// </summary>
internal sealed class RegistryException : Exception
{
    public RegistryException(int status, string code, string message, string? detail = null) : base(message)
    {
        Status = status;
        Code = code;
        Detail = detail;
    }

    public int Status { get; }
    public string Code { get; }
    public string? Detail { get; }

    /// <summary>Extra headers for the error reply (e.g. <c>Range</c> on a 416 for an out-of-order chunk).</summary>
    public IReadOnlyDictionary<string, string>? Headers { get; init; }

    public static RegistryException BlobUnknown(string digest) => new(404, ErrorCodes.BlobUnknown, "blob unknown to registry", digest);
    public static RegistryException ManifestUnknown(string reference) => new(404, ErrorCodes.ManifestUnknown, "manifest unknown", reference);
    public static RegistryException NameUnknown(string name) => new(404, ErrorCodes.NameUnknown, "repository name not known to registry", name);
    public static RegistryException UploadUnknown(string id) => new(404, ErrorCodes.BlobUploadUnknown, "blob upload unknown to registry", id);
    public static RegistryException DigestInvalid(string message, string? detail = null) => new(400, ErrorCodes.DigestInvalid, message, detail);
    public static RegistryException ManifestInvalid(string message) => new(400, ErrorCodes.ManifestInvalid, $"manifest invalid: {message}");
}
