/* spotlab workloads: the training configuration and position as they are stored.
 *
 * A TrainConfig (model.h) travels as a JSON object with one member per field, in the order of
 * train_config_fields(); it is the "config" section of a training checkpoint and what
 * `--config` files hold. 64-bit fields are JSON integers, or decimal strings above
 * 2^63 - 1 (which a JSON integer cannot hold in jansson); floats are written with 17 digits,
 * so a round trip is exact. Reading is strict: unknown, missing, duplicate or mistyped members
 * are errors that name the member.
 *
 * A TrainPosition is where a run stands: the next step, the Adam step count, the tokens seen
 * and the batch sampler's RNG. It is the "position" section of a checkpoint, in a fixed
 * little-endian layout of TRAIN_POSITION_SIZE bytes:
 *   offset  0  u64 step          steps completed (the next step to run, 0-based)
 *   offset  8  u64 adam_t        AdamW updates made (the next update uses adam_t + 1)
 *   offset 16  u64 tokens_seen   target tokens trained on
 *   offset 24  u64 rng.s[0..3]   xoshiro256** state of the batch sampler (4 x 8 bytes)
 *   offset 56  u64 rng.key       its derivation key
 *
 * This header is for C only (GLib, jansson); the CUDA sources include model.h alone.
 */
#pragma once

#include <glib.h>
#include <jansson.h>

#include "model.h"
#include "rng.h"

G_BEGIN_DECLS

#define TRAIN_CONFIG_ERROR (train_config_error_quark())
GQuark train_config_error_quark(void);

typedef enum {
    TRAIN_CONFIG_ERROR_PARSE,    /* not JSON, or not an object (message has line and column) */
    TRAIN_CONFIG_ERROR_FIELD,    /* unknown, missing or mistyped field, or a bad value */
    TRAIN_CONFIG_ERROR_INVALID,  /* fields that parse but do not make a trainable model */
    TRAIN_CONFIG_ERROR_POSITION, /* a position section of the wrong size or state */
} TrainConfigError;

/* The field names in JSON order, NULL-terminated: name, vocab, context, embed, hidden, layers,
 * batch, warmup_steps, total_steps, lr_max, lr_min, beta1, beta2, eps, weight_decay, seed. */
const char *const *train_config_fields(void);

/* The JSON object of @cfg (a new reference). */
json_t *train_config_to_json_value(const TrainConfig *cfg);

/* The JSON text of @cfg, indented, with a final newline; free with g_free. */
char *train_config_to_json(const TrainConfig *cfg);

/**
 * train_config_from_json_value:
 * Reads every field of @obj into @cfg and validates the result. Errors name the field:
 * "config.hidden: expected an integer in 0..4294967295, got -1". @cfg is left alone on error.
 */
gboolean train_config_from_json_value(const json_t *obj, TrainConfig *cfg, GError **error);

/* As train_config_from_json_value() from JSON text of @len bytes (-1: NUL-terminated); parse
 * errors read "config:LINE:COLUMN: what jansson said". */
gboolean train_config_from_json(const char *text, gssize len, TrainConfig *cfg, GError **error);

/**
 * train_config_set:
 * Sets @field ("hidden", or "total-steps" / "total_steps") of @cfg from the text @value, as a
 * command-line option does: "hidden", "512". Checks the value's syntax and range for the
 * field's type (TRAIN_CONFIG_ERROR_FIELD, message "hidden: expected ..., got \"abc\"") but not
 * the whole config: call train_config_validate() after the last override. The name field is
 * left as it is.
 */
gboolean train_config_set(TrainConfig *cfg, const char *field, const char *value, GError **error);

/**
 * train_config_validate:
 * Checks that @cfg makes a trainable model: vocab == TRAIN_VOCAB, positive sizes within
 * limits (matrix dimensions fit cuBLAS's int, at most 2^32 parameters), warmup_steps <=
 * total_steps, 0 <= lr_min <= lr_max, betas in [0, 1), eps > 0, weight_decay >= 0.
 * Returns: FALSE with TRAIN_CONFIG_ERROR_INVALID naming the first bad field.
 */
gboolean train_config_validate(const TrainConfig *cfg, GError **error);

#define TRAIN_POSITION_SIZE 64

typedef struct {
    guint64 step;        /* steps completed */
    guint64 adam_t;      /* AdamW updates made */
    guint64 tokens_seen; /* target tokens trained on */
    SimRng rng;          /* the batch sampler */
} TrainPosition;

/* Writes @pos in the layout above into @out (TRAIN_POSITION_SIZE bytes). */
void train_position_encode(const TrainPosition *pos, guint8 *out);

/* Reads a position from @size bytes at @data. Fails (TRAIN_CONFIG_ERROR_POSITION) when @size
 * is not TRAIN_POSITION_SIZE or the RNG state is all zero, which xoshiro256** never reaches. */
gboolean train_position_decode(const guint8 *data, gsize size, TrainPosition *pos, GError **error);

G_END_DECLS
