/* spotlab benchmark: time from SIGTERM to a complete emergency checkpoint.
 *
 *   bench-notice [--runs N] [--after-steps K] [--dir DIR] -- PROGRAM [ARG...]
 *
 * Starts PROGRAM (spotlab-train by default, with --checkpoint-dir set to a fresh folder under
 * DIR) with SPOTLAB_PROGRESS_FD, waits for its K-th step line, sends SIGTERM, and measures from
 * the kill(2) call to the receipt of the notice line (reaction), of the checkpoint_end line
 * (the checkpoint is complete: written, fsynced, renamed) and to the process's exit. Prints
 * every run, the medians, and one JSON line with the medians for scripts (check-gpu.sh).
 * With --dd, each run is followed by `dd conv=fsync` of the checkpoint's size into the same
 * folder, and the checkpoint write bandwidth is also given as a fraction of dd's.
 * Exits 1 when a run does not end with a complete emergency checkpoint and exit status 75.
 */
#include "test-util.h"
#include "workload-util.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
__cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double
__median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, __cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* dd's bandwidth in GB/s writing @bytes with fsync to a file in @dir, or 0 when dd failed. */
static double
__dd_gbps(const char *dir, guint64 bytes)
{
    g_autofree char *of = g_strdup_printf("of=%s/dd.bin", dir);
    g_autofree char *count = g_strdup_printf("count=%" G_GUINT64_FORMAT, bytes / (8 << 20) + 1);
    const char *argv[] = {"dd", "if=/dev/zero", of, "bs=8M", count, "conv=fsync", NULL};
    const char *envp[] = {"LC_ALL=C", "PATH=/usr/bin:/bin", NULL};
    g_autofree char *err = NULL;
    int status = 0;
    gboolean ok = g_spawn_sync(NULL, (char **)argv, (char **)envp, G_SPAWN_SEARCH_PATH, NULL, NULL,
                               NULL, &err, &status, NULL);
    g_autofree char *file = g_build_filename(dir, "dd.bin", NULL);
    remove(file);
    /* "N bytes (...) copied, S s, R MB/s" */
    const char *copied = err != NULL ? strstr(err, "copied, ") : NULL;
    if (!ok || status != 0 || copied == NULL)
        return 0;
    const char *line = copied;
    while (line > err && line[-1] != '\n')
        line--;
    double written = g_ascii_strtod(line, NULL);
    double seconds = g_ascii_strtod(copied + strlen("copied, "), NULL);
    return seconds > 0 ? written / seconds / 1e9 : 0;
}

int
main(int argc, char **argv)
{
    gint runs = 5, after_steps = 3;
    gboolean dd = FALSE;
    g_autofree char *dir = NULL;
    GOptionEntry entries[] = {
        {"runs", 'r', 0, G_OPTION_ARG_INT, &runs, "runs (default 5)", "N"},
        {"after-steps", 'k', 0, G_OPTION_ARG_INT, &after_steps,
         "send SIGTERM after this step (default 3)", "K"},
        {"dir", 'd', 0, G_OPTION_ARG_FILENAME, &dir,
         "where the checkpoint folders go (default: SPOTLAB_BENCH_DIR, else the current folder)",
         "DIR"},
        {"dd", 0, 0, G_OPTION_ARG_NONE, &dd,
         "after each run, measure dd's sequential write bandwidth in the same folder", NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    g_autoptr(GOptionContext) context = g_option_context_new("-- PROGRAM [ARG...]");
    g_option_context_add_main_entries(context, entries, NULL);
    g_autoptr(GError) error = NULL;
    if (!g_option_context_parse(context, &argc, &argv, &error) || runs < 1 || after_steps < 1) {
        fprintf(stderr, "bench-notice: %s\n", error ? error->message : "bad --runs/--after-steps");
        return 2;
    }
    int first = 1;
    if (first < argc && strcmp(argv[first], "--") == 0)
        first++;
    const char *program = first < argc ? argv[first] : g_getenv("SPOTLAB_TRAIN_BIN");
    if (program == NULL) {
        fprintf(stderr, "bench-notice: name the program after --, or set SPOTLAB_TRAIN_BIN\n");
        return 2;
    }
    if (dir == NULL)
        dir = g_strdup(g_getenv("SPOTLAB_BENCH_DIR") ? g_getenv("SPOTLAB_BENCH_DIR") : ".");

    g_autofree double *react = g_new(double, runs), *complete = g_new(double, runs);
    g_autofree double *exited = g_new(double, runs), *gbps = g_new(double, runs);
    g_autofree double *dd_gbps = g_new0(double, runs), *ratio = g_new0(double, runs);
    guint64 bytes = 0;
    int failures = 0;
    for (int r = 0; r < runs; r++) {
        g_autofree char *tmpl = g_build_filename(dir, "bench-notice-XXXXXX", NULL);
        if (g_mkdtemp(tmpl) == NULL) {
            fprintf(stderr, "bench-notice: cannot make a folder under %s\n", dir);
            return 2;
        }
        g_autoptr(GPtrArray) args = g_ptr_array_new();
        g_ptr_array_add(args, (gpointer)program);
        for (int i = first + 1; i < argc; i++)
            g_ptr_array_add(args, argv[i]);
        g_ptr_array_add(args, (gpointer) "--checkpoint-dir");
        g_ptr_array_add(args, tmpl);
        g_ptr_array_add(args, NULL);
        g_autoptr(TestWorkload) w =
            test_workload_spawn((const char *const *)args->pdata, NULL, &error);
        if (w == NULL) {
            fprintf(stderr, "bench-notice: %s\n", error->message);
            return 2;
        }
        if (test_workload_wait_event(w, "step", after_steps, 3600) == NULL) {
            fprintf(stderr, "bench-notice: run %d: no step %d\n", r, after_steps);
            return 1;
        }
        gint64 t0 = g_get_monotonic_time();
        test_workload_signal(w, SIGTERM);
        json_t *notice = test_workload_wait_event(w, "notice", -1, 3600);
        json_t *end = test_workload_wait_event(w, "checkpoint_end", -1, 3600);
        int status = test_workload_wait(w, 3600);
        gint64 t_exit = g_get_monotonic_time();
        if (notice == NULL || end == NULL || status != 75 ||
            !json_is_true(json_object_get(end, "ok")) ||
            g_strcmp0(json_string_value(json_object_get(end, "kind")), "emergency") != 0) {
            fprintf(stderr, "bench-notice: run %d: no complete emergency checkpoint (exit %d)\n", r,
                    status);
            failures++;
            test_tmpdir_remove(tmpl);
            continue;
        }
        react[r] = (double)(test_workload_received_us(w, notice) - t0) / 1e3;
        complete[r] = (double)(test_workload_received_us(w, end) - t0) / 1e3;
        exited[r] = (double)(t_exit - t0) / 1e3;
        bytes = (guint64)json_integer_value(json_object_get(end, "bytes"));
        double write_s = json_number_value(json_object_get(end, "seconds"));
        gbps[r] = write_s > 0 ? (double)bytes / write_s / 1e9 : 0;
        printf("run %d: reaction %.1f ms, checkpoint complete %.1f ms (%.3f GB written at %.2f "
               "GB/s), exit %.1f ms after SIGTERM\n",
               r + 1, react[r], complete[r], (double)bytes / 1e9, gbps[r], exited[r]);
        if (dd) {
            test_tmpdir_remove(tmpl);
            g_mkdir_with_parents(tmpl, 0755);
            dd_gbps[r] = __dd_gbps(tmpl, bytes);
            ratio[r] = dd_gbps[r] > 0 ? gbps[r] / dd_gbps[r] : 0;
            printf("       dd of the same size in the same folder: %.2f GB/s; the checkpoint wrote "
                   "at %.2f of that\n",
                   dd_gbps[r], ratio[r]);
        }
        fflush(stdout);
        test_tmpdir_remove(tmpl);
    }
    if (failures > 0)
        return 1;
    double m_react = __median(react, runs), m_complete = __median(complete, runs);
    double m_exit = __median(exited, runs), m_gbps = __median(gbps, runs);
    printf("median of %d runs: reaction %.1f ms, SIGTERM to complete checkpoint %.1f ms, to exit "
           "%.1f ms; checkpoint %.3f GB at %.2f GB/s\n",
           runs, m_react, m_complete, m_exit, (double)bytes / 1e9, m_gbps);
    double m_dd = dd ? __median(dd_gbps, runs) : 0, m_ratio = dd ? __median(ratio, runs) : 0;
    if (dd)
        printf("dd median %.2f GB/s; median of the per-run ratios %.2f\n", m_dd, m_ratio);
    printf("{\"runs\": %d, \"checkpoint_bytes\": %" G_GUINT64_FORMAT
           ", \"reaction_ms\": %.1f, \"sigterm_to_checkpoint_ms\": %.1f, \"sigterm_to_exit_ms\": "
           "%.1f, \"checkpoint_write_gbps\": %.3f, \"dd_gbps\": %.3f, \"checkpoint_over_dd\": "
           "%.3f}\n",
           runs, bytes, m_react, m_complete, m_exit, m_gbps, m_dd, m_ratio);
    return 0;
}
