/* spotlab benchmark: the testbed under load.
 *
 *   bench-testbed-load [--jobs 64] [--dir DIR] [-- PROGRAM ARG...]
 *
 * Runs --jobs supervisors at once on one main loop, each with one instance of spotlab-train
 * (tiny, training flat out) on AWS, Google or Azure in turn, whose notice comes between 1 and
 * 2 s after its start, with a 1 s lead and a 0.5 s grace. Every scheduled delivery of a notice
 * or a kill (metadata notice, SIGTERM, reclaim, SIGKILL) is recorded with when it was due and
 * when it happened; the benchmark prints how late they were (median, p99, max) and fails when p99
 * is 50 ms or more. The workloads themselves keep both cores busy, which is the point: the
 * supervisor must keep its schedule while the machine is saturated.
 */
#include "supervisor.h"
#include "test-util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
__cmp_gint64(const void *a, const void *b)
{
    gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;
    return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
    gint jobs = 64;
    g_autofree char *dir = NULL;
    GOptionEntry entries[] = {
        {"jobs", 'j', 0, G_OPTION_ARG_INT, &jobs, "concurrent workloads (default 64)", "N"},
        {"dir", 'd', 0, G_OPTION_ARG_FILENAME, &dir,
         "where the checkpoint folders go (default: SPOTLAB_BENCH_DIR, else the current folder)",
         "DIR"},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    g_autoptr(GOptionContext) context = g_option_context_new("[-- PROGRAM ARG...]");
    g_option_context_add_main_entries(context, entries, NULL);
    g_autoptr(GError) error = NULL;
    if (!g_option_context_parse(context, &argc, &argv, &error) || jobs < 1) {
        fprintf(stderr, "bench-testbed-load: %s\n", error ? error->message : "bad --jobs");
        return 2;
    }
    int first = 1;
    if (first < argc && strcmp(argv[first], "--") == 0)
        first++;
    const char *program = first < argc ? argv[first] : g_getenv("SPOTLAB_TRAIN_BIN");
    if (program == NULL) {
        fprintf(stderr, "bench-testbed-load: name the program after --, or set "
                        "SPOTLAB_TRAIN_BIN\n");
        return 2;
    }
    if (dir == NULL)
        dir = g_strdup(g_getenv("SPOTLAB_BENCH_DIR") ? g_getenv("SPOTLAB_BENCH_DIR") : ".");
    g_autofree char *root = g_build_filename(dir, "bench-testbed-XXXXXX", NULL);
    if (g_mkdtemp(root) == NULL) {
        fprintf(stderr, "bench-testbed-load: cannot make a folder under %s\n", dir);
        return 2;
    }

    static const HarnessImdsCloud clouds[] = {HARNESS_IMDS_AWS, HARNESS_IMDS_GCP,
                                              HARNESS_IMDS_AZURE};
    g_autoptr(GPtrArray) sups =
        g_ptr_array_new_with_free_func((GDestroyNotify)harness_supervisor_free);
    int status = 0;
    for (int j = 0; j < jobs; j++) {
        g_autofree char *ckdir = g_strdup_printf("%s/job-%d", root, j);
        const char *args[] = {program,     "--preset",
                              "tiny",      "--steps",
                              "100000000", "--log-every",
                              "0",         "--checkpoint-dir",
                              ckdir,       "--notice-cloud",
                              "{cloud}",   "--notice-poll",
                              "200ms",     NULL};
        HarnessInstanceSpec spec;
        harness_instance_spec_init(&spec, clouds[j % 3]);
        spec.notice_after_us = G_USEC_PER_SEC + (gint64)j * G_USEC_PER_SEC / jobs;
        spec.notice_lead_us = G_USEC_PER_SEC;
        spec.grace_us = G_USEC_PER_SEC / 2;
        HarnessSupervisorConfig cfg = {
            .argv = args,
            .schedule = {.instances = &spec, .n_instances = 1, .restart_delay_us = 0},
        };
        HarnessSupervisor *sup = harness_supervisor_new(&cfg, &error);
        if (sup == NULL || !harness_supervisor_start(sup, NULL, &error)) {
            fprintf(stderr, "bench-testbed-load: job %d: %s\n", j, error->message);
            harness_supervisor_free(sup);
            status = 2;
            break;
        }
        g_ptr_array_add(sups, sup);
    }
    for (gboolean all_done = FALSE; status == 0 && !all_done;) {
        g_main_context_iteration(NULL, TRUE);
        all_done = TRUE;
        for (guint i = 0; i < sups->len && all_done; i++)
            all_done = harness_supervisor_is_done(g_ptr_array_index(sups, i));
    }

    g_autoptr(GArray) late = g_array_new(FALSE, FALSE, sizeof(gint64));
    guint notices_seen = 0, checkpoints = 0;
    for (guint i = 0; i < sups->len; i++) {
        const HarnessRunRecord *rec = harness_supervisor_record(g_ptr_array_index(sups, i));
        for (guint k = 0; k < rec->deliveries->len; k++) {
            const HarnessDelivery *d = &g_array_index(rec->deliveries, HarnessDelivery, k);
            /* Notices and kills; a start is a process launch, which takes what fork and exec
             * take, and 64 of them are due at the same moment. */
            if (d->actual_us < 0 || strcmp(d->what, "start") == 0)
                continue;
            gint64 l = d->actual_us - d->scheduled_us;
            g_array_append_val(late, l);
        }
        for (guint k = 0; k < rec->interruptions->len; k++) {
            const HarnessInterruption *it =
                &g_array_index(rec->interruptions, HarnessInterruption, k);
            notices_seen += it->reaction_us >= 0;
            checkpoints += it->checkpoint_ok;
        }
    }
    g_ptr_array_set_size(sups, 0);
    test_tmpdir_remove(root);
    if (status != 0)
        return status;
    if (late->len == 0) {
        fprintf(stderr, "bench-testbed-load: no delivery was recorded\n");
        return 1;
    }
    qsort(late->data, late->len, sizeof(gint64), __cmp_gint64);
    gint64 *v = (gint64 *)late->data;
    double p50 = (double)v[late->len / 2] / 1e3;
    double p99 = (double)v[MIN(late->len - 1, (late->len * 99 + 99) / 100 - 1)] / 1e3;
    double max = (double)v[late->len - 1] / 1e3;
    printf("%d concurrent workloads, %u notices and kills: late by %.2f ms (median), %.2f ms "
           "(p99), %.2f ms (max); %u notices seen, %u emergency checkpoints complete\n",
           jobs, late->len, p50, p99, max, notices_seen, checkpoints);
    printf("{\"jobs\": %d, \"deliveries\": %u, \"late_p50_ms\": %.3f, \"late_p99_ms\": %.3f, "
           "\"late_max_ms\": %.3f, \"notices_seen\": %u, \"checkpoints\": %u}\n",
           jobs, late->len, p50, p99, max, notices_seen, checkpoints);
    if (p99 >= 50.0) {
        printf("target: p99 under 50 ms: missed\n");
        return 1;
    }
    printf("target: p99 under 50 ms: met\n");
    return 0;
}
