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
    {"run", cmd_run, "simulate a scenario and report what each policy cost"},
    {"trace", cmd_trace, "inspect, convert and make traces (info, convert, synth, formats)"},
};

static void
__usage(FILE *out)
{
    fprintf(out, "Usage: spotlab COMMAND [OPTION...]\n\n"
                 "Replays spot and preemptible capacity traces against a job and its policies.\n\n"
                 "Commands:\n");
    for (gsize i = 0; i < G_N_ELEMENTS(commands); i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nOptions:\n"
                 "  -h, --help     show this help\n"
                 "  --version      print the version\n\n"
                 "Run 'spotlab COMMAND --help' for a command's options.\n"
                 "Exit status: 0 success, 1 an expectation failed, 2 bad input or usage.\n");
}

int
main(int argc, char **argv)
{
    setlocale(LC_ALL, "");
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
