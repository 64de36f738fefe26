/* spotlab harness: slow or failing checkpoint storage, preloaded into a workload
 * (libspotlab-storage-fault.so; docs/testbed.md, "Fault catalogue").
 *
 * The supervisor starts a workload with this library in LD_PRELOAD when an instance has storage
 * faults. It interposes the calls that write files (open, openat, creat and their 64-bit and
 * fortified variants, write, pwrite, writev, pwritev, fsync, fdatasync, close, dup2, dup3,
 * rename, renameat, renameat2) and passes each one on to the next definition (dlsym with
 * RTLD_NEXT: libc's, or a sanitizer's interceptor). Only descriptors of files in one folder,
 * SPOTLAB_STORAGE_FAULT_DIR (the instance's checkpoint folder), and the folder itself are
 * touched; everything else goes straight through:
 *
 * - SPOTLAB_STORAGE_WRITE_BPS=N: writes to the folder proceed at N bytes per second at most:
 *   each write returns once the bytes it wrote would have gone at that rate, counted from the
 *   end of the previous one (all threads share the rate, as they share a disk);
 * - SPOTLAB_STORAGE_FSYNC_DELAY_US=N: each fsync or fdatasync waits N microseconds first;
 * - SPOTLAB_STORAGE_FAIL=enospc|eio: writes (and renames into the folder) fail with ENOSPC or
 *   EIO; =fsync-eio: writes succeed and fsync/fdatasync fail with EIO. The failure begins once
 *   the process has written SPOTLAB_STORAGE_FAIL_AFTER_BYTES bytes to the folder (default 0: at
 *   once; the write that crosses the limit is cut short there, as on a full disk), and hits
 *   only the SPOTLAB_STORAGE_FAIL_FROM_FILE-th file (default 1) and later ones that the process
 *   opens for writing in the folder (or renames into it from outside): a checkpoint writer that
 *   writes one file per checkpoint (spotlab-train writes a temporary file and renames it into
 *   place) fails from that checkpoint on.
 *
 * Each injected failure is reported on the progress channel (SPOTLAB_PROGRESS_FD, see
 * docs/progress-protocol.md), once per descriptor, as a line
 * {"event":"storage_fault","call":"write","error":"ENOSPC","path":...}, so that the supervisor
 * can count what was injected; readers that do not know the event ignore it.
 *
 * Counts (bytes, files) are per process, from its start; a child started by the workload
 * inherits the library and counts on its own. Not covered: stdio (glibc's fopen and fwrite
 * use internal entry points that cannot be interposed), memory-mapped writes, descriptors
 * made with dup() or fcntl(F_DUPFD) or numbered 65536 and above, system calls made directly
 * (syscall(2): coreutils' mv renames so), statically linked programs.
 *
 * Threads: the descriptor table is an array of atomics; the byte counter, the bandwidth clock
 * and the file counter are under one mutex, never held while sleeping or writing. A report
 * goes to the progress channel only while it is the descriptor it was at the start (a workload
 * may close it and reuse the number).
 *
 * A bad setting exits the process with status 2 and a message on stderr, before main.
 */
#define _GNU_SOURCE
/* The functions defined here are the plain and the 64-bit entry points by their own names:
 * with 64-bit offsets the headers would rename open() to open64(). */
#undef _FILE_OFFSET_BITS
/* Fortified headers define open() inline; this file defines the real one. */
#undef _FORTIFY_SOURCE

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

/* Descriptors this low are followed; a process rarely has more open. */
#define FD_MAX 65536
/* fd_state: 0 not in the folder; else bit 31 "its failure was reported" and, below, 1 + the
 * file's number among the files opened for writing (1, 2, ...; 0 for a descriptor opened only
 * to read, or the folder itself). */
#define STATE_IN_DIR    1u
#define STATE_REPORTED  (1u << 31)
#define STATE_FILE_MASK (~STATE_REPORTED)

typedef enum { FAIL_NONE, FAIL_ENOSPC, FAIL_EIO, FAIL_FSYNC_EIO } FailKind;

/* The folder's name: as given until it exists, then its real name (realpath), which the
 * kernel's names of descriptors (/proc/self/fd) are compared with. Each is written once, then
 * published through folder, so that a reader never sees a name being written. */
typedef struct {
    char path[PATH_MAX];
    size_t len;
} Folder;

static Folder folder_given, folder_real;
static _Atomic(const Folder *) folder;

static struct {
    double write_bps; /* 0: full speed */
    long long fsync_delay_ns;
    FailKind fail;
    unsigned long long fail_after;
    unsigned fail_from_file;
    int progress_fd;    /* -1: no reports */
    dev_t progress_dev; /* what it was at the start: a workload may close it and reuse the */
    ino_t progress_ino; /* number for a file of its own, which no report may go into */
    int active;         /* a folder is set */
} cfg = {.progress_fd = -1, .fail_from_file = 1};

static _Atomic uint32_t fd_state[FD_MAX];

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long long written;  /* bytes written to the folder (and reserved) */
static unsigned files_opened;       /* files opened for writing in the folder */
static long long bandwidth_free_ns; /* when the "disk" is free for the next write */

/* The next definitions. */
static int (*real_open)(const char *, int, ...);
static int (*real_open64)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_openat64)(int, const char *, int, ...);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off64_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_pwritev)(int, const struct iovec *, int, off_t);
static ssize_t (*real_pwritev64)(int, const struct iovec *, int, off64_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_close)(int);
static int (*real_dup2)(int, int);
static int (*real_dup3)(int, int, int);
static int (*real_rename)(const char *, const char *);
static int (*real_renameat)(int, const char *, int, const char *);
static int (*real_renameat2)(int, const char *, int, const char *, unsigned);

static pthread_once_t once = PTHREAD_ONCE_INIT;

/* ---- set-up ------------------------------------------------------------------------------- */

static void __attribute__((noreturn)) __bad_setting(const char *name, const char *value)
{
    /* Straight to the next write(): this runs inside the set-up, before main. */
    static const char head[] = "spotlab-storage-fault: bad setting ";
    if (real_write != NULL) {
        (void)!real_write(2, head, sizeof head - 1);
        (void)!real_write(2, name, strlen(name));
        (void)!real_write(2, "=", 1);
        (void)!real_write(2, value, strlen(value));
        (void)!real_write(2, "\n", 1);
    }
    _exit(2);
}

static unsigned long long
__env_number(const char *name, unsigned long long dflt, unsigned long long max)
{
    const char *v = getenv(name);
    if (v == NULL || *v == '\0')
        return dflt;
    char *end = NULL;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || v[0] == '-' || n > max)
        __bad_setting(name, v);
    return n;
}

static void *
__next(const char *name)
{
    return dlsym(RTLD_NEXT, name);
}

static void
__init(void)
{
    /* Cast through void *: the usual way to take a function out of dlsym. */
#define NEXT(var, name) *(void **)(&(var)) = __next(name)
    NEXT(real_open, "open");
    NEXT(real_open64, "open64");
    NEXT(real_openat, "openat");
    NEXT(real_openat64, "openat64");
    NEXT(real_write, "write");
    NEXT(real_pwrite, "pwrite");
    NEXT(real_pwrite64, "pwrite64");
    NEXT(real_writev, "writev");
    NEXT(real_pwritev, "pwritev");
    NEXT(real_pwritev64, "pwritev64");
    NEXT(real_fsync, "fsync");
    NEXT(real_fdatasync, "fdatasync");
    NEXT(real_close, "close");
    NEXT(real_dup2, "dup2");
    NEXT(real_dup3, "dup3");
    NEXT(real_rename, "rename");
    NEXT(real_renameat, "renameat");
    NEXT(real_renameat2, "renameat2");
#undef NEXT

    const char *dir = getenv("SPOTLAB_STORAGE_FAULT_DIR");
    if (dir == NULL || *dir == '\0')
        return; /* nothing to do: every call goes straight through */
    if (dir[0] != '/' || strlen(dir) >= sizeof folder_given.path)
        __bad_setting("SPOTLAB_STORAGE_FAULT_DIR", dir);
    if (realpath(dir, folder_real.path) != NULL) {
        folder_real.len = strlen(folder_real.path);
        atomic_store(&folder, &folder_real);
    } else {
        /* Not there yet (the workload makes it): compared as given until it exists. */
        strcpy(folder_given.path, dir);
        folder_given.len = strlen(dir);
        while (folder_given.len > 1 && folder_given.path[folder_given.len - 1] == '/')
            folder_given.path[--folder_given.len] = '\0';
        atomic_store(&folder, &folder_given);
    }

    unsigned long long bps = __env_number("SPOTLAB_STORAGE_WRITE_BPS", 0, 1ull << 50);
    cfg.write_bps = (double)bps;
    cfg.fsync_delay_ns =
        (long long)__env_number("SPOTLAB_STORAGE_FSYNC_DELAY_US", 0, 3600ull * 1000000) * 1000;
    const char *fail = getenv("SPOTLAB_STORAGE_FAIL");
    if (fail == NULL || *fail == '\0' || strcmp(fail, "none") == 0)
        cfg.fail = FAIL_NONE;
    else if (strcmp(fail, "enospc") == 0)
        cfg.fail = FAIL_ENOSPC;
    else if (strcmp(fail, "eio") == 0)
        cfg.fail = FAIL_EIO;
    else if (strcmp(fail, "fsync-eio") == 0)
        cfg.fail = FAIL_FSYNC_EIO;
    else
        __bad_setting("SPOTLAB_STORAGE_FAIL", fail);
    cfg.fail_after = __env_number("SPOTLAB_STORAGE_FAIL_AFTER_BYTES", 0, ~0ull);
    cfg.fail_from_file =
        (unsigned)__env_number("SPOTLAB_STORAGE_FAIL_FROM_FILE", 1, STATE_FILE_MASK - 2);
    if (cfg.fail_from_file == 0)
        cfg.fail_from_file = 1;
    const char *pfd = getenv("SPOTLAB_PROGRESS_FD");
    if (pfd != NULL && *pfd != '\0') {
        char *end = NULL;
        long n = strtol(pfd, &end, 10);
        /* The workload itself judges a bad value; here it only means no reports. */
        struct stat st;
        if (end != pfd && *end == '\0' && n >= 0 && n < INT_MAX && fstat((int)n, &st) == 0) {
            cfg.progress_fd = (int)n;
            cfg.progress_dev = st.st_dev;
            cfg.progress_ino = st.st_ino;
        }
    }
    cfg.active = 1;
}

static inline void
__ready(void)
{
    pthread_once(&once, __init);
}

/* Settings are read before main, so that a bad one stops the program at once. */
__attribute__((constructor)) static void
__constructor(void)
{
    __ready();
}

/* ---- the folder --------------------------------------------------------------------------- */

static int
__in_dir(const char *path)
{
    const Folder *f = atomic_load(&folder);
    if (f == &folder_given) {
        /* The folder may exist by now: compare with its real name from then on. */
        pthread_mutex_lock(&lock);
        if (atomic_load(&folder) == &folder_given &&
            realpath(folder_given.path, folder_real.path) != NULL) {
            folder_real.len = strlen(folder_real.path);
            atomic_store(&folder, &folder_real);
        }
        pthread_mutex_unlock(&lock);
        f = atomic_load(&folder);
    }
    return strncmp(path, f->path, f->len) == 0 &&
           (path[f->len] == '\0' || path[f->len] == '/' || (f->len == 1 && f->path[0] == '/'));
}

/* The kernel's name of what @fd is open on; FALSE when it has none. */
static int
__fd_path(int fd, char *out, size_t size)
{
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, out, size - 1);
    if (n <= 0)
        return 0;
    out[n] = '\0';
    return 1;
}

/* A descriptor just opened (or made by dup2): whether it is in the folder, and which file. */
static void
__track(int fd, int flags)
{
    if (fd < 0 || fd >= FD_MAX)
        return;
    uint32_t state = 0;
    char path[PATH_MAX];
    if (__fd_path(fd, path, sizeof path) && __in_dir(path)) {
        state = STATE_IN_DIR;
        struct stat st;
        int writing = (flags & O_ACCMODE) != O_RDONLY;
        if (writing && fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode)) {
            pthread_mutex_lock(&lock);
            unsigned n = ++files_opened;
            pthread_mutex_unlock(&lock);
            state = STATE_IN_DIR + (n < STATE_FILE_MASK - 1 ? n : STATE_FILE_MASK - 1);
        }
    }
    /* Always set: it also clears what a descriptor closed behind our back left. */
    atomic_store(&fd_state[fd], state);
}

static inline uint32_t
__state(int fd)
{
    return fd >= 0 && fd < FD_MAX ? atomic_load_explicit(&fd_state[fd], memory_order_relaxed) : 0;
}

/* ---- faults ------------------------------------------------------------------------------- */

static long long
__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Sleeps until @until (CLOCK_MONOTONIC), through signal handlers. */
static void
__sleep_until(long long until)
{
    struct timespec ts = {.tv_sec = until / 1000000000LL, .tv_nsec = until % 1000000000LL};
    int saved = errno;
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
    errno = saved;
}

/* Holds a write of @bytes until it would have finished at the capped bandwidth. */
static void
__throttle(size_t bytes)
{
    if (cfg.write_bps <= 0 || bytes == 0)
        return;
    long long cost = (long long)((double)bytes * 1e9 / cfg.write_bps);
    long long now = __now_ns();
    pthread_mutex_lock(&lock);
    long long start = bandwidth_free_ns > now ? bandwidth_free_ns : now;
    bandwidth_free_ns = start + cost;
    long long until = bandwidth_free_ns;
    pthread_mutex_unlock(&lock);
    __sleep_until(until);
}

/* Whether the failure hits the file of @state (its number) now. */
static int
__file_fails(uint32_t state)
{
    uint32_t n = (state & STATE_FILE_MASK) - STATE_IN_DIR;
    return cfg.fail != FAIL_NONE && n >= cfg.fail_from_file;
}

static const char *
__errno_name(int err)
{
    return err == ENOSPC ? "ENOSPC" : err == EIO ? "EIO" : "?";
}

/* One progress line, in one write(2), as the protocol asks. */
static void
__report(const char *call, int err, const char *path)
{
    struct stat st;
    if (cfg.progress_fd < 0 || fstat(cfg.progress_fd, &st) != 0 || st.st_dev != cfg.progress_dev ||
        st.st_ino != cfg.progress_ino)
        return;
    char escaped[1024];
    size_t k = 0;
    for (const char *p = path; *p != '\0' && k + 8 < sizeof escaped; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '"' || ch == '\\') {
            escaped[k++] = '\\';
            escaped[k++] = (char)ch;
        } else if (ch < 0x20) {
            k += (size_t)snprintf(escaped + k, sizeof escaped - k, "\\u%04x", ch);
        } else {
            escaped[k++] = (char)ch;
        }
    }
    escaped[k] = '\0';
    struct timespec rt, mt;
    clock_gettime(CLOCK_REALTIME, &rt);
    clock_gettime(CLOCK_MONOTONIC, &mt);
    char line[1400];
    int n = snprintf(line, sizeof line,
                     "{\"event\":\"storage_fault\",\"time\":%lld.%06ld,\"mono\":%lld.%06ld,"
                     "\"call\":\"%s\",\"error\":\"%s\",\"path\":\"%s\"}\n",
                     (long long)rt.tv_sec, rt.tv_nsec / 1000, (long long)mt.tv_sec,
                     mt.tv_nsec / 1000, call, __errno_name(err), escaped);
    if (n > 0 && (size_t)n < sizeof line) {
        int saved = errno;
        (void)!real_write(cfg.progress_fd, line, (size_t)n);
        errno = saved;
    }
}

/* A failure injected into a call on @fd: reported once per descriptor. */
static void
__report_fd(int fd, const char *call, int err)
{
    uint32_t before = atomic_fetch_or(&fd_state[fd], STATE_REPORTED);
    if (before & STATE_REPORTED)
        return;
    char path[PATH_MAX];
    if (!__fd_path(fd, path, sizeof path))
        strcpy(path, "?");
    __report(call, err, path);
}

/* Before a write of @len bytes to @fd (in the folder): how many may be written (<= @len), or
 * -1 with errno set for a write that fails. The bytes allowed are counted as written. */
static ssize_t
__write_begin(int fd, uint32_t state, size_t len, const char *call)
{
    pthread_mutex_lock(&lock);
    size_t allowed = len;
    if ((cfg.fail == FAIL_ENOSPC || cfg.fail == FAIL_EIO) && __file_fails(state)) {
        unsigned long long room = cfg.fail_after > written ? cfg.fail_after - written : 0;
        if (room < allowed)
            allowed = (size_t)room;
    }
    written += allowed;
    pthread_mutex_unlock(&lock);
    if (allowed == 0 && len > 0) {
        int err = cfg.fail == FAIL_ENOSPC ? ENOSPC : EIO;
        __report_fd(fd, call, err);
        errno = err;
        return -1;
    }
    return (ssize_t)allowed;
}

/* After the real write, which returned @done: what was allowed and not written is given back;
 * then the time it takes at the capped bandwidth. Returns @done, with the write's errno. */
static ssize_t
__write_end(size_t allowed, ssize_t done)
{
    int saved = errno;
    size_t wrote = done > 0 ? (size_t)done : 0;
    if (wrote < allowed) {
        pthread_mutex_lock(&lock);
        written -= allowed - wrote;
        pthread_mutex_unlock(&lock);
    }
    __throttle(wrote);
    errno = saved;
    return done;
}

/* An iovec list cut to @limit bytes, in @out (at most IOV_MAX entries, as the call takes). */
static int
__iov_cut(const struct iovec *iov, int n, size_t limit, struct iovec *out)
{
    int k = 0;
    for (int i = 0; i < n && limit > 0; i++) {
        out[k] = iov[i];
        if (out[k].iov_len > limit)
            out[k].iov_len = limit;
        limit -= out[k].iov_len;
        k++;
    }
    return k;
}

static size_t
__iov_len(const struct iovec *iov, int n)
{
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += iov[i].iov_len;
    return total;
}

/* ---- open --------------------------------------------------------------------------------- */

static int
__needs_mode(int flags)
{
#ifdef O_TMPFILE
    if ((flags & O_TMPFILE) == O_TMPFILE)
        return 1;
#endif
    return (flags & O_CREAT) != 0;
}

static int
__opened(int fd, int flags)
{
    if (fd >= 0 && cfg.active) {
        int saved = errno;
        __track(fd, flags);
        errno = saved;
    }
    return fd;
}

EXPORT int
open(const char *path, int flags, ...)
{
    __ready();
    mode_t mode = 0;
    if (__needs_mode(flags)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, unsigned int);
        va_end(ap);
    }
    return __opened(real_open(path, flags, mode), flags);
}

EXPORT int
open64(const char *path, int flags, ...)
{
    __ready();
    mode_t mode = 0;
    if (__needs_mode(flags)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, unsigned int);
        va_end(ap);
    }
    return __opened(real_open64(path, flags, mode), flags);
}

EXPORT int
openat(int dirfd, const char *path, int flags, ...)
{
    __ready();
    mode_t mode = 0;
    if (__needs_mode(flags)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, unsigned int);
        va_end(ap);
    }
    return __opened(real_openat(dirfd, path, flags, mode), flags);
}

EXPORT int
openat64(int dirfd, const char *path, int flags, ...)
{
    __ready();
    mode_t mode = 0;
    if (__needs_mode(flags)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, unsigned int);
        va_end(ap);
    }
    return __opened(real_openat64(dirfd, path, flags, mode), flags);
}

/* The fortified entry points (_FORTIFY_SOURCE), called without a mode. */
EXPORT int __open_2(const char *path, int flags);
EXPORT int __open64_2(const char *path, int flags);
EXPORT int __openat_2(int dirfd, const char *path, int flags);
EXPORT int __openat64_2(int dirfd, const char *path, int flags);

EXPORT int
__open_2(const char *path, int flags)
{
    __ready();
    return __opened(real_open(path, flags), flags);
}

EXPORT int
__open64_2(const char *path, int flags)
{
    __ready();
    return __opened(real_open64(path, flags), flags);
}

EXPORT int
__openat_2(int dirfd, const char *path, int flags)
{
    __ready();
    return __opened(real_openat(dirfd, path, flags), flags);
}

EXPORT int
__openat64_2(int dirfd, const char *path, int flags)
{
    __ready();
    return __opened(real_openat64(dirfd, path, flags), flags);
}

EXPORT int
creat(const char *path, mode_t mode)
{
    __ready();
    int flags = O_CREAT | O_WRONLY | O_TRUNC;
    return __opened(real_open(path, flags, mode), flags);
}

EXPORT int
creat64(const char *path, mode_t mode)
{
    __ready();
    int flags = O_CREAT | O_WRONLY | O_TRUNC;
    return __opened(real_open64(path, flags, mode), flags);
}

/* ---- writes ------------------------------------------------------------------------------- */

EXPORT ssize_t
write(int fd, const void *buf, size_t len)
{
    __ready();
    uint32_t state = __state(fd);
    if (state == 0)
        return real_write(fd, buf, len);
    ssize_t allowed = __write_begin(fd, state, len, "write");
    if (allowed < 0)
        return -1;
    return __write_end((size_t)allowed, real_write(fd, buf, (size_t)allowed));
}

EXPORT ssize_t
pwrite(int fd, const void *buf, size_t len, off_t offset)
{
    __ready();
    uint32_t state = __state(fd);
    if (state == 0)
        return real_pwrite(fd, buf, len, offset);
    ssize_t allowed = __write_begin(fd, state, len, "pwrite");
    if (allowed < 0)
        return -1;
    return __write_end((size_t)allowed, real_pwrite(fd, buf, (size_t)allowed, offset));
}

EXPORT ssize_t
pwrite64(int fd, const void *buf, size_t len, off64_t offset)
{
    __ready();
    uint32_t state = __state(fd);
    if (state == 0)
        return real_pwrite64(fd, buf, len, offset);
    ssize_t allowed = __write_begin(fd, state, len, "pwrite");
    if (allowed < 0)
        return -1;
    return __write_end((size_t)allowed, real_pwrite64(fd, buf, (size_t)allowed, offset));
}

/* writev and pwritev: @offset < 0 for writev. */
static ssize_t
__writev(int fd, uint32_t state, const struct iovec *iov, int n, long long offset, int wide,
         const char *call)
{
    size_t len = __iov_len(iov, n);
    ssize_t allowed = __write_begin(fd, state, len, call);
    if (allowed < 0)
        return -1;
    struct iovec cut[IOV_MAX];
    const struct iovec *use = iov;
    int count = n;
    if ((size_t)allowed < len && n <= IOV_MAX) {
        count = __iov_cut(iov, n, (size_t)allowed, cut);
        use = cut;
    }
    ssize_t done = offset < 0 ? real_writev(fd, use, count)
                   : wide     ? real_pwritev64(fd, use, count, (off64_t)offset)
                              : real_pwritev(fd, use, count, (off_t)offset);
    return __write_end((size_t)allowed, done);
}

EXPORT ssize_t
writev(int fd, const struct iovec *iov, int n)
{
    __ready();
    uint32_t state = __state(fd);
    if (state == 0 || n < 0)
        return real_writev(fd, iov, n);
    return __writev(fd, state, iov, n, -1, 0, "writev");
}

EXPORT ssize_t
pwritev(int fd, const struct iovec *iov, int n, off_t offset)
{
    __ready();
    uint32_t state = __state(fd);
    if (state == 0 || n < 0 || offset < 0)
        return real_pwritev(fd, iov, n, offset);
    return __writev(fd, state, iov, n, offset, 0, "pwritev");
}

EXPORT ssize_t
pwritev64(int fd, const struct iovec *iov, int n, off64_t offset)
{
    __ready();
    uint32_t state = __state(fd);
    if (state == 0 || n < 0 || offset < 0)
        return real_pwritev64(fd, iov, n, offset);
    return __writev(fd, state, iov, n, offset, 1, "pwritev");
}

/* ---- sync --------------------------------------------------------------------------------- */

/* Before an fsync of @fd: the added latency, then FALSE with errno EIO for one that fails. */
static int
__sync_begin(int fd, uint32_t state, const char *call)
{
    if (cfg.fsync_delay_ns > 0)
        __sleep_until(__now_ns() + cfg.fsync_delay_ns);
    if (cfg.fail != FAIL_FSYNC_EIO || !__file_fails(state))
        return 1;
    pthread_mutex_lock(&lock);
    int fails = written >= cfg.fail_after;
    pthread_mutex_unlock(&lock);
    if (!fails)
        return 1;
    __report_fd(fd, call, EIO);
    errno = EIO;
    return 0;
}

EXPORT int
fsync(int fd)
{
    __ready();
    uint32_t state = __state(fd);
    if (state != 0 && !__sync_begin(fd, state, "fsync"))
        return -1;
    return real_fsync(fd);
}

EXPORT int
fdatasync(int fd)
{
    __ready();
    uint32_t state = __state(fd);
    if (state != 0 && !__sync_begin(fd, state, "fdatasync"))
        return -1;
    return real_fdatasync(fd);
}

/* ---- descriptors -------------------------------------------------------------------------- */

EXPORT int
close(int fd)
{
    __ready();
    /* Forgotten before the real close: once it returns, the number may be reused at once. */
    if (fd >= 0 && fd < FD_MAX)
        atomic_store(&fd_state[fd], 0);
    return real_close(fd);
}

static int
__duped(int from, int to)
{
    if (to >= 0 && to < FD_MAX && to != from)
        atomic_store(&fd_state[to], __state(from) & ~STATE_REPORTED);
    return to;
}

EXPORT int
dup2(int from, int to)
{
    __ready();
    int fd = real_dup2(from, to);
    return fd < 0 ? fd : __duped(from, fd);
}

EXPORT int
dup3(int from, int to, int flags)
{
    __ready();
    int fd = real_dup3(from, to, flags);
    return fd < 0 ? fd : __duped(from, fd);
}

/* ---- renames ------------------------------------------------------------------------------ */

/* Whether @path (from @dirfd) names something in the folder: its parent folder's real name. */
static int
__path_in_dir(int dirfd, const char *path)
{
    char parent[PATH_MAX], base[PATH_MAX], resolved[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        strcpy(parent, ".");
    else if (slash == path)
        strcpy(parent, "/");
    else if ((size_t)(slash - path) < sizeof parent)
        memcpy(parent, path, (size_t)(slash - path)), parent[slash - path] = '\0';
    else
        return 0;
    if (parent[0] != '/' && dirfd != AT_FDCWD) {
        if (!__fd_path(dirfd, base, sizeof base) ||
            strlen(base) + 1 + strlen(parent) + 1 > sizeof base)
            return 0;
        strcat(base, "/");
        strcat(base, parent);
    } else {
        strcpy(base, parent);
    }
    return realpath(base, resolved) != NULL && __in_dir(resolved);
}

/* Before a rename from @from to @to: FALSE with errno set when the failure hits it. A file
 * renamed into the folder from outside counts as a file opened there for writing; one renamed
 * within it was counted when it was opened, and fails when the newest file does. */
static int
__rename_begin(int from_dir, const char *from, int to_dir, const char *to, const char *call)
{
    if (!cfg.active || (cfg.fail != FAIL_ENOSPC && cfg.fail != FAIL_EIO))
        return 1;
    int saved = errno;
    if (!__path_in_dir(to_dir, to)) {
        errno = saved;
        return 1;
    }
    int arrives = !__path_in_dir(from_dir, from);
    pthread_mutex_lock(&lock);
    unsigned n = arrives ? ++files_opened : files_opened;
    int fails = written >= cfg.fail_after && n >= cfg.fail_from_file;
    pthread_mutex_unlock(&lock);
    if (!fails) {
        errno = saved;
        return 1;
    }
    int err = cfg.fail == FAIL_ENOSPC ? ENOSPC : EIO;
    __report(call, err, to);
    errno = err;
    return 0;
}

EXPORT int
rename(const char *from, const char *to)
{
    __ready();
    if (!__rename_begin(AT_FDCWD, from, AT_FDCWD, to, "rename"))
        return -1;
    return real_rename(from, to);
}

EXPORT int
renameat(int from_dir, const char *from, int to_dir, const char *to)
{
    __ready();
    if (!__rename_begin(from_dir, from, to_dir, to, "renameat"))
        return -1;
    return real_renameat(from_dir, from, to_dir, to);
}

EXPORT int
renameat2(int from_dir, const char *from, int to_dir, const char *to, unsigned flags)
{
    __ready();
    if (!__rename_begin(from_dir, from, to_dir, to, "renameat2"))
        return -1;
    return real_renameat2(from_dir, from, to_dir, to, flags);
}
