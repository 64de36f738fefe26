/* spotlab: reading scenario fields with units and positions (see scenario-private.h). */
#include "scenario-private.h"

#include <math.h>
#include <string.h>

/* @field, or where its value really is when a sweep supplied it (see Ctx.moved_from); free
 * with g_free. */
static char *
__moved_field(const Ctx *ctx, const char *field)
{
    for (guint k = 0; field != NULL && k < ctx->n_moved; k++) {
        gsize len = strlen(ctx->moved_from[k]);
        if (strncmp(field, ctx->moved_from[k], len) == 0 &&
            (field[len] == '\0' || field[len] == '.' || field[len] == '['))
            return g_strconcat(ctx->moved_to[k], field + len, NULL);
    }
    return g_strdup(field);
}

gboolean
scenario__fail(Ctx *ctx, const char *field, const char *format, ...)
{
    g_autofree char *moved = __moved_field(ctx, field);
    va_list ap;
    va_start(ap, format);
    json_source_set_error_valist(ctx->src, ctx->error, SCENARIO_ERROR, SCENARIO_ERROR_INVALID,
                                 moved, format, ap);
    va_end(ap);
    return FALSE;
}

gboolean
scenario__check_keys(Ctx *ctx, json_t *obj, const char *field, const char *const *allowed)
{
    return json_source_check_keys(ctx->src, obj, field, allowed, SCENARIO_ERROR,
                                  SCENARIO_ERROR_INVALID, ctx->error);
}

gboolean
scenario__object(Ctx *ctx, json_t *v, const char *field, const char *what)
{
    if (json_is_object(v))
        return TRUE;
    g_autofree char *got = json_describe(v);
    return scenario__fail(ctx, field, "expected %s (an object), got %s", what, got);
}

char *
scenario__join(const char *field, const char *key)
{
    return json_field_join(field, key);
}

/* A duration member: a string with a unit or a number of seconds. @positive rejects 0. */
gboolean
scenario__duration_value(Ctx *ctx, json_t *v, const char *f, gboolean positive, double *out)
{
    double s;
    gboolean negative = FALSE;
    if (json_is_number(v)) {
        s = json_number_value(v);
    } else if (json_is_string(v) && json_string_value(v)[0] == '-' &&
               scenario_parse_duration(json_string_value(v) + 1, &s)) {
        /* "-5h" reads as a duration; what is wrong with it is the sign, so say that. */
        negative = s > 0;
    } else if (!json_is_string(v) || !scenario_parse_duration(json_string_value(v), &s)) {
        g_autofree char *got = json_describe(v);
        return scenario__fail(
            ctx, f,
            "expected a duration like \"43.2h\", \"12m\", \"1h30m\" or a number of "
            "seconds, got %s",
            got);
    }
    if (negative || !isfinite(s) || s < 0 || (positive && s == 0)) {
        g_autofree char *got = json_describe(v);
        return scenario__fail(ctx, f, "expected a duration %s, got %s", positive ? "> 0" : ">= 0",
                              got);
    }
    *out = s;
    return TRUE;
}

gboolean
scenario__duration(Ctx *ctx, json_t *obj, const char *field, const char *key, gboolean required,
                   gboolean positive, double *out)
{
    g_autofree char *f = scenario__join(field, key);
    json_t *v = json_object_get(obj, key);
    if (v == NULL) {
        if (required)
            return scenario__fail(ctx, f, "missing; expected a duration like \"43.2h\" or \"12m\"");
        return TRUE;
    }
    return scenario__duration_value(ctx, v, f, positive, out);
}

gboolean
scenario__price(Ctx *ctx, json_t *obj, const char *field, const char *key, double *out)
{
    g_autofree char *f = scenario__join(field, key);
    json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return TRUE;
    double p;
    if (json_is_number(v))
        p = json_number_value(v);
    else if (!json_is_string(v) || !scenario_parse_price(json_string_value(v), &p)) {
        g_autofree char *got = json_describe(v);
        return scenario__fail(
            ctx, f, "expected a price like \"$3.06/h\" or a number of USD per hour, got %s", got);
    }
    if (!isfinite(p) || p < 0) {
        g_autofree char *got = json_describe(v);
        return scenario__fail(ctx, f, "expected a price >= 0, got %s", got);
    }
    *out = p;
    return TRUE;
}

gboolean
scenario__string(Ctx *ctx, json_t *obj, const char *field, const char *key, gboolean required,
                 const char **out)
{
    g_autofree char *f = scenario__join(field, key);
    json_t *v = json_object_get(obj, key);
    if (v == NULL) {
        if (required)
            return scenario__fail(ctx, f, "missing; expected a string");
        return TRUE;
    }
    if (!json_is_string(v) || json_string_length(v) == 0) {
        g_autofree char *got = json_describe(v);
        return scenario__fail(ctx, f, "expected a non-empty string, got %s", got);
    }
    *out = json_string_value(v);
    return TRUE;
}

gboolean
scenario__uint(Ctx *ctx, json_t *obj, const char *field, const char *key, guint64 min, guint64 max,
               guint64 *out)
{
    g_autofree char *f = scenario__join(field, key);
    json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return TRUE;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (guint64)json_integer_value(v) < min ||
        (guint64)json_integer_value(v) > max) {
        g_autofree char *got = json_describe(v);
        return scenario__fail(ctx, f,
                              "expected a whole number from %" G_GUINT64_FORMAT
                              " to %" G_GUINT64_FORMAT ", got %s",
                              min, max, got);
    }
    *out = (guint64)json_integer_value(v);
    return TRUE;
}

gboolean
scenario__bool(Ctx *ctx, json_t *obj, const char *field, const char *key, gboolean *out)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return TRUE;
    if (!json_is_boolean(v)) {
        g_autofree char *f = scenario__join(field, key);
        g_autofree char *got = json_describe(v);
        return scenario__fail(ctx, f, "expected true or false, got %s", got);
    }
    *out = json_is_true(v);
    return TRUE;
}

gboolean
scenario__number(Ctx *ctx, json_t *obj, const char *field, const char *key, double min, double max,
                 double *out)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return TRUE;
    if (!json_is_number(v) || !isfinite(json_number_value(v)) || json_number_value(v) < min ||
        json_number_value(v) > max) {
        g_autofree char *f = scenario__join(field, key);
        g_autofree char *got = json_describe(v);
        return scenario__fail(ctx, f, "expected a number from %g to %g, got %s", min, max, got);
    }
    *out = json_number_value(v);
    return TRUE;
}

/* A number followed by one of @units, scaled by its factor. Units match without regard to case,
 * except that where bits and bytes both make sense (@bits_or_bytes) "b" and "B" must match as
 * written: "100Mb/s" is megabits, and reading it as megabytes would be off by eight. */
typedef struct {
    const char *unit;
    double factor;
} Unit;

static gboolean
__unit_is(const char *text, const char *unit, gboolean bits_or_bytes)
{
    for (; *text != '\0' && *unit != '\0'; text++, unit++) {
        if (bits_or_bytes && (*unit == 'b' || *unit == 'B')
                ? *text != *unit
                : g_ascii_tolower(*text) != g_ascii_tolower(*unit))
            return FALSE;
    }
    return *text == '\0' && *unit == '\0';
}

static gboolean
__parse_quantity(const char *text, const Unit *units, gsize n_units, gboolean bits_or_bytes,
                 double *out)
{
    const char *p = text;
    while (g_ascii_isspace(*p))
        p++;
    if (*p == '$')
        p++;
    if (!g_ascii_isdigit(*p) && *p != '.')
        return FALSE;
    char *end = NULL;
    double v = g_ascii_strtod(p, &end);
    if (end == p || !isfinite(v) || v < 0)
        return FALSE;
    p = end;
    while (*p == ' ')
        p++;
    for (gsize i = 0; i < n_units; i++) {
        if (__unit_is(p, units[i].unit, bits_or_bytes)) {
            *out = v * units[i].factor;
            return TRUE;
        }
    }
    return FALSE;
}

static const Unit size_units[] = {
    {"GB", 1},
    {"MB", 1e-3},
    {"TB", 1e3},
    {"kB", 1e-6},
    {"GiB", 1.073741824},
    {"MiB", 1.048576e-3},
    {"TiB", 1099.511627776},
};

gboolean
scenario_parse_size(const char *text, double *gb)
{
    return __parse_quantity(text, size_units, G_N_ELEMENTS(size_units), FALSE, gb);
}

static const Unit bandwidth_units[] = {
    {"GB/s", 1},
    {"MB/s", 1e-3},
    {"TB/s", 1e3},
    {"GiB/s", 1.073741824},
    {"MiB/s", 1.048576e-3},
    {"Gbit/s", 0.125},
    {"Gb/s", 0.125},
    {"Gbps", 0.125},
    {"Mbit/s", 1.25e-4},
    {"Mb/s", 1.25e-4},
    {"Mbps", 1.25e-4},
};

gboolean
scenario_parse_bandwidth(const char *text, double *gbps)
{
    return __parse_quantity(text, bandwidth_units, G_N_ELEMENTS(bandwidth_units), TRUE, gbps);
}

static const Unit rate_units[] = {
    {"%/h", 0.01},        {"%/hour", 0.01},   {"/h", 1},        {"/hour", 1},
    {"%/day", 0.01 / 24}, {"/day", 1.0 / 24}, {"/d", 1.0 / 24}, {"%/d", 0.01 / 24},
};

gboolean
scenario_parse_rate(const char *text, double *per_hour)
{
    return __parse_quantity(text, rate_units, G_N_ELEMENTS(rate_units), FALSE, per_hour);
}

/* A quantity member: a number in the base unit or a string parsed by @parse. @what says what
 * was expected ("a size like \"40GB\" ..."), @noun names the quantity in range errors ("a
 * size"); @positive rejects 0. */
static gboolean
__quantity(Ctx *ctx, json_t *obj, const char *field, const char *key, gboolean required,
           gboolean (*parse)(const char *, double *), gboolean positive, const char *noun,
           const char *what, double *out)
{
    g_autofree char *f = scenario__join(field, key);
    json_t *v = json_object_get(obj, key);
    if (v == NULL) {
        if (required)
            return scenario__fail(ctx, f, "missing; expected %s", what);
        return TRUE;
    }
    double x;
    gboolean negative = FALSE;
    if (json_is_number(v)) {
        x = json_number_value(v);
    } else if (json_is_string(v) && json_string_value(v)[0] == '-' &&
               parse(json_string_value(v) + 1, &x)) {
        /* "-40GB" reads as a size; what is wrong with it is the sign, so say that. */
        negative = x > 0;
    } else if (!json_is_string(v) || !parse(json_string_value(v), &x)) {
        g_autofree char *got = json_describe(v);
        return scenario__fail(ctx, f, "expected %s, got %s", what, got);
    }
    if (negative || !isfinite(x) || x < 0 || (positive && x == 0)) {
        g_autofree char *got = json_describe(v);
        return scenario__fail(ctx, f, "expected %s %s, got %s", noun, positive ? "> 0" : ">= 0",
                              got);
    }
    *out = x;
    return TRUE;
}

static gboolean
__parse_percent(const char *text, double *fraction)
{
    static const Unit percent[] = {{"%", 0.01}};
    return __parse_quantity(text, percent, 1, FALSE, fraction);
}

gboolean
scenario__fraction(Ctx *ctx, json_t *obj, const char *field, const char *key, double *out)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return TRUE;
    double x = 0;
    g_autofree char *f = scenario__join(field, key);
    gboolean ok = FALSE;
    if (json_is_number(v)) {
        x = json_number_value(v);
        ok = TRUE;
    } else if (json_is_string(v)) {
        const char *text = json_string_value(v);
        /* "-10%" reads as a percentage; what is wrong with it is the sign. */
        ok = text[0] == '-' ? __parse_percent(text + 1, &x) : __parse_percent(text, &x);
        if (ok && text[0] == '-')
            x = -x;
    }
    if (!ok) {
        g_autofree char *got = json_describe(v);
        return scenario__fail(ctx, f, "expected a fraction like 0.3 or \"30%%\", got %s", got);
    }
    if (!isfinite(x) || x < 0 || x > 1) {
        g_autofree char *got = json_describe(v);
        return scenario__fail(ctx, f, "expected a fraction from 0 to 1 (0%% to 100%%), got %s",
                              got);
    }
    *out = x;
    return TRUE;
}

gboolean
scenario__size(Ctx *ctx, json_t *obj, const char *field, const char *key, gboolean required,
               double *out)
{
    return __quantity(ctx, obj, field, key, required, scenario_parse_size, FALSE, "a size",
                      "a size like \"40GB\", \"500MB\" or a number of GB", out);
}

gboolean
scenario__bandwidth(Ctx *ctx, json_t *obj, const char *field, const char *key, double *out)
{
    return __quantity(ctx, obj, field, key, FALSE, scenario_parse_bandwidth, TRUE, "a bandwidth",
                      "a bandwidth like \"1GB/s\", \"500MB/s\", \"10Gbit/s\" or a number of "
                      "GB/s",
                      out);
}

gboolean
scenario__rate(Ctx *ctx, json_t *obj, const char *field, const char *key, double *out)
{
    return __quantity(ctx, obj, field, key, FALSE, scenario_parse_rate, FALSE, "a rate",
                      "a rate like \"4.1%/h\", \"0.5/day\" or a number per hour", out);
}

static gboolean
__parse_gb_price(const char *text, double *usd)
{
    static const Unit units[] = {{"/GB", 1}, {"/TB", 1e-3}, {"/GiB", 1 / 1.073741824}};
    return __parse_quantity(text, units, G_N_ELEMENTS(units), FALSE, usd);
}

static gboolean
__parse_gb_month_price(const char *text, double *usd)
{
    static const Unit units[] = {{"/GB-month", 1}, {"/GB/month", 1}, {"/TB-month", 1e-3}};
    return __parse_quantity(text, units, G_N_ELEMENTS(units), FALSE, usd);
}

gboolean
scenario__gb_price(Ctx *ctx, json_t *obj, const char *field, const char *key, gboolean per_month,
                   double *out)
{
    if (per_month)
        return __quantity(ctx, obj, field, key, FALSE, __parse_gb_month_price, FALSE,
                          "a storage price",
                          "a storage price like \"$0.023/GB-month\" or a "
                          "number of USD",
                          out);
    return __quantity(ctx, obj, field, key, FALSE, __parse_gb_price, FALSE, "a transfer price",
                      "a transfer price like \"$0.09/GB\" or a number of USD", out);
}
