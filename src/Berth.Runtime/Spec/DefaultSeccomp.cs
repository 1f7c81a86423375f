namespace Berth.Runtime.Spec;

/// <summary>
/// Berth's default seccomp profile: deny (EPERM) by default, allow what ordinary programs use, and open the
/// privileged calls only when the matching capability is granted, so the filter never contradicts the cap set.
/// runc skips names its libseccomp does not know, so newer syscalls may be listed safely.
/// </summary>
internal static class DefaultSeccomp
{
    private const string Allow = "SCMP_ACT_ALLOW";
    private const uint EPERM = 1, ENOSYS = 38;

    // Namespace-creating clone flags (NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET): clone without them is fork.
    private const ulong CloneNamespaceFlags = 0x7E020000;

    private static readonly string[] Files =
    [
        "access", "faccessat", "faccessat2", "chdir", "fchdir", "getcwd", "chmod", "fchmod", "fchmodat", "fchmodat2",
        "chown", "chown32", "fchown", "fchown32", "fchownat", "lchown", "lchown32", "umask",
        "open", "openat", "openat2", "creat", "close", "close_range", "read", "readv", "pread64", "preadv", "preadv2",
        "write", "writev", "pwrite64", "pwritev", "pwritev2", "lseek", "_llseek", "readahead",
        "stat", "stat64", "fstat", "fstat64", "lstat", "lstat64", "newfstatat", "fstatat64", "statx", "statfs",
        "statfs64", "fstatfs", "fstatfs64", "getdents", "getdents64", "mkdir", "mkdirat", "mknod", "mknodat",
        "rmdir", "rename", "renameat", "renameat2", "link", "linkat", "symlink", "symlinkat", "unlink", "unlinkat",
        "readlink", "readlinkat", "truncate", "truncate64", "ftruncate", "ftruncate64", "fallocate", "fadvise64",
        "fadvise64_64", "fsync", "fdatasync", "sync", "syncfs", "sync_file_range", "flock", "fcntl", "fcntl64",
        "dup", "dup2", "dup3", "ioctl", "utime", "utimes", "utimensat", "utimensat_time64", "futimesat",
        "copy_file_range", "sendfile", "sendfile64", "splice", "tee", "vmsplice", "name_to_handle_at",
        "getxattr", "lgetxattr", "fgetxattr", "setxattr", "lsetxattr", "fsetxattr", "listxattr", "llistxattr",
        "flistxattr", "removexattr", "lremovexattr", "fremovexattr", "getxattrat", "setxattrat", "listxattrat",
        "removexattrat", "inotify_init", "inotify_init1", "inotify_add_watch", "inotify_rm_watch", "fanotify_mark",
        "pipe", "pipe2", "memfd_create", "cachestat",
    ];

    private static readonly string[] Polling =
    [
        "select", "_newselect", "pselect6", "pselect6_time64", "poll", "ppoll", "ppoll_time64",
        "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_wait", "epoll_wait_old", "epoll_pwait",
        "epoll_pwait2", "eventfd", "eventfd2", "signalfd", "signalfd4", "timerfd_create", "timerfd_settime",
        "timerfd_settime64", "timerfd_gettime", "timerfd_gettime64",
        "io_setup", "io_destroy", "io_submit", "io_cancel", "io_getevents", "io_pgetevents", "io_pgetevents_time64",
    ];

    private static readonly string[] Memory =
    [
        "brk", "mmap", "mmap2", "munmap", "mremap", "mprotect", "madvise", "mincore", "msync", "mlock", "mlock2",
        "mlockall", "munlock", "munlockall", "remap_file_pages", "membarrier", "pkey_alloc", "pkey_free",
        "pkey_mprotect", "memfd_secret", "map_shadow_stack", "mseal",
    ];

    private static readonly string[] Processes =
    [
        "execve", "execveat", "exit", "exit_group", "fork", "vfork", "wait4", "waitid", "waitpid", "kill", "tkill",
        "tgkill", "getpid", "getppid", "gettid", "getpgid", "setpgid", "getpgrp", "getsid", "setsid",
        "getuid", "getuid32", "geteuid", "geteuid32", "getgid", "getgid32", "getegid", "getegid32",
        "getresuid", "getresuid32", "getresgid", "getresgid32", "getgroups", "getgroups32",
        "setuid", "setuid32", "setgid", "setgid32", "setreuid", "setreuid32", "setregid", "setregid32",
        "setresuid", "setresuid32", "setresgid", "setresgid32", "setgroups", "setgroups32", "setfsuid", "setfsuid32",
        "setfsgid", "setfsgid32", "capget", "capset", "prctl", "arch_prctl", "modify_ldt", "set_tid_address",
        "set_robust_list", "get_robust_list", "set_thread_area", "get_thread_area", "rseq", "futex", "futex_time64",
        "futex_waitv", "futex_wait", "futex_wake", "futex_requeue", "getrlimit", "ugetrlimit", "setrlimit",
        "prlimit64", "getrusage", "getpriority", "setpriority", "ioprio_get", "ioprio_set", "sched_yield",
        "sched_getaffinity", "sched_setaffinity", "sched_getparam", "sched_setparam", "sched_getscheduler",
        "sched_setscheduler", "sched_getattr", "sched_setattr", "sched_get_priority_max", "sched_get_priority_min",
        "sched_rr_get_interval", "sched_rr_get_interval_time64", "getcpu", "pidfd_open", "pidfd_send_signal",
        "process_mrelease", "seccomp", "landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self",
        "restart_syscall", "uname", "sysinfo", "getrandom", "times",
    ];

    private static readonly string[] Signals =
    [
        "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigsuspend", "rt_sigpending", "rt_sigtimedwait",
        "rt_sigtimedwait_time64", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "sigaltstack", "sigprocmask", "sigreturn",
        "pause", "alarm",
    ];

    private static readonly string[] Time =
    [
        "time", "gettimeofday", "clock_gettime", "clock_gettime64", "clock_getres", "clock_getres_time64",
        "clock_nanosleep", "clock_nanosleep_time64", "nanosleep", "getitimer", "setitimer", "timer_create",
        "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64",
        "adjtimex", "clock_adjtime", "clock_adjtime64",
    ];

    private static readonly string[] Sockets =
    [
        "socketpair", "bind", "listen", "accept", "accept4", "connect", "getsockname", "getpeername", "getsockopt",
        "setsockopt", "send", "sendto", "sendmsg", "sendmmsg", "recv", "recvfrom", "recvmsg", "recvmmsg",
        "recvmmsg_time64", "shutdown", "socketcall",
    ];

    private static readonly string[] Ipc =
    [
        "ipc", "shmget", "shmat", "shmdt", "shmctl", "semget", "semop", "semtimedop", "semtimedop_time64", "semctl",
        "msgget", "msgsnd", "msgrcv", "msgctl", "mq_open", "mq_unlink", "mq_timedsend", "mq_timedsend_time64",
        "mq_timedreceive", "mq_timedreceive_time64", "mq_notify", "mq_getsetattr",
    ];

    // Calls a capability makes legitimate; without the cap they stay denied.
    private static readonly (string Cap, string[] Names)[] ByCapability =
    [
        ("CAP_SYS_ADMIN", ["bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick",
            "lookup_dcookie", "mount", "mount_setattr", "move_mount", "open_tree", "perf_event_open", "quotactl",
            "quotactl_fd", "setdomainname", "sethostname", "setns", "syslog", "umount", "umount2", "unshare"]),
        ("CAP_DAC_READ_SEARCH", ["open_by_handle_at"]),
        ("CAP_SYS_BOOT", ["reboot"]),
        ("CAP_SYS_CHROOT", ["chroot"]),
        ("CAP_SYS_MODULE", ["init_module", "finit_module", "delete_module"]),
        ("CAP_SYS_PACCT", ["acct"]),
        ("CAP_SYS_PTRACE", ["ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd", "process_madvise"]),
        ("CAP_SYS_RAWIO", ["iopl", "ioperm"]),
        ("CAP_SYS_TIME", ["settimeofday", "stime", "clock_settime", "clock_settime64"]),
        ("CAP_SYS_TTY_CONFIG", ["vhangup"]),
        ("CAP_SYS_NICE", ["get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"]),
        ("CAP_SYSLOG", ["syslog"]),
        ("CAP_BPF", ["bpf"]),
        ("CAP_PERFMON", ["perf_event_open"]),
    ];

    public static SpecSeccomp Build(IReadOnlyCollection<string> capabilities)
    {
        var rules = new List<SpecSyscall>
        {
            new() { Names = [.. Files, .. Polling, .. Memory, .. Processes, .. Signals, .. Time, .. Sockets, .. Ipc], Action = Allow },
        };
        // Any socket family except AF_ALG (38, kernel crypto) and AF_VSOCK (40, talks to the hypervisor).
        rules.Add(new() { Names = ["socket"], Action = Allow, Args = [new() { Index = 0, Value = 38, Op = "SCMP_CMP_LT" }] });
        rules.Add(new() { Names = ["socket"], Action = Allow, Args = [new() { Index = 0, Value = 39, Op = "SCMP_CMP_EQ" }] });
        rules.Add(new() { Names = ["socket"], Action = Allow, Args = [new() { Index = 0, Value = 40, Op = "SCMP_CMP_GT" }] });
        // personality: only the harmless personas (PER_LINUX, PER_LINUX32, UNAME26 variants, query).
        foreach (ulong persona in (ulong[])[0x0, 0x8, 0x20000, 0x20008, 0xffffffff])
            rules.Add(new() { Names = ["personality"], Action = Allow, Args = [new() { Index = 0, Value = persona, Op = "SCMP_CMP_EQ" }] });

        bool sysAdmin = capabilities.Contains("CAP_SYS_ADMIN");
        if (!sysAdmin)
        {
            // fork/threads via clone are fine as long as no namespace flag is set; clone3 hides its flags in
            // memory seccomp cannot read, so report ENOSYS and let libc fall back to clone.
            rules.Add(new() { Names = ["clone"], Action = Allow, Args = [new() { Index = 0, Value = CloneNamespaceFlags, ValueTwo = 0, Op = "SCMP_CMP_MASKED_EQ" }] });
            rules.Add(new() { Names = ["clone3"], Action = "SCMP_ACT_ERRNO", ErrnoRet = ENOSYS });
        }
        var extra = new List<string>();
        foreach (var (cap, names) in ByCapability)
            if (capabilities.Contains(cap))
                foreach (var n in names)
                    if (!extra.Contains(n)) extra.Add(n);
        if (extra.Count > 0) rules.Add(new() { Names = extra, Action = Allow });

        return new SpecSeccomp
        {
            DefaultAction = "SCMP_ACT_ERRNO",
            DefaultErrnoRet = EPERM,
            Architectures = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            Syscalls = rules,
        };
    }
}
