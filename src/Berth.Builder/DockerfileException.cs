namespace Berth.Builder;

/// <summary>A Dockerfile that cannot be parsed or run as written: the message names the file and line (none for line 0: the whole file).</summary>
public sealed class DockerfileException(string file, int line, string reason)
    : Exception(line > 0 ? $"{file}:{line}: {reason}" : reason)
{
    public string File { get; } = file;
    public int Line { get; } = line;
    public string Reason { get; } = reason;
}

/// <summary>A build that failed while running (a RUN's non-zero exit, a missing COPY source): the build's error.</summary>
public sealed class BuildFailedException(string message, int code = 1) : Exception(message)
{
    public int Code { get; } = code;
}
