/* spotlab run: simulate a scenario. */
#include "commands.h"
#include "expect.h"
#include "run-cloud.h"
#include "run.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <unistd.h>

/* spotlab-train beside this spotlab (installed: both in bindir; the build tree: build/src and
 * build/gpu-workloads/train), else on PATH. */
char *
cmd_find_train(void)
{
    g_autofree char *self = g_file_read_link("/proc/self/exe", NULL);
    if (self != NULL) {
        g_autofree char *dir = g_path_get_dirname(self);
        const char *const near[] = {"spotlab-train", "../gpu-workloads/train/spotlab-train"};
        for (gsize i = 0; i < G_N_ELEMENTS(near); i++) {
            g_autofree char *path = g_build_filename(dir, near[i], NULL);
            if (g_file_test(path, G_FILE_TEST_IS_REGULAR) &&
                g_file_test(path, G_FILE_TEST_IS_EXECUTABLE))
                return g_canonicalize_filename(path, NULL);
        }
    }
    return g_find_program_in_path("spotlab-train");
}

gboolean
cmd_parse_options(const char *command, const char *usage, const char *summary,
                  GOptionEntry *entries, int *argc, char ***argv)
{
    g_autofree char *prgname = g_strdup_printf("spotlab %s", command);
    g_set_prgname(prgname);
    g_autoptr(GOptionContext) ctx = g_option_context_new(usage);
    g_option_context_set_summary(ctx, summary);
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_autoptr(GError) error = NULL;
    if (!g_option_context_parse(ctx, argc, argv, &error)) {
        fprintf(stderr, "spotlab %s: %s\nRun 'spotlab %s --help' for the options.\n", command,
                error->message, command);
        return FALSE;
    }
    return TRUE;
}

typedef struct {
    gint64 started;
    const char *unit; /* what is counted: "replicas" or "windows" */
} Progress;

/* "40/200 replicas done, 45/s, 4 s left", rewritten in place on a terminal. */
static void
__progress(gsize done, gsize total, gpointer user_data)
{
    const Progress *p = user_data;
    double elapsed = (double)(g_get_monotonic_time() - p->started) / 1e6;
    double rate = elapsed > 0 ? (double)done / elapsed : 0;
    double left = rate > 0 ? (double)(total - done) / rate : 0;
    fprintf(stderr, "\r%zu/%zu %s done, %.0f/s, %.0f s left   ", done, total, p->unit, rate, left);
    if (done == total)
        fputs("\r\033[K", stderr);
    fflush(stderr);
}

/* Checks before the simulation, which may take minutes, that the results can be written where
 * -o says: into a folder that exists, and not over the scenario itself. */
static gboolean
__check_output(const char *output, const char *scenario)
{
    if (*output == '\0') {
        fprintf(stderr, "spotlab run: --output: expected a file name, got an empty one\n");
        return FALSE;
    }
    g_autofree char *dir = g_path_get_dirname(output);
    if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
        fprintf(stderr, "spotlab run: --output: cannot write %s: the folder %s does not exist\n",
                output, dir);
        return FALSE;
    }
    if (g_file_test(output, G_FILE_TEST_IS_DIR)) {
        fprintf(stderr, "spotlab run: --output: %s is a folder; expected a file name\n", output);
        return FALSE;
    }
    GStatBuf out_st, sc_st;
    if (g_stat(output, &out_st) == 0 && g_stat(scenario, &sc_st) == 0 &&
        out_st.st_dev == sc_st.st_dev && out_st.st_ino == sc_st.st_ino) {
        fprintf(stderr,
                "spotlab run: --output: %s is the scenario file; expected another file for "
                "the results\n",
                output);
        return FALSE;
    }
    return TRUE;
}

int
cmd_run(int argc, char **argv)
{
    g_autofree char *output = NULL;
    int threads = 0;
    gboolean quiet = FALSE, no_gate = FALSE;
    GOptionEntry entries[] = {
        {"output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
         "Write the full results as JSON to FILE (written atomically)", "FILE"},
        {"threads", 't', 0, G_OPTION_ARG_INT, &threads,
         "Worker threads (default: one per processor; results do not depend on it)", "N"},
        {"quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet,
         "Print no table and no progress; print failed expectations on stderr", NULL},
        {"no-gate", 0, 0, G_OPTION_ARG_NONE, &no_gate,
         "Measure the expectations but exit 0 when some fail (for baselines)", NULL},
        {NULL},
    };
    if (!cmd_parse_options("run", "SCENARIO", "Simulate SCENARIO and compare its policies.",
                           entries, &argc, &argv))
        return SPOTLAB_EXIT_USAGE;
    if (argc != 2) {
        fprintf(stderr,
                "spotlab run: expected one SCENARIO file, got %d\n"
                "Usage: spotlab run SCENARIO [-o RESULTS.json]\n",
                argc - 1);
        return SPOTLAB_EXIT_USAGE;
    }
    if (threads < 0) {
        fprintf(stderr, "spotlab run: --threads: expected a number >= 0, got %d\n", threads);
        return SPOTLAB_EXIT_USAGE;
    }

    if (output != NULL && !__check_output(output, argv[1]))
        return SPOTLAB_EXIT_USAGE;

    g_autoptr(GError) error = NULL;
    g_autoptr(Scenario) scenario = scenario_load(argv[1], &error);
    if (scenario == NULL) {
        fprintf(stderr, "spotlab: %s\n", error->message);
        return SPOTLAB_EXIT_USAGE;
    }
    Progress started = {g_get_monotonic_time(),
                        scenario->model == SCENARIO_MODEL_CONTINUOUS ? "replicas" : "windows"};
    gboolean show_progress = !quiet && isatty(STDERR_FILENO);
    g_autoptr(CloudResults) cloud = NULL;
    g_autoptr(RunResults) tick = NULL;
    json_t *doc;
    g_autofree char *table = NULL;
    if (scenario->model == SCENARIO_MODEL_CONTINUOUS) {
        cloud = cloud_run(scenario, (guint)threads, show_progress ? __progress : NULL, &started);
        doc = cloud_results_to_json(cloud);
        table = cloud_results_table(cloud);
    } else {
        tick = run_scenario(scenario, (guint)threads, show_progress ? __progress : NULL, &started);
        doc = run_results_to_json(tick);
        table = run_results_table(tick);
    }
    /* The expectations are measured on the results document itself, so that what the file says
     * and what the gate decided cannot differ. */
    json_t *verdicts = expect_evaluate(scenario, doc);
    gsize failed = expect_failures(verdicts);
    if (json_array_size(verdicts) > 0)
        json_object_set(doc, "expectations", verdicts);
    gboolean written = output == NULL || run_json_write(doc, output, &error);
    json_decref(doc);
    if (!written) {
        json_decref(verdicts);
        fprintf(stderr, "spotlab: %s\n", error->message);
        return SPOTLAB_EXIT_USAGE;
    }
    g_autofree char *verdict_lines = expect_table(verdicts, quiet);
    json_decref(verdicts);
    if (!quiet) {
        fputs(table, stdout);
        if (*verdict_lines != '\0')
            printf("\n%s", verdict_lines);
        if (output != NULL)
            printf("results: %s\n", output);
    } else if (failed > 0) {
        fputs(verdict_lines, stderr);
    }
    if (failed > 0 && !no_gate)
        return SPOTLAB_EXIT_GATE;
    return SPOTLAB_EXIT_OK;
}
