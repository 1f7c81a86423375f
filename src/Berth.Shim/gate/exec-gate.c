/*
 * berth-exec-gate: a warm exec slot inside a running container.
 *
 * The shim starts this program ahead of time with `runc exec`, so by the time it runs here runc has done all of the
 * real work of an exec: joined the container's namespaces and cgroups, set the user, groups, capabilities, rlimits,
 * no_new_privs and the seccomp filter, and chdir'ed to the working directory. What is left for a `docker exec` is
 * one execve(), which this program does when the shim sends the command:
 *
 *   fd 3  request pipe (read): [u32 magic][u32 flags][u32 argc][u32 envc] then argc + envc NUL-terminated strings;
 *         end of file without a request means "go away".
 *   fd 4  status pipe (write, close-on-exec once a request arrived): records [u8 what][u32 value][u16 n][n bytes].
 *         'S' with the successor's pid (see below; 0 for none), 'R' from the successor once its fds are in place,
 *         then nothing more when execve succeeds (the shim sees end of file), or one failure record, after which the
 *         program exits.
 *   fd 5  this program's own sealed memfd (runc executed /proc/self/fd/5); closed at once.
 *   fd 6  the host's /dev/null, the command's stdin unless the request asks for the stdin pipe (fd 0) runc set up.
 *
 * With FLAG_SUCCESSOR the gate first clones its successor (CLONE_PARENT: the shim's child too), which inherits all
 * that runc set up, makes itself new pipes, keeps the shim's ends of them at fds 10-14 (stdin write, stdout read,
 * stderr read, request write, status read), says so with 'R' on the old status pipe, keeps them until the shim has
 * opened them through /proc (it then sends 'G' on the new request pipe), and waits as the next gate. So execs in a row need one runc run, not one each.
 *
 * The command is looked up and executed the way runc 1.1's init does it (Go's exec.LookPath on the request's PATH,
 * then execve), and HOME, when the request has none, comes from this process's environment, where runc put the
 * user's home directory. No libc: the binary is a few KB, static, and runs in any image.
 */

typedef unsigned long size_t;
typedef long ssize_t;

#define SYS_read 0
#define SYS_poll 7
#define SYS_write 1
#define SYS_close 3
#define SYS_dup2 33
#define SYS_clone 56
#define SYS_pipe2 293
#define SYS_execve 59
#define SYS_fcntl 72
#define SYS_prctl 157
#define SYS_exit_group 231
#define SYS_newfstatat 262

#define AT_FDCWD (-100)
#define F_SETFD 2
#define FD_CLOEXEC 1
#define PR_SET_DUMPABLE 4
#define EINTR 4
#define ENOENT 2
#define EACCES 13
#define EISDIR 21
#define S_IFMT 0170000
#define S_IFDIR 0040000

#define MAGIC 0x31474542u /* "BEG1" */
#define FLAG_STDIN 1u
#define FLAG_SUCCESSOR 2u
#define CLONE_PARENT 0x00008000
#define SIGCHLD 17

/* Failure records: what went wrong, for the shim to word as runc would. */
#define WHAT_NOT_IN_PATH 'N'   /* no executable of that name in $PATH */
#define WHAT_RELATIVE 'T'      /* found only through a relative $PATH entry */
#define WHAT_STAT 'F'          /* a name with '/' that cannot be stat'ed (errno) */
#define WHAT_NOT_EXEC 'P'      /* a name with '/' that is not executable */
#define WHAT_IS_DIR 'D'        /* a name with '/' that is a directory */
#define WHAT_EXECVE 'X'        /* execve failed (errno) on path */
#define WHAT_DEVNULL 'O'       /* the stdin could not be set up */
#define WHAT_REQUEST 'Q'       /* malformed request */
#define WHAT_SUCCESSOR 'S'     /* the successor's pid in the container's pid namespace, 0 for none */
#define WHAT_READY 'R'         /* the successor's fds 10-14 are in place */

#define REQ_MAX (1 << 20)
#define PTR_MAX 32768
#define PATH_BUF 4096

static char req[REQ_MAX];
static char *argv_out[PTR_MAX + 1];
static char *envp_out[PTR_MAX + 2];
static char path_buf[PATH_BUF];
static char home_buf[PATH_BUF];

static long sys3(long n, long a, long b, long c)
{
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
	return r;
}

static long sys4(long n, long a, long b, long c, long d)
{
	long r;
	register long r10 __asm__("r10") = d;
	__asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
	return r;
}

static void leave(int code)
{
	for (;;) sys3(SYS_exit_group, code, 0, 0);
}

static size_t slen(const char *s)
{
	size_t n = 0;
	while (s[n]) n++;
	return n;
}

static int starts(const char *s, const char *prefix)
{
	while (*prefix)
		if (*s++ != *prefix++) return 0;
	return 1;
}

static unsigned u32(const char *p)
{
	const unsigned char *b = (const unsigned char *)p;
	return b[0] | (b[1] << 8) | (b[2] << 16) | ((unsigned)b[3] << 24);
}

static void record(char what, long value, const char *text)
{
	char rec[7 + PATH_BUF];
	size_t n = 0, i, len = 0;
	unsigned e = (unsigned)value;
	while (text && text[len] && len < PATH_BUF) len++;
	rec[n++] = what;
	rec[n++] = (char)(e & 0xff);
	rec[n++] = (char)((e >> 8) & 0xff);
	rec[n++] = (char)((e >> 16) & 0xff);
	rec[n++] = (char)((e >> 24) & 0xff);
	rec[n++] = (char)(len & 0xff);
	rec[n++] = (char)((len >> 8) & 0xff);
	for (i = 0; i < len; i++) rec[n++] = text[i];
	sys3(SYS_write, 4, (long)rec, (long)n);
}

static void fail(char what, long err, const char *path)
{
	record(what, err, path);
	leave(127);
}

struct kstat {
	unsigned long dev, ino, nlink;
	unsigned mode, uid, gid, pad0;
	unsigned long rdev;
	long size, blksize, blocks;
	unsigned long times[6];
	long unused[3];
};

/* Go 1.19's findExecutable: stat succeeds, not a directory, some execute bit set. */
static long find_executable(const char *path, int *is_dir)
{
	struct kstat st;
	long r = sys4(SYS_newfstatat, AT_FDCWD, (long)path, (long)&st, 0);
	*is_dir = 0;
	if (r < 0) return r;
	if ((st.mode & S_IFMT) == S_IFDIR) {
		*is_dir = 1;
		return -EISDIR;
	}
	return (st.mode & 0111) ? 0 : -EACCES;
}

static char **own_env;
static void serve(void);

/* The successor: fresh pipes, the shim's ends parked at 10-14 until the shim has its own, then serve as a gate. */
static void succeed(void)
{
	int p[10], i;
	char go = 0;
	for (i = 0; i < 5; i++)
		if (sys3(SYS_pipe2, (long)(p + 2 * i), 0, 0) < 0) leave(0);
	/* Above every fd in use first, so that no dup2 below overwrites a pipe end still to be moved. */
	for (i = 0; i < 10; i++) {
		sys3(SYS_dup2, p[i], 100 + i, 0);
		sys3(SYS_close, p[i], 0, 0);
	}
	/* stdin: read end 0, write end 10; stdout: write 1, read 11; stderr: write 2, read 12; request: read 3,
	 * write 13; status: write 4, read 14. */
	sys3(SYS_dup2, 100, 0, 0);
	sys3(SYS_dup2, 101, 10, 0);
	sys3(SYS_dup2, 103, 1, 0);
	sys3(SYS_dup2, 102, 11, 0);
	sys3(SYS_dup2, 105, 2, 0);
	sys3(SYS_dup2, 104, 12, 0);
	sys3(SYS_dup2, 106, 3, 0);
	sys3(SYS_dup2, 107, 13, 0);
	sys3(SYS_dup2, 108, 14, 0);
	/* The old status pipe (the exec in progress) last: the shim reads this before it sees its end. */
	record(WHAT_READY, 0, 0);
	sys3(SYS_dup2, 109, 4, 0);
	for (i = 0; i < 10; i++) sys3(SYS_close, 100 + i, 0, 0);
	{
		/* A shim that never takes this successor on is not waited for forever. */
		struct { int fd; short events, revents; } pfd = { 3, 1 /* POLLIN */, 0 };
		if (sys3(SYS_poll, (long)&pfd, 1, 10000) <= 0) leave(0);
	}
	while (sys3(SYS_read, 3, (long)&go, 1) == -EINTR) {}
	if (go != 'G') leave(0);
	for (i = 10; i <= 14; i++) sys3(SYS_close, i, 0, 0);
}

void gate_main(long *sp)
{
	long argc0 = sp[0];
	own_env = (char **)(sp + 1 + argc0 + 1);
	sys4(SYS_prctl, PR_SET_DUMPABLE, 0, 0, 0);
	sys3(SYS_close, 5, 0, 0);
	serve();
}

static void serve(void)
{
	size_t got = 0, off, i;
	unsigned flags, argc, envc;
	int has_home = 0, is_dir;
	const char *path_env = 0, *name;
	long r, successor;

again:
	got = 0;
	has_home = 0;
	path_env = 0;
	successor = 0;
	for (;;) {
		if (got == sizeof(req)) fail(WHAT_REQUEST, 0, "request too large");
		r = sys3(SYS_read, 3, (long)(req + got), (long)(sizeof(req) - got));
		if (r == -EINTR) continue;
		if (r <= 0) break;
		got += (size_t)r;
	}
	if (got == 0) leave(0);
	if (got < 16 || u32(req) != MAGIC) fail(WHAT_REQUEST, 0, "bad request");
	flags = u32(req + 4);
	if (flags & FLAG_SUCCESSOR) {
		/* Forked as runc's init forks: same credentials, namespaces, cgroup, seccomp filter, directory. */
		successor = sys4(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0);
		if (successor == 0) {
			/* The successor serves the next request (a loop, so that generations do not pile up stack). */
			succeed();
			goto again;
		}
		if (successor < 0) successor = 0;
	}
	sys3(SYS_close, 3, 0, 0);
	sys3(SYS_fcntl, 4, F_SETFD, FD_CLOEXEC);
	record(WHAT_SUCCESSOR, successor, 0);

	argc = u32(req + 8);
	envc = u32(req + 12);
	if (argc == 0 || argc > PTR_MAX || envc > PTR_MAX || req[got - 1] != 0) fail(WHAT_REQUEST, 0, "bad request");
	off = 16;
	for (i = 0; i < (size_t)argc + envc; i++) {
		char *s;
		if (off >= got) fail(WHAT_REQUEST, 0, "bad request");
		s = req + off;
		off += slen(s) + 1;
		if (i < argc) {
			argv_out[i] = s;
		} else {
			envp_out[i - argc] = s;
			if (starts(s, "HOME=") && s[5]) has_home = 1;
			if (starts(s, "PATH=")) path_env = s + 5;
		}
	}
	argv_out[argc] = 0;

	/* runc sets HOME from the user's passwd entry when the environment has none (or an empty one). */
	if (!has_home) {
		const char *home = 0;
		size_t k = 0, j;
		for (i = 0; own_env[i]; i++)
			if (starts(own_env[i], "HOME=")) home = own_env[i];
		if (home) {
			for (j = 0; home[j] && j < sizeof(home_buf) - 1; j++) home_buf[j] = home[j];
			home_buf[j] = 0;
			for (i = 0; i < envc; i++)
				if (starts(envp_out[i], "HOME=")) {
					envp_out[i] = home_buf;
					k = 1;
				}
			if (!k) envp_out[envc++] = home_buf;
		}
	}
	envp_out[envc] = 0;

	/* Like runc's own exec: without stdin the command reads the host's /dev/null, not whatever the image has there. */
	if (!(flags & FLAG_STDIN) && sys3(SYS_dup2, 6, 0, 0) < 0) fail(WHAT_DEVNULL, 0, "stdin");
	sys3(SYS_close, 6, 0, 0);

	name = argv_out[0];
	for (i = 0; name[i] && name[i] != '/'; i++) {}
	if (name[i] == '/') {
		r = find_executable(name, &is_dir);
		if (r == -EISDIR && is_dir) fail(WHAT_IS_DIR, EISDIR, name);
		if (r == -EACCES) fail(WHAT_NOT_EXEC, EACCES, name);
		if (r < 0) fail(WHAT_STAT, -r, name);
	} else {
		const char *p = path_env ? path_env : "";
		int found = 0;
		size_t nlen = slen(name);
		while (path_env) {
			const char *end = p;
			size_t dlen, n = 0;
			while (*end && *end != ':') end++;
			dlen = (size_t)(end - p);
			if (dlen == 0) {
				path_buf[n++] = '.';
			} else {
				if (dlen + nlen + 2 > sizeof(path_buf)) goto next;
				for (i = 0; i < dlen; i++) path_buf[n++] = p[i];
				while (n > 1 && path_buf[n - 1] == '/') n--;
			}
			if (n + nlen + 2 > sizeof(path_buf)) goto next;
			if (!(n == 1 && path_buf[0] == '/')) path_buf[n++] = '/';
			for (i = 0; i < nlen; i++) path_buf[n++] = name[i];
			path_buf[n] = 0;
			if (find_executable(path_buf, &is_dir) == 0) {
				if (path_buf[0] != '/') fail(WHAT_RELATIVE, 0, name);
				found = 1;
				break;
			}
		next:
			if (!*end) break;
			p = end + 1;
		}
		if (!found) fail(WHAT_NOT_IN_PATH, ENOENT, name);
		name = path_buf;
	}

	do {
		r = sys3(SYS_execve, (long)name, (long)argv_out, (long)envp_out);
	} while (r == -EINTR);
	fail(WHAT_EXECVE, -r, name);
}

__asm__(".text\n"
	".global _start\n"
	"_start:\n"
	"  xor %rbp, %rbp\n"
	"  mov %rsp, %rdi\n"
	"  and $-16, %rsp\n"
	"  call gate_main\n"
	"  mov $231, %eax\n"
	"  mov $127, %edi\n"
	"  syscall\n");
