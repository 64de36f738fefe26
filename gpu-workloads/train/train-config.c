/* spotlab workloads: TrainConfig as JSON and as command-line overrides, TrainPosition as bytes
 * (train-config.h). One table of fields drives reading, writing and overriding, so that no
 * field can be forgotten by one of them.
 */
#include "train-config.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

G_DEFINE_QUARK(spotlab - train - config - error - quark, train_config_error)

typedef enum { FIELD_NAME, FIELD_U32, FIELD_U64, FIELD_F32 } FieldType;

typedef struct {
    const char *name;
    FieldType type;
    size_t offset;
} Field;

#define FIELD(member, type)                                                                        \
    {                                                                                              \
#member, type, offsetof(TrainConfig, member)                                               \
    }
static const Field fields[] = {
    FIELD(name, FIELD_NAME),  FIELD(vocab, FIELD_U32),        FIELD(context, FIELD_U32),
    FIELD(embed, FIELD_U32),  FIELD(hidden, FIELD_U32),       FIELD(layers, FIELD_U32),
    FIELD(batch, FIELD_U32),  FIELD(warmup_steps, FIELD_U32), FIELD(total_steps, FIELD_U64),
    FIELD(lr_max, FIELD_F32), FIELD(lr_min, FIELD_F32),       FIELD(beta1, FIELD_F32),
    FIELD(beta2, FIELD_F32),  FIELD(eps, FIELD_F32),          FIELD(weight_decay, FIELD_F32),
    FIELD(seed, FIELD_U64),
};
#undef FIELD

static const char *field_names[G_N_ELEMENTS(fields) + 1];

const char *const *
train_config_fields(void)
{
    static gsize done = 0;
    if (g_once_init_enter(&done)) {
        for (gsize i = 0; i < G_N_ELEMENTS(fields); i++)
            field_names[i] = fields[i].name;
        field_names[G_N_ELEMENTS(fields)] = NULL;
        g_once_init_leave(&done, 1);
    }
    return field_names;
}

#define AT(cfg, f, type)       ((type *)(void *)((char *)(cfg) + (f)->offset))
#define AT_CONST(cfg, f, type) ((const type *)(const void *)((const char *)(cfg) + (f)->offset))

/* ---- JSON ---- */

json_t *
train_config_to_json_value(const TrainConfig *cfg)
{
    json_t *obj = json_object();
    for (gsize i = 0; i < G_N_ELEMENTS(fields); i++) {
        const Field *f = &fields[i];
        json_t *value = NULL;
        switch (f->type) {
        case FIELD_NAME:
            value = json_stringn(cfg->name, strnlen(cfg->name, sizeof cfg->name));
            break;
        case FIELD_U32:
            value = json_integer(*AT_CONST(cfg, f, uint32_t));
            break;
        case FIELD_U64: {
            const uint64_t v = *AT_CONST(cfg, f, uint64_t);
            if (v <= (uint64_t)INT64_MAX) {
                value = json_integer((json_int_t)v);
            } else {
                char text[32];
                g_snprintf(text, sizeof text, "%" G_GUINT64_FORMAT, v);
                value = json_string(text);
            }
            break;
        }
        case FIELD_F32:
            value = json_real((double)*AT_CONST(cfg, f, float));
            break;
        }
        json_object_set_new(obj, f->name, value);
    }
    return obj;
}

char *
train_config_to_json(const TrainConfig *cfg)
{
    json_t *obj = train_config_to_json_value(cfg);
    char *text = json_dumps(obj, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    json_decref(obj);
    g_autofree char *with_newline = g_strconcat(text, "\n", NULL);
    free(text);
    return g_steal_pointer(&with_newline);
}

/* The JSON text of @value for messages; free with g_free. */
static char *
describe_json(const json_t *value)
{
    char *text = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);
    char *copy = g_strdup(text != NULL ? text : "?");
    free(text);
    return copy;
}

static gboolean
read_field(const Field *f, const json_t *value, TrainConfig *cfg, GError **error)
{
    switch (f->type) {
    case FIELD_NAME: {
        if (!json_is_string(value) || json_string_length(value) == 0 ||
            json_string_length(value) >= sizeof cfg->name ||
            strlen(json_string_value(value)) != json_string_length(value))
            break;
        memset(cfg->name, 0, sizeof cfg->name);
        memcpy(cfg->name, json_string_value(value), json_string_length(value));
        return TRUE;
    }
    case FIELD_U32:
        if (!json_is_integer(value) || json_integer_value(value) < 0 ||
            json_integer_value(value) > (json_int_t)UINT32_MAX)
            break;
        *AT(cfg, f, uint32_t) = (uint32_t)json_integer_value(value);
        return TRUE;
    case FIELD_U64: {
        if (json_is_integer(value) && json_integer_value(value) >= 0) {
            *AT(cfg, f, uint64_t) = (uint64_t)json_integer_value(value);
            return TRUE;
        }
        guint64 v;
        if (json_is_string(value) &&
            g_ascii_string_to_unsigned(json_string_value(value), 10, 0, G_MAXUINT64, &v, NULL)) {
            *AT(cfg, f, uint64_t) = v;
            return TRUE;
        }
        break;
    }
    case FIELD_F32: {
        if (!json_is_number(value))
            break;
        const double v = json_number_value(value);
        if (!isfinite(v) || fabs(v) > (double)FLT_MAX)
            break;
        *AT(cfg, f, float) = (float)v;
        return TRUE;
    }
    }
    static const char *const expected[] = {
        [FIELD_NAME] = "a string of 1 to 15 bytes",
        [FIELD_U32] = "an integer in 0..4294967295",
        [FIELD_U64] = "an integer in 0..18446744073709551615 (or such a decimal string)",
        [FIELD_F32] = "a finite number within the float range",
    };
    g_autofree char *got = describe_json(value);
    g_set_error(error, TRAIN_CONFIG_ERROR, TRAIN_CONFIG_ERROR_FIELD,
                "config.%s: expected %s, got %s", f->name, expected[f->type], got);
    return FALSE;
}

gboolean
train_config_from_json_value(const json_t *obj, TrainConfig *cfg, GError **error)
{
    g_return_val_if_fail(cfg != NULL, FALSE);
    if (!json_is_object(obj)) {
        g_autofree char *got = describe_json(obj);
        g_set_error(error, TRAIN_CONFIG_ERROR, TRAIN_CONFIG_ERROR_PARSE,
                    "config: expected a JSON object, got %.40s", got);
        return FALSE;
    }
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)obj, key, value)
    {
        gboolean known = FALSE;
        for (gsize i = 0; i < G_N_ELEMENTS(fields) && !known; i++)
            known = strcmp(fields[i].name, key) == 0;
        if (!known) {
            g_autofree char *list = g_strjoinv(", ", (char **)train_config_fields());
            g_set_error(error, TRAIN_CONFIG_ERROR, TRAIN_CONFIG_ERROR_FIELD,
                        "config.%s: unknown field (expected one of: %s)", key, list);
            return FALSE;
        }
    }
    TrainConfig tmp;
    memset(&tmp, 0, sizeof tmp);
    for (gsize i = 0; i < G_N_ELEMENTS(fields); i++) {
        const json_t *v = json_object_get(obj, fields[i].name);
        if (v == NULL) {
            g_set_error(error, TRAIN_CONFIG_ERROR, TRAIN_CONFIG_ERROR_FIELD, "config.%s: missing",
                        fields[i].name);
            return FALSE;
        }
        if (!read_field(&fields[i], v, &tmp, error))
            return FALSE;
    }
    if (!train_config_validate(&tmp, error)) {
        g_prefix_error(error, "config.");
        return FALSE;
    }
    *cfg = tmp;
    return TRUE;
}

gboolean
train_config_from_json(const char *text, gssize len, TrainConfig *cfg, GError **error)
{
    g_return_val_if_fail(text != NULL, FALSE);
    json_error_t jerr;
    json_t *obj =
        json_loadb(text, len < 0 ? strlen(text) : (size_t)len, JSON_REJECT_DUPLICATES, &jerr);
    if (obj == NULL) {
        g_set_error(error, TRAIN_CONFIG_ERROR, TRAIN_CONFIG_ERROR_PARSE, "config:%d:%d: %s",
                    jerr.line, jerr.column, jerr.text);
        return FALSE;
    }
    const gboolean ok = train_config_from_json_value(obj, cfg, error);
    json_decref(obj);
    return ok;
}

/* ---- Overrides ---- */

gboolean
train_config_set(TrainConfig *cfg, const char *field, const char *value, GError **error)
{
    g_return_val_if_fail(cfg != NULL && field != NULL && value != NULL, FALSE);
    g_autofree char *key = g_strdelimit(g_strdup(field), "-", '_');
    const Field *f = NULL;
    for (gsize i = 0; i < G_N_ELEMENTS(fields) && f == NULL; i++) {
        if (strcmp(fields[i].name, key) == 0)
            f = &fields[i];
    }
    if (f == NULL) {
        g_autofree char *list = g_strjoinv(", ", (char **)train_config_fields());
        g_set_error(error, TRAIN_CONFIG_ERROR, TRAIN_CONFIG_ERROR_FIELD,
                    "unknown config field \"%s\" (expected one of: %s)", field, list);
        return FALSE;
    }
    switch (f->type) {
    case FIELD_NAME: {
        const size_t n = strlen(value);
        if (n == 0 || n >= sizeof cfg->name) {
            g_set_error(error, TRAIN_CONFIG_ERROR, TRAIN_CONFIG_ERROR_FIELD,
                        "%s: expected a name of 1 to 15 bytes, got \"%s\"", f->name, value);
            return FALSE;
        }
        memset(cfg->name, 0, sizeof cfg->name);
        memcpy(cfg->name, value, n);
        return TRUE;
    }
    case FIELD_U32:
    case FIELD_U64: {
        const guint64 max = f->type == FIELD_U32 ? G_MAXUINT32 : G_MAXUINT64;
        guint64 v;
        if (!g_ascii_string_to_unsigned(value, 10, 0, max, &v, NULL)) {
            g_set_error(error, TRAIN_CONFIG_ERROR, TRAIN_CONFIG_ERROR_FIELD,
                        "%s: expected an integer in 0..%" G_GUINT64_FORMAT ", got \"%s\"", f->name,
                        max, value);
            return FALSE;
        }
        if (f->type == FIELD_U32)
            *AT(cfg, f, uint32_t) = (uint32_t)v;
        else
            *AT(cfg, f, uint64_t) = v;
        return TRUE;
    }
    case FIELD_F32: {
        char *end = NULL;
        errno = 0;
        const double v = g_ascii_strtod(value, &end);
        if (*value == '\0' || end == NULL || *end != '\0' || errno != 0 || !isfinite(v) ||
            fabs(v) > (double)FLT_MAX) {
            g_set_error(error, TRAIN_CONFIG_ERROR, TRAIN_CONFIG_ERROR_FIELD,
                        "%s: expected a finite number like 3e-4, got \"%s\"", f->name, value);
            return FALSE;
        }
        *AT(cfg, f, float) = (float)v;
        return TRUE;
    }
    }
    g_assert_not_reached();
}

/* ---- Validation ---- */

#define INVALID(...)                                                                               \
    do {                                                                                           \
        g_set_error(error, TRAIN_CONFIG_ERROR, TRAIN_CONFIG_ERROR_INVALID, __VA_ARGS__);           \
        return FALSE;                                                                              \
    } while (0)

static gboolean
check_size(const char *name, uint32_t value, uint32_t max, GError **error)
{
    if (value < 1 || value > max)
        INVALID("%s: expected a size in 1..%u, got %u", name, max, value);
    return TRUE;
}

static gboolean
check_unit(const char *name, float value, GError **error)
{
    if (!(value >= 0.0f && value < 1.0f))
        INVALID("%s: expected a value in [0, 1), got %g", name, (double)value);
    return TRUE;
}

gboolean
train_config_validate(const TrainConfig *cfg, GError **error)
{
    g_return_val_if_fail(cfg != NULL, FALSE);
    const size_t name_len = strnlen(cfg->name, sizeof cfg->name);
    if (name_len == 0 || name_len == sizeof cfg->name)
        INVALID("name: expected a name of 1 to 15 bytes");
    if (cfg->vocab != TRAIN_VOCAB)
        INVALID("vocab: expected %d (the corpus alphabet), got %u", TRAIN_VOCAB, cfg->vocab);
    if (!check_size("context", cfg->context, 4096, error) ||
        !check_size("embed", cfg->embed, 65536, error) ||
        !check_size("hidden", cfg->hidden, 65536, error) ||
        !check_size("layers", cfg->layers, 1024, error) ||
        !check_size("batch", cfg->batch, 65536, error))
        return FALSE;
    /* cuBLAS takes dimensions and leading dimensions as int. */
    const uint64_t in0 = (uint64_t)cfg->context * cfg->embed;
    if (in0 > (uint64_t)INT32_MAX)
        INVALID("embed: context x embed = %" G_GUINT64_FORMAT " exceeds 2^31 - 1", in0);
    const uint64_t params = train_param_count(cfg);
    if (params > (G_GUINT64_CONSTANT(1) << 32))
        INVALID("hidden: the model would have %" G_GUINT64_FORMAT " parameters, more than 2^32",
                params);
    if (cfg->total_steps < 1)
        INVALID("total_steps: expected at least 1, got 0");
    if (cfg->warmup_steps > cfg->total_steps)
        INVALID("warmup_steps: expected at most total_steps (%" G_GUINT64_FORMAT "), got %u",
                cfg->total_steps, cfg->warmup_steps);
    if (!(cfg->lr_max > 0.0f && cfg->lr_max <= 1.0f))
        INVALID("lr_max: expected a rate in (0, 1], got %g", (double)cfg->lr_max);
    if (!(cfg->lr_min >= 0.0f && cfg->lr_min <= cfg->lr_max))
        INVALID("lr_min: expected a rate in [0, lr_max = %g], got %g", (double)cfg->lr_max,
                (double)cfg->lr_min);
    if (!check_unit("beta1", cfg->beta1, error) || !check_unit("beta2", cfg->beta2, error))
        return FALSE;
    if (!(cfg->eps > 0.0f && cfg->eps < 1.0f))
        INVALID("eps: expected a value in (0, 1), got %g", (double)cfg->eps);
    if (!(cfg->weight_decay >= 0.0f && (double)cfg->weight_decay * (double)cfg->lr_max < 1.0))
        INVALID("weight_decay: expected a value >= 0 with lr_max x weight_decay < 1, got %g",
                (double)cfg->weight_decay);
    return TRUE;
}

/* ---- Position ---- */

static void
put_u64(guint8 *out, guint64 v)
{
    const guint64 le = GUINT64_TO_LE(v);
    memcpy(out, &le, sizeof le);
}

static guint64
get_u64(const guint8 *in)
{
    guint64 le;
    memcpy(&le, in, sizeof le);
    return GUINT64_FROM_LE(le);
}

void
train_position_encode(const TrainPosition *pos, guint8 *out)
{
    g_return_if_fail(pos != NULL && out != NULL);
    put_u64(out + 0, pos->step);
    put_u64(out + 8, pos->adam_t);
    put_u64(out + 16, pos->tokens_seen);
    for (int i = 0; i < 4; i++)
        put_u64(out + 24 + 8 * i, pos->rng.s[i]);
    put_u64(out + 56, pos->rng.key);
}

gboolean
train_position_decode(const guint8 *data, gsize size, TrainPosition *pos, GError **error)
{
    g_return_val_if_fail(pos != NULL && (data != NULL || size == 0), FALSE);
    if (size != TRAIN_POSITION_SIZE) {
        g_set_error(error, TRAIN_CONFIG_ERROR, TRAIN_CONFIG_ERROR_POSITION,
                    "position: expected %d bytes, got %" G_GSIZE_FORMAT, TRAIN_POSITION_SIZE, size);
        return FALSE;
    }
    TrainPosition p;
    p.step = get_u64(data + 0);
    p.adam_t = get_u64(data + 8);
    p.tokens_seen = get_u64(data + 16);
    for (int i = 0; i < 4; i++)
        p.rng.s[i] = get_u64(data + 24 + 8 * i);
    p.rng.key = get_u64(data + 56);
    if ((p.rng.s[0] | p.rng.s[1] | p.rng.s[2] | p.rng.s[3]) == 0) {
        g_set_error(error, TRAIN_CONFIG_ERROR, TRAIN_CONFIG_ERROR_POSITION,
                    "position: the sampler's RNG state is all zero, which xoshiro256** never "
                    "reaches");
        return FALSE;
    }
    *pos = p;
    return TRUE;
}
