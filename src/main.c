/* spotlab: the command. Subcommands wire the parts together; only this file prints and picks
 * exit codes: 0 success, 1 a gate failed, 2 bad input or usage. */
#include "commands.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"run", cmd_run, "simulate a scenario, report what each policy cost, check its expectations"},
    {"validate", cmd_validate, "check scenario files without running them"},
    {"compare", cmd_compare, "compare two results files and fail on a significant regression"},
    {"report", cmd_report, "render results as HTML, Markdown, JUnit XML, CSV or merged JSON"},
    {"trace", cmd_trace, "inspect, convert and make traces (info, convert, synth, formats)"},
    {"imds", cmd_imds, "serve an emulated cloud metadata service with termination notices"},
    {"testbed", cmd_testbed, "run a job across a schedule of spot instances and measure it"},
    {"calibrate", cmd_calibrate, "measure a workload's step, startup and checkpoint times"},
};

static void
__usage(FILE *out)
{
    fprintf(out, "Usage: spotlab COMMAND [OPTION...]\n\n"
                 "Replays spot and preemptible capacity traces against a job and its policies.\n\n"
                 "Commands:\n");
    for (gsize i = 0; i < G_N_ELEMENTS(commands); i++)
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(
        out,
        "\nOptions:\n"
        "  -h, --help     show this help\n"
        "  --version      print the version\n\n"
        "Run 'spotlab COMMAND --help' for a command's options.\n"
        "Exit status: 0 success, 1 an expectation or a comparison failed, 2 bad input or usage.\n");
}

int
main(int argc, char **argv)
{
    setlocale(LC_ALL, "");
    /* Numbers are written the same everywhere: "3.06", never "3,06", in tables and files. */
    setlocale(LC_NUMERIC, "C");
    if (argc < 2) {
        __usage(stderr);
        return SPOTLAB_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("spotlab %s\n", SPOTLAB_VERSION);
        return SPOTLAB_EXIT_OK;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        __usage(stdout);
        return SPOTLAB_EXIT_OK;
    }
    for (gsize i = 0; i < G_N_ELEMENTS(commands); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "spotlab: unknown command '%s'\n\n", argv[1]);
    __usage(stderr);
    return SPOTLAB_EXIT_USAGE;
}
