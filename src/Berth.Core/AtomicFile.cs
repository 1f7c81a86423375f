namespace Berth.Core;

/// <summary>
/// Writes a file so that a reader (or a daemon restarted after kill -9) sees either the old content
/// or the new, never half of it: write a temp file beside it, fsync, rename over.
/// </summary>
public static class AtomicFile
{
    /// <param name="durable">
    /// false skips the fsync: still never half a file for any reader or a restarted daemon, but a host crash may
    /// lose the write. For run-time state on the exec-root (runc's own state.json is written the same way), which
    /// means nothing after a host crash anyway, and which sits on the path of every container's exit.
    /// </param>
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> data, bool durable = true)
    {
        var dir = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(dir);
        var tmp = Path.Combine(dir, $".{Path.GetFileName(path)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 0))
            {
                fs.Write(data);
                fs.Flush(flushToDisk: durable);
            }
            File.Move(tmp, path, overwrite: true);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { }
            throw;
        }
    }

    public static void WriteAllText(string path, string text) => WriteAllBytes(path, System.Text.Encoding.UTF8.GetBytes(text));
}
