using Berth.Core.Interop;
using Microsoft.Win32.SafeHandles;

namespace Berth.Core;

/// <summary>An exclusive flock(2) held for the life of the object: one live daemon per data-root.</summary>
public sealed class FileLock : IDisposable
{
    private readonly FileStream _file;

    private FileLock(FileStream file) => _file = file;

    public static FileLock? TryAcquire(string path)
    {
        FileStream fs;
        try
        {
            fs = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite);
        }
        catch (IOException)
        {
            // .NET's own advisory lock on open already says another process holds it.
            return null;
        }
        SafeFileHandle h = fs.SafeFileHandle;
        if (Sys.Flock((int)h.DangerousGetHandle(), Sys.LOCK_EX | Sys.LOCK_NB) != 0)
        {
            fs.Dispose();
            return null;
        }
        return new FileLock(fs);
    }

    public void Dispose() => _file.Dispose();
}
