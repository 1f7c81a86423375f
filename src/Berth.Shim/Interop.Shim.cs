using System.Runtime.InteropServices;
using Berth.Core;
using Berth.Core.Interop;

namespace Berth.Shim;

internal static unsafe partial class ShimSys
{
    private const string Libc = "libc";
    public const int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_CREAT = 0x40, O_TRUNC = 0x200, O_CLOEXEC = 0x80000;
    private const short POSIX_SPAWN_SETSIGDEF = 0x04, POSIX_SPAWN_SETSIGMASK = 0x08;
    private const int SCHED_OTHER = 0;

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

    [LibraryImport(Libc, EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, byte* buf, nuint count);

    [LibraryImport(Libc, EntryPoint = "memfd_create", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int MemfdCreate(string name, uint flags);

    [LibraryImport(Libc, EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(int fd, int cmd, int arg);

    [LibraryImport(Libc, EntryPoint = "posix_spawn_file_actions_addclose")]
    private static partial int FileActionsAddClose(void* fa, int fd);

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

    [LibraryImport(Libc, EntryPoint = "sched_setscheduler", SetLastError = true)]
    private static partial int SchedSetScheduler(int pid, int policy, int* param);

    [LibraryImport(Libc, EntryPoint = "setpriority", SetLastError = true)]
    private static partial int SetPriority(int which, int who, int prio);

    /// <summary>Lowers the calling thread's priority (nice); what it starts from now on inherits it.</summary>
    public static void NiceThisThread(int nice) => SetPriority(0 /* PRIO_PROCESS: on Linux, the calling thread */, 0, nice);

    /// <summary>Gives a thread (or single-threaded process) the ordinary policy and priority back.</summary>
    public static void ScheduleNormally(int tid)
    {
        int priority = 0;
        SchedSetScheduler(tid, SCHED_OTHER, &priority);
        SetPriority(0, tid, 0);
    }

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
    public static int Spawn(string file, IReadOnlyList<string> argv, int stdin, int stdout, int stderr) =>
        Spawn(file, argv, [stdin, stdout, stderr]);

    /// <summary>
    /// posix_spawn with <paramref name="fds"/>[i] as the child's fd i (stdio first; more for runc's --preserve-fds and
    /// /proc/self/fd paths); every other fd of ours is close-on-exec.
    /// </summary>
    public static int Spawn(string file, IReadOnlyList<string> argv, IReadOnlyList<int> fds)
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
                // Two steps, so that no source is overwritten before it is copied: first above every source and
                // every target, then down to the targets (a dup2 copy is inheritable), then the spare copies go.
                int spare = fds.Count;
                foreach (var fd in fds) spare = Math.Max(spare, fd + 1);
                for (int i = 0; i < fds.Count; i++) FileActionsAddDup2(fa, fds[i], spare + i);
                for (int i = 0; i < fds.Count; i++) FileActionsAddDup2(fa, spare + i, i);
                for (int i = 0; i < fds.Count; i++) FileActionsAddClose(fa, spare + i);
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

    private const uint MFD_CLOEXEC = 1, MFD_ALLOW_SEALING = 2;
    private const int F_ADD_SEALS = 1033;

    // runc's own test for "already a safe copy" (cloned_binary.c): exactly these four seals.
    private const int F_SEAL_SEAL = 1, F_SEAL_SHRINK = 2, F_SEAL_GROW = 4, F_SEAL_WRITE = 8;

    /// <summary>
    /// An anonymous in-memory file (close-on-exec) holding <paramref name="data"/>; sealed against any change when
    /// <paramref name="seal"/>, so that whoever it is handed to (a container) can read and execute it but never alter it.
    /// </summary>
    public static int MemFile(string name, ReadOnlySpan<byte> data, bool seal)
    {
        int fd = MemfdCreate(name, MFD_CLOEXEC | (seal ? MFD_ALLOW_SEALING : 0));
        Sys.CheckIo(fd, "memfd_create");
        try
        {
            if (!WriteFully(fd, data)) throw new BerthException(ErrorKind.Unknown, $"memfd {name}: write failed: {Sys.ErrorText(Sys.Errno)}");
            if (seal) Sys.CheckIo(Fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE), "F_ADD_SEALS");
            return fd;
        }
        catch
        {
            Close(fd);
            throw;
        }
    }

    /// <summary>Writes all of <paramref name="data"/>; false on an error (EPIPE: the reader is gone).</summary>
    public static bool WriteFully(int fd, ReadOnlySpan<byte> data)
    {
        fixed (byte* p = data)
        {
            int off = 0;
            while (off < data.Length)
            {
                nint n = Write(fd, p + off, (nuint)(data.Length - off));
                if (n < 0)
                {
                    if (Sys.Errno == Sys.EINTR) continue;
                    return false;
                }
                off += (int)n;
            }
        }
        return true;
    }

    /// <summary>Reads <paramref name="fd"/> to its end (at most <paramref name="max"/> bytes); null on a read error.</summary>
    public static byte[]? ReadToEnd(int fd, int max)
    {
        var buf = new byte[Math.Min(max, 4096)];
        int len = 0;
        while (true)
        {
            if (len == buf.Length)
            {
                if (len >= max) return buf;
                System.Array.Resize(ref buf, Math.Min(max, buf.Length * 2));
            }
            nint n;
            fixed (byte* p = buf) n = Read(fd, p + len, (nuint)(buf.Length - len));
            if (n < 0)
            {
                if (Sys.Errno == Sys.EINTR) continue;
                return null;
            }
            if (n == 0) return buf.AsSpan(0, len).ToArray();
            len += (int)n;
        }
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
