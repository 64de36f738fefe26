/* spotlab validate: check scenario files without running them.
 *
 * Each file is loaded exactly as `spotlab run` loads it (scenario_load(): every trace imported,
 * every window, pool, strategy, sweep and expectation checked), so a file that validates runs
 * without an input error, and one that does not gets the message `spotlab run` would print. */
#include "commands.h"
#include "scenario.h"

#include <stdio.h>

/* "3 pools", "1 pool". */
static void
__count(GString *out, guint64 n, const char *one, const char *many)
{
    g_string_append_printf(out, "%s%" G_GUINT64_FORMAT " %s", out->len ? ", " : "", n,
                           n == 1 ? one : many);
}

/* What a valid scenario holds, for its "ok" line. */
static char *
__summary(const Scenario *sc)
{
    g_autoptr(GString) out = g_string_new(NULL);
    guint expectations = sc->expectations != NULL ? sc->expectations->len : 0;
    if (sc->model == SCENARIO_MODEL_CONTINUOUS) {
        g_string_append(out, "continuous model");
        __count(out, sc->replicas, "replica", "replicas");
        __count(out, sc->cloud->pools->len, "pool", "pools");
        __count(out, sc->strategies->len, "strategy", "strategies");
        /* A sweep variant is named after its strategy and more; a plain strategy has the name
         * its group has. */
        guint swept = 0;
        for (guint k = 0; k < sc->strategies->len; k++)
            swept += g_strcmp0(((const SimStrategy *)sc->strategies->pdata[k])->name,
                               sc->strategy_groups->pdata[k]) != 0;
        if (swept > 0)
            g_string_append_printf(out, ", %u of them sweep variants", swept);
    } else {
        g_string_append(out, "tick model");
        __count(out, sc->pools->len, "pool", "pools");
        __count(out, scenario_n_windows(sc), "window", "windows");
        __count(out, sc->n_policies, "policy", "policies");
    }
    __count(out, expectations, "expectation", "expectations");
    return g_string_free(g_steal_pointer(&out), FALSE);
}

int
cmd_validate(int argc, char **argv)
{
    gboolean quiet = FALSE;
    GOptionEntry entries[] = {
        {"quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Print only the errors", NULL},
        {NULL},
    };
    if (!cmd_parse_options("validate", "SCENARIO...",
                           "Check SCENARIO files as `spotlab run` reads them (traces, windows, "
                           "strategies, sweeps, expectations), without running them. Exit "
                           "status: 0 when every file is valid, 2 when any is not.",
                           entries, &argc, &argv))
        return SPOTLAB_EXIT_USAGE;
    if (argc < 2) {
        fprintf(stderr, "spotlab validate: expected one or more SCENARIO files, got none\n"
                        "Usage: spotlab validate [-q] SCENARIO...\n");
        return SPOTLAB_EXIT_USAGE;
    }
    int status = SPOTLAB_EXIT_OK;
    for (int i = 1; i < argc; i++) {
        g_autoptr(GError) error = NULL;
        g_autoptr(Scenario) sc = scenario_load(argv[i], &error);
        if (sc == NULL) {
            fprintf(stderr, "spotlab: %s\n", error->message);
            status = SPOTLAB_EXIT_USAGE;
            continue;
        }
        if (!quiet) {
            g_autofree char *summary = __summary(sc);
            printf("%s: ok (%s)\n", argv[i], summary);
        }
    }
    return status;
}
