using System.Runtime.InteropServices;
using Berth.Core;
using Berth.Core.Interop;

namespace Berth.Shim;

internal static unsafe partial class ShimSys
{
    private const string Libc = "libc";
    public const int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_CREAT = 0x40, O_TRUNC = 0x200, O_CLOEXEC = 0x80000;
    private const short POSIX_SPAWN_SETSIGDEF = 0x04, POSIX_SPAWN_SETSIGMASK = 0x08;

    // glibc's posix_spawn_file_actions_t is 80 bytes, posix_spawnattr_t 336, sigset_t 128: oversize, never inspected.
    private const int FileActionsSize = 128, AttrSize = 512, SigSetSize = 128;

    // glibc's M_ARENA_MAX: one malloc arena instead of one per thread that ever called malloc.
    public const int M_ARENA_MAX = -8;

    [LibraryImport(Libc, EntryPoint = "mallopt")]
    public static partial int Mallopt(int param, int value);

    [LibraryImport(Libc, EntryPoint = "pipe2", SetLastError = true)]
    private static partial int Pipe2(int* fds, int flags);

    [LibraryImport(Libc, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags, int mode);

    [LibraryImport(Libc, EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport(Libc, EntryPoint = "dup2", SetLastError = true)]
    public static partial int Dup2(int oldfd, int newfd);

    [LibraryImport(Libc, EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int fd, byte* buf, nuint count);

    [LibraryImport(Libc, EntryPoint = "posix_spawn_file_actions_init")]
    private static partial int FileActionsInit(void* fa);

    [LibraryImport(Libc, EntryPoint = "posix_spawn_file_actions_destroy")]
    private static partial int FileActionsDestroy(void* fa);

    [LibraryImport(Libc, EntryPoint = "posix_spawn_file_actions_adddup2")]
    private static partial int FileActionsAddDup2(void* fa, int fd, int newfd);

    [LibraryImport(Libc, EntryPoint = "posix_spawnattr_init")]
    private static partial int AttrInit(void* attr);

    [LibraryImport(Libc, EntryPoint = "posix_spawnattr_destroy")]
    private static partial int AttrDestroy(void* attr);

    [LibraryImport(Libc, EntryPoint = "posix_spawnattr_setflags")]
    private static partial int AttrSetFlags(void* attr, short flags);

    [LibraryImport(Libc, EntryPoint = "posix_spawnattr_setsigdefault")]
    private static partial int AttrSetSigDefault(void* attr, void* sigset);

    [LibraryImport(Libc, EntryPoint = "posix_spawnattr_setsigmask")]
    private static partial int AttrSetSigMask(void* attr, void* sigset);

    [LibraryImport(Libc, EntryPoint = "sigfillset")]
    private static partial int SigFillSet(void* set);

    [LibraryImport(Libc, EntryPoint = "sigemptyset")]
    private static partial int SigEmptySet(void* set);

    [LibraryImport(Libc, EntryPoint = "posix_spawnp")]
    private static partial int PosixSpawnp(int* pid, byte* file, void* fileActions, void* attr, byte** argv, byte** envp);

    public static (int Read, int Write) Pipe()
    {
        int* fds = stackalloc int[2];
        Sys.CheckIo(Pipe2(fds, O_CLOEXEC), "pipe2");
        return (fds[0], fds[1]);
    }

    /// <summary>
    /// posix_spawn with the given fds as the child's 0/1/2 (all else close-on-exec), default signal dispositions and
    /// an empty mask: .NET ignores SIGPIPE, and the container must not inherit that.
    /// </summary>
    public static int Spawn(string file, IReadOnlyList<string> argv, int stdin, int stdout, int stderr)
    {
        var env = new List<string>();
        foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
            env.Add($"{e.Key}={e.Value}");

        var allocations = new List<nint>();
        byte* fa = stackalloc byte[FileActionsSize];
        byte* attr = stackalloc byte[AttrSize];
        byte* sigs = stackalloc byte[SigSetSize];
        try
        {
            byte* path = Utf8(file, allocations);
            byte** args = Array(argv, allocations);
            byte** envp = Array(env, allocations);
            FileActionsInit(fa);
            AttrInit(attr);
            try
            {
                FileActionsAddDup2(fa, stdin, 0);
                FileActionsAddDup2(fa, stdout, 1);
                FileActionsAddDup2(fa, stderr, 2);
                SigFillSet(sigs);
                AttrSetSigDefault(attr, sigs);
                SigEmptySet(sigs);
                AttrSetSigMask(attr, sigs);
                AttrSetFlags(attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
                int pid;
                int err = PosixSpawnp(&pid, path, fa, attr, args, envp);
                if (err != 0) throw new BerthException(ErrorKind.Unknown, $"spawn {file}: {Sys.ErrorText(err)}");
                return pid;
            }
            finally
            {
                FileActionsDestroy(fa);
                AttrDestroy(attr);
            }
        }
        finally
        {
            foreach (var p in allocations) NativeMemory.Free((void*)p);
        }
    }

    private static byte* Utf8(string s, List<nint> allocations)
    {
        int n = System.Text.Encoding.UTF8.GetByteCount(s);
        var p = (byte*)NativeMemory.Alloc((nuint)n + 1);
        allocations.Add((nint)p);
        System.Text.Encoding.UTF8.GetBytes(s, new Span<byte>(p, n));
        p[n] = 0;
        return p;
    }

    private static byte** Array(IReadOnlyList<string> items, List<nint> allocations)
    {
        var arr = (byte**)NativeMemory.Alloc((nuint)(items.Count + 1), (nuint)sizeof(nint));
        allocations.Add((nint)arr);
        for (int i = 0; i < items.Count; i++) arr[i] = Utf8(items[i], allocations);
        arr[items.Count] = null;
        return arr;
    }

    public static void WriteAll(int fd, ReadOnlySpan<byte> data)
    {
        fixed (byte* p = data)
        {
            int off = 0;
            for (int tries = 0; off < data.Length && tries < 1000; tries++)
            {
                nint n = Write(fd, p + off, (nuint)(data.Length - off));
                if (n < 0)
                {
                    if (Sys.Errno == Sys.EINTR) continue;
                    return;
                }
                off += (int)n;
            }
        }
    }
}
