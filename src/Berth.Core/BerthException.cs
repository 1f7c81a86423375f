namespace Berth.Core;

/// <summary>The one error taxonomy; the API maps each kind to an HTTP status in one place.</summary>
public enum ErrorKind
{
    Unknown,
    InvalidArgument,
    NotFound,
    Conflict,
    Unauthorized,
    Forbidden,
    Unavailable,
    NotImplemented,
    NotModified,
}

public sealed class BerthException : Exception
{
    public BerthException(ErrorKind kind, string message, Exception? inner = null) : base(message, inner) => Kind = kind;

    public ErrorKind Kind { get; }

    public static BerthException NotFound(string message) => new(ErrorKind.NotFound, message);
    public static BerthException Invalid(string message) => new(ErrorKind.InvalidArgument, message);
    public static BerthException Conflict(string message) => new(ErrorKind.Conflict, message);
}
