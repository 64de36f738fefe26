/* spotlab tests: comparing training checkpoints; see checkpoint-util.h. */
#include "checkpoint-util.h"

#include "checkpoint.h"

#include <stdio.h>
#include <string.h>

char *
test_checkpoint_path(const char *dir, gint64 step)
{
    g_autofree char *name = g_strdup_printf("ckpt-%012" G_GINT64_FORMAT ".spck", step);
    return g_build_filename(dir, name, NULL);
}

gboolean
test_same_training_state(const char *a, const char *b)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(WorkloadCheckpoint) ca = workload_checkpoint_load(a, &error);
    g_autoptr(WorkloadCheckpoint) cb = ca ? workload_checkpoint_load(b, &error) : NULL;
    if (cb == NULL) {
        fprintf(stderr, "%s\n", error->message);
        return FALSE;
    }
    const char *sections[] = {"config", "position", "params", "adam_m", "adam_v"};
    for (gsize i = 0; i < G_N_ELEMENTS(sections); i++) {
        guint64 na = 0, nb = 0;
        const void *da = workload_checkpoint_section(ca, sections[i], G_MAXUINT64, &na, NULL);
        const void *db = workload_checkpoint_section(cb, sections[i], G_MAXUINT64, &nb, NULL);
        if (da == NULL || db == NULL || na != nb || memcmp(da, db, na) != 0) {
            fprintf(stderr, "section %s differs between %s and %s\n", sections[i], a, b);
            return FALSE;
        }
    }
    return TRUE;
}
