/* Benchmark: write throughput of workload_checkpoint_write() against dd on the same disk.
 *
 * The yardstick is what the disk gives a plain sequential writer that makes its data durable:
 * `dd if=/dev/zero of=F bs=8M count=N conv=fsync`. A checkpoint of the same size (three
 * sections, params, adam_m and adam_v, as an Adam-trained model has) is written with
 * workload_checkpoint_write(), which also hashes every byte, writes the header and trailer,
 * fsyncs the file, renames it and fsyncs the folder. The checkpoint must reach 80 % of dd.
 *
 * Both write a new file into the same folder (SPOTLAB_BENCH_DIR, or the current folder, which
 * is the build folder under `meson test --benchmark`), in alternation (dd, checkpoint, dd, ...)
 * so that both see the same state of the disk and of its caches; before each timed write the
 * previous files are removed and the file system synced, untimed, so that no run pays for
 * another's write-back. Page caches cannot be dropped without root, but both end with fsync, so
 * both figures are of data on the disk. One untimed pair warms the file system up. The
 * checkpoint's payload is filled (and so faulted in) before any timing, as a training job's
 * state would be.
 *
 * dd's figure is its own (bytes and seconds of its last line, fsync included); the
 * checkpoint's is its file size over the wall time of the call. Reported: the median, min and
 * max MB/s of each, the ratio of the medians and the median of the per-pair ratios, which is
 * the gate because neighbouring runs share the disk's mood.
 *
 * Exit status: 0 when the median ratio is at least 0.80, 1 when not (or a write failed), 2 on
 * bad usage, 77 (skipped) when the folder has no room for the test.
 */
#include "checkpoint.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define TARGET_RATIO 0.80
#define DD_BLOCK     ((guint64)8 << 20)

static int
__compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y ? 1 : 0;
}

static double
__median(const double *values, guint n)
{
    g_autofree double *sorted = g_memdup2(values, n * sizeof(double));
    qsort(sorted, n, sizeof(double), __compare_doubles);
    return n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

static double
__min(const double *v, guint n)
{
    double m = v[0];
    for (guint i = 1; i < n; i++)
        m = MIN(m, v[i]);
    return m;
}

static double
__max(const double *v, guint n)
{
    double m = v[0];
    for (guint i = 1; i < n; i++)
        m = MAX(m, v[i]);
    return m;
}

/* "1073741824", "1G", "512M", "64K" (powers of 1024). */
static gboolean
__parse_size(const char *text, guint64 *bytes)
{
    char *end = NULL;
    errno = 0;
    guint64 v = g_ascii_strtoull(text, &end, 10);
    if (errno != 0 || end == text)
        return FALSE;
    guint shift = 0;
    if (*end == 'K' || *end == 'k')
        shift = 10;
    else if (*end == 'M' || *end == 'm')
        shift = 20;
    else if (*end == 'G' || *end == 'g')
        shift = 30;
    if (shift != 0)
        end++;
    if (*end != '\0' || v == 0 || v > (G_MAXUINT64 >> shift))
        return FALSE;
    *bytes = v << shift;
    return TRUE;
}

/* Removes everything the benchmark wrote into @dir and makes the removal durable, untimed. */
static void
__clean(const char *dir)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *name;
    while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
        g_autofree char *path = g_build_filename(dir, name, NULL);
        g_unlink(path);
    }
    sync();
}

/* Runs dd and returns its MB/s (decimal megabytes), from its own summary line. */
static gboolean
__run_dd(const char *dir, guint64 count, double *mb_per_s)
{
    g_autofree char *of = g_strdup_printf("of=%s/dd.out", dir);
    g_autofree char *count_arg = g_strdup_printf("count=%" G_GUINT64_FORMAT, count);
    const char *argv[] = {"dd", "if=/dev/zero", of, "bs=8M", count_arg, "conv=fsync", NULL};
    g_autofree char *err = NULL;
    int status = 0;
    g_autoptr(GError) error = NULL;
    gint64 t0 = g_get_monotonic_time();
    /* The C locale, so that the seconds dd prints have a decimal point. */
    g_auto(GStrv) env = g_environ_setenv(g_get_environ(), "LC_ALL", "C", TRUE);
    if (!g_spawn_sync(NULL, (char **)argv, env, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                      NULL, NULL, NULL, &err, &status, &error)) {
        fprintf(stderr, "bench-checkpoint: cannot run dd: %s\n", error->message);
        return FALSE;
    }
    double wall = (double)(g_get_monotonic_time() - t0) / 1e6;
    if (!g_spawn_check_wait_status(status, &error)) {
        fprintf(stderr, "bench-checkpoint: dd: %s\n%s", error->message, err ? err : "");
        return FALSE;
    }
    /* GNU dd: "1073741824 bytes (1.1 GB, 1.0 GiB) copied, 3.30589 s, 325 MB/s" */
    guint64 bytes = 0;
    double seconds = 0;
    g_auto(GStrv) lines = g_strsplit(err ? err : "", "\n", -1);
    for (int i = 0; lines[i] != NULL; i++) {
        const char *copied = strstr(lines[i], " copied, ");
        if (copied == NULL)
            continue;
        bytes = g_ascii_strtoull(lines[i], NULL, 10);
        seconds = g_ascii_strtod(copied + strlen(" copied, "), NULL);
    }
    if (bytes != count * DD_BLOCK || seconds <= 0) {
        /* Another dd: time it from here (process start included, which only favours the
         * checkpoint by a millisecond or two). */
        bytes = count * DD_BLOCK;
        seconds = wall;
    }
    *mb_per_s = (double)bytes / seconds / 1e6;
    return TRUE;
}

static gboolean
__run_checkpoint(const char *dir, guint64 step, const WorkloadSection *sections, double *mb_per_s)
{
    WorkloadCheckpointInfo info = {0};
    g_autoptr(GError) error = NULL;
    gint64 t0 = g_get_monotonic_time();
    gboolean ok = workload_checkpoint_write(dir, step, sections, 3, 1, &info, &error);
    double seconds = (double)(g_get_monotonic_time() - t0) / 1e6;
    if (ok)
        *mb_per_s = (double)info.bytes / seconds / 1e6;
    else
        fprintf(stderr, "bench-checkpoint: %s\n", error->message);
    workload_checkpoint_info_clear(&info);
    return ok;
}

int
main(int argc, char **argv)
{
    g_autofree char *bytes_text = NULL, *dir_opt = NULL;
    gint runs = 5;
    GOptionEntry entries[] = {
        {"bytes", 'b', 0, G_OPTION_ARG_STRING, &bytes_text,
         "Bytes per write, K/M/G suffixes allowed, rounded up to 8 MiB (default 1G)", "N"},
        {"runs", 'r', 0, G_OPTION_ARG_INT, &runs, "Timed runs of each writer (default 5)", "N"},
        {"dir", 'd', 0, G_OPTION_ARG_FILENAME, &dir_opt,
         "Folder on the disk to measure (default $SPOTLAB_BENCH_DIR, else the current folder)",
         "DIR"},
        G_OPTION_ENTRY_NULL,
    };
    g_autoptr(GOptionContext) context =
        g_option_context_new("- checkpoint write throughput against dd");
    g_option_context_add_main_entries(context, entries, NULL);
    g_autoptr(GError) error = NULL;
    if (!g_option_context_parse(context, &argc, &argv, &error)) {
        fprintf(stderr, "bench-checkpoint: %s\n", error->message);
        return 2;
    }
    guint64 bytes = (guint64)1 << 30;
    if (bytes_text != NULL && !__parse_size(bytes_text, &bytes)) {
        fprintf(stderr, "bench-checkpoint: --bytes: expected a size like 1G or 512M, got \"%s\"\n",
                bytes_text);
        return 2;
    }
    if (runs < 1) {
        fprintf(stderr, "bench-checkpoint: --runs must be positive\n");
        return 2;
    }
    guint64 count = (bytes + DD_BLOCK - 1) / DD_BLOCK;
    bytes = count * DD_BLOCK;

    const char *base = dir_opt ? dir_opt : g_getenv("SPOTLAB_BENCH_DIR");
    g_autofree char *cwd = g_get_current_dir();
    if (base == NULL || *base == '\0')
        base = cwd;
    g_autofree char *dir = g_build_filename(base, "bench-checkpoint-XXXXXX", NULL);
    if (g_mkdtemp(dir) == NULL) {
        fprintf(stderr, "bench-checkpoint: %s: cannot create a folder: %s\n", base,
                g_strerror(errno));
        return 2;
    }
    struct statvfs fs;
    if (statvfs(dir, &fs) == 0 && (guint64)fs.f_bavail * fs.f_frsize < 3 * bytes) {
        printf("bench-checkpoint: skipped: %s has %.1f GB free, the test needs %.1f GB\n", base,
               (double)fs.f_bavail * (double)fs.f_frsize / 1e9, 3 * (double)bytes / 1e9);
        g_rmdir(dir);
        return 77;
    }

    /* params, adam_m, adam_v: a third each; distinct, non-zero bytes. */
    static const char *names[] = {"params", "adam_m", "adam_v"};
    WorkloadSection sections[3];
    guint8 *payload[3];
    guint64 third = bytes / 3 / 4096 * 4096;
    for (int i = 0; i < 3; i++) {
        guint64 size = i < 2 ? third : bytes - 2 * third;
        payload[i] = g_malloc(size);
        guint64 x = 0x9e3779b97f4a7c15u * (guint64)(i + 1);
        for (guint64 o = 0; o + 8 <= size; o += 8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            memcpy(payload[i] + o, &x, 8);
        }
        sections[i] = (WorkloadSection){names[i], payload[i], size};
    }

    printf("checkpoint writes against dd: %.0f MiB per write, %d runs each, in %s\n",
           (double)bytes / (1 << 20), runs, dir);
    g_autofree double *dd = g_new(double, (gsize)runs);
    g_autofree double *ck = g_new(double, (gsize)runs);
    g_autofree double *ratio = g_new(double, (gsize)runs);
    gboolean ok = TRUE;
    double warm_dd = 0, warm_ck = 0;
    __clean(dir);
    ok = __run_dd(dir, count, &warm_dd);
    __clean(dir);
    ok = ok && __run_checkpoint(dir, 0, sections, &warm_ck);
    for (int r = 0; ok && r < runs; r++) {
        __clean(dir);
        ok = __run_dd(dir, count, &dd[r]);
        __clean(dir);
        ok = ok && __run_checkpoint(dir, (guint64)r + 1, sections, &ck[r]);
        if (ok) {
            ratio[r] = ck[r] / dd[r];
            printf("  run %d: dd %7.0f MB/s   checkpoint %7.0f MB/s   ratio %.3f\n", r + 1, dd[r],
                   ck[r], ratio[r]);
        }
    }
    __clean(dir);
    g_rmdir(dir);
    for (int i = 0; i < 3; i++)
        g_free(payload[i]);
    if (!ok)
        return 1;

    double dd_median = __median(dd, (guint)runs), ck_median = __median(ck, (guint)runs);
    double ratio_median = __median(ratio, (guint)runs);
    printf("dd          median %7.0f MB/s (min %.0f, max %.0f)\n", dd_median,
           __min(dd, (guint)runs), __max(dd, (guint)runs));
    printf("checkpoint  median %7.0f MB/s (min %.0f, max %.0f)\n", ck_median,
           __min(ck, (guint)runs), __max(ck, (guint)runs));
    printf("ratio of the medians %.3f; median of the per-run ratios %.3f; target >= %.2f: %s\n",
           ck_median / dd_median, ratio_median, TARGET_RATIO,
           ratio_median >= TARGET_RATIO ? "met" : "NOT met");
    return ratio_median >= TARGET_RATIO ? 0 : 1;
}
