/* spotlab: the subcommands of the command line. Each takes its own argv (argv[0] is the
 * subcommand's name), prints its own messages and returns an exit status. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

enum {
    SPOTLAB_EXIT_OK = 0,
    SPOTLAB_EXIT_GATE = 1,  /* an expectation or a comparison failed */
    SPOTLAB_EXIT_USAGE = 2, /* bad input, bad usage */
};

int cmd_run(int argc, char **argv);
int cmd_trace(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_imds(int argc, char **argv);
int cmd_testbed(int argc, char **argv);
int cmd_calibrate(int argc, char **argv);

/* Parses @argv with @entries for "spotlab @command"; prints the error and returns FALSE on bad
 * usage. */
gboolean cmd_parse_options(const char *command, const char *usage, const char *summary,
                           GOptionEntry *entries, int *argc, char ***argv);

/* The built-in training workload: spotlab-train beside this spotlab (installed, both in bindir;
 * the build tree, build/src and build/gpu-workloads/train), else on PATH; NULL when none. */
char *cmd_find_train(void);

G_END_DECLS
