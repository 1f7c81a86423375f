namespace Berth.Client;

// An error answer from the daemon ({"message": ...}) with its HTTP status; the CLI prints
// "Error response from daemon: <message>".
public sealed class DockerApiException(int statusCode, string message) : Exception(message)
{
    public int StatusCode { get; } = statusCode;

    public bool IsNotFound => StatusCode == 404;
}

// The daemon could not be reached at all (no socket, connection refused).
public sealed class DaemonUnreachableException(string host, Exception inner)
    : Exception($"Cannot connect to the Berth daemon at {host}. Is the berth daemon running?", inner)
{
    public string Host { get; } = host;
}
