using System.Runtime.InteropServices;

namespace Berth.FsHelper;

/// <summary>
/// A stream over an inherited descriptor with plain read(2)/write(2): FileStream would use pread/pwrite at its own
/// offset on a seekable descriptor, which is wrong for a shared stdout or stderr (a file both we and others append to).
/// </summary>
internal sealed unsafe partial class FdStream(int fd, bool write) : Stream
{
    private const int EINTR = 4;

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static partial nint ReadNative(int fd, byte* buf, nuint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static partial nint WriteNative(int fd, byte* buf, nuint count);

    public override bool CanRead => !write;
    public override bool CanSeek => false;
    public override bool CanWrite => write;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            while (true)
            {
                nint n = ReadNative(fd, p, (nuint)buffer.Length);
                if (n >= 0) return (int)n;
                if (Marshal.GetLastPInvokeError() != EINTR) throw new IOException($"read: {Marshal.GetLastPInvokeErrorMessage()}");
            }
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            int done = 0;
            while (done < buffer.Length)
            {
                nint n = WriteNative(fd, p + done, (nuint)(buffer.Length - done));
                if (n >= 0) done += (int)n;
                else if (Marshal.GetLastPInvokeError() != EINTR) throw new IOException($"write: {Marshal.GetLastPInvokeErrorMessage()}");
            }
        }
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
