/* spotlab tests: comparing what training checkpoints hold (docs/checkpoints.md). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* DIR/ckpt-STEP.spck, as spotlab-train names it; free with g_free. */
char *test_checkpoint_path(const char *dir, gint64 step);

/* Whether the checkpoints at @a and @b hold the same bytes in every section of a training
 * state (config, position, params, adam_m, adam_v); says on stderr which differs. */
gboolean test_same_training_state(const char *a, const char *b);

G_END_DECLS
