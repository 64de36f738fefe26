/* spotlab: workload profiles (see profile.h and docs/calibration.md). */
#include "profile.h"

#include "scenario-private.h"

#include <math.h>
#include <string.h>

#define FAIL scenario__fail

/* A member that only informs (where and how the profile was measured): checked for its type so
 * that a damaged file is noticed, not read. */
static gboolean
__informs(Ctx *ctx, json_t *root, const char *key, json_type type, gboolean nullable)
{
    json_t *v = json_object_get(root, key);
    if (v == NULL || json_typeof(v) == type || (nullable && json_is_null(v)))
        return TRUE;
    static const char *const names[] = {
        [JSON_OBJECT] = "an object",    [JSON_ARRAY] = "a list",  [JSON_STRING] = "a string",
        [JSON_INTEGER] = "a number",    [JSON_REAL] = "a number", [JSON_TRUE] = "true or false",
        [JSON_FALSE] = "true or false", [JSON_NULL] = "null",
    };
    g_autofree char *got = json_describe(v);
    return FAIL(ctx, key, "expected %s%s, got %s", names[type], nullable ? " or null" : "", got);
}

static gboolean
__checkpoint(Ctx *ctx, json_t *ck, Profile *out)
{
    static const char *const keys[] = {"size",    "write",         "write_fixed",  "write_time",
                                       "restore", "restore_fixed", "restore_time", NULL};
    if (!scenario__object(ctx, ck, "checkpoint", "the checkpoint's costs") ||
        !scenario__check_keys(ctx, ck, "checkpoint", keys) ||
        !scenario__size(ctx, ck, "checkpoint", "size", TRUE, &out->checkpoint_gb) ||
        !scenario__bandwidth(ctx, ck, "checkpoint", "write", &out->write_gbps) ||
        !scenario__bandwidth(ctx, ck, "checkpoint", "restore", &out->restore_gbps) ||
        !scenario__duration(ctx, ck, "checkpoint", "write_fixed", FALSE, FALSE,
                            &out->write_fixed_seconds) ||
        !scenario__duration(ctx, ck, "checkpoint", "restore_fixed", FALSE, FALSE,
                            &out->restore_fixed_seconds))
        return FALSE;
    /* The times at the profile's size are what the fit was made from: read, not used. */
    double unused;
    if (!scenario__duration(ctx, ck, "checkpoint", "write_time", FALSE, FALSE, &unused) ||
        !scenario__duration(ctx, ck, "checkpoint", "restore_time", FALSE, FALSE, &unused))
        return FALSE;
    for (int k = 0; k < 2 && out->checkpoint_gb > 0; k++) {
        const char *what = k == 0 ? "write" : "restore";
        if ((k == 0 ? out->write_gbps : out->restore_gbps) > 0)
            continue;
        g_autofree char *f = scenario__join("checkpoint", what);
        return FAIL(ctx, f, "missing; expected the bandwidth to %s the checkpoint, like \"1GB/s\"",
                    what);
    }
    if (out->checkpoint_gb == 0)
        out->write_gbps = out->restore_gbps = out->write_fixed_seconds =
            out->restore_fixed_seconds = 0;
    return TRUE;
}

gboolean
profile_load(const char *path, Profile *out, GError **error)
{
    static const char *const keys[] = {
        "kind",  "version",   "measured",         "machine", "workload",       "runs",
        "steps", "step_time", "step_time_spread", "startup", "startup_detail", "checkpoint",
        "fit",   "variant",   "points",           NULL};
    g_autoptr(JsonSource) src =
        json_source_load(path, TRUE, "a profile object {\"kind\": \"spotlab-profile\", ...}",
                         SCENARIO_ERROR, SCENARIO_ERROR_IO, SCENARIO_ERROR_PARSE, error);
    if (src == NULL)
        return FALSE;
    Ctx ctx_ = {.src = src, .error = error}, *ctx = &ctx_;
    json_t *root = src->root;
    if (!json_is_object(root)) {
        g_autofree char *got = json_describe(root);
        return FAIL(ctx, NULL,
                    "expected a profile object {\"kind\": \"spotlab-profile\", ...} (`spotlab "
                    "calibrate` writes them), got %s",
                    got);
    }
    /* The kind first: a scenario or a results file named by mistake should be called that, not
     * a profile with unknown keys. */
    json_t *kind = json_object_get(root, "kind");
    if (kind == NULL)
        return FAIL(ctx, "kind",
                    "missing; expected \"%s\" (a profile that `spotlab calibrate` writes)",
                    PROFILE_KIND);
    if (!json_is_string(kind) || strcmp(json_string_value(kind), PROFILE_KIND) != 0) {
        g_autofree char *got = json_describe(kind);
        return FAIL(ctx, "kind",
                    "expected \"%s\" (a profile that `spotlab calibrate` writes), got %s",
                    PROFILE_KIND, got);
    }
    json_t *version = json_object_get(root, "version");
    if (version == NULL)
        return FAIL(ctx, "version", "missing; expected %d", PROFILE_VERSION);
    if (!json_is_integer(version) || json_integer_value(version) != PROFILE_VERSION) {
        g_autofree char *got = json_describe(version);
        return FAIL(ctx, "version", "expected %d (the profile version this spotlab reads), got %s",
                    PROFILE_VERSION, got);
    }
    if (!scenario__check_keys(ctx, root, "", keys))
        return FALSE;

    *out = (Profile){0};
    guint64 count = 1;
    if (!scenario__duration(ctx, root, "", "step_time", TRUE, TRUE, &out->step_seconds) ||
        !scenario__duration(ctx, root, "", "startup", FALSE, FALSE, &out->startup_seconds) ||
        !scenario__uint(ctx, root, "", "runs", 1, G_MAXUINT32, &count) ||
        !scenario__uint(ctx, root, "", "steps", 1, G_MAXINT64, &count) ||
        !__informs(ctx, root, "measured", JSON_STRING, FALSE) ||
        !__informs(ctx, root, "machine", JSON_OBJECT, FALSE) ||
        !__informs(ctx, root, "workload", JSON_OBJECT, FALSE) ||
        !__informs(ctx, root, "step_time_spread", JSON_OBJECT, FALSE) ||
        !__informs(ctx, root, "startup_detail", JSON_OBJECT, FALSE) ||
        !__informs(ctx, root, "fit", JSON_OBJECT, FALSE) ||
        !__informs(ctx, root, "variant", JSON_OBJECT, TRUE) ||
        !__informs(ctx, root, "points", JSON_ARRAY, FALSE))
        return FALSE;
    json_t *ck = json_object_get(root, "checkpoint");
    if (ck != NULL && !__checkpoint(ctx, ck, out))
        return FALSE;
    return TRUE;
}

double
profile_effective_gbps(double fixed_seconds, double gbps, double gb)
{
    if (gb <= 0 || gbps <= 0)
        return gbps;
    return gb / (fixed_seconds + gb / gbps);
}

/* ---- the fit --------------------------------------------------------------------------------- */

static double
__r2(const double *x, const double *y, gsize n, double fixed, double slope)
{
    double my = 0, ss_tot = 0, ss_res = 0;
    for (gsize i = 0; i < n; i++)
        my += y[i] / (double)n;
    for (gsize i = 0; i < n; i++) {
        double e = y[i] - (fixed + slope * x[i]);
        ss_tot += (y[i] - my) * (y[i] - my);
        ss_res += e * e;
    }
    return ss_tot > 0 ? 1 - ss_res / ss_tot : (double)NAN;
}

gboolean
profile_fit(const double *x, const double *y, gsize n, ProfileFit *fit)
{
    *fit = (ProfileFit){.points = (guint)n, .r2 = NAN};
    if (n == 0)
        return FALSE;
    double mx = 0, my = 0;
    for (gsize i = 0; i < n; i++) {
        mx += x[i] / (double)n;
        my += y[i] / (double)n;
        gboolean seen = FALSE;
        for (gsize j = 0; j < i && !seen; j++)
            seen = x[j] == x[i];
        fit->sizes += !seen;
    }
    if (fit->sizes >= 2) {
        double sxx = 0, sxy = 0;
        for (gsize i = 0; i < n; i++) {
            sxx += (x[i] - mx) * (x[i] - mx);
            sxy += (x[i] - mx) * (y[i] - my);
        }
        double slope = sxy / sxx, fixed = my - slope * mx;
        if (isfinite(slope) && slope > 0 && fixed >= 0) {
            fit->slope = slope;
            fit->fixed = fixed;
            fit->r2 = __r2(x, y, n, fixed, slope);
            return TRUE;
        }
    }
    /* One size cannot tell a fixed cost from a bandwidth; a negative fixed cost, or a time
     * that does not grow with the size, is noise larger than the fixed cost: all of the time
     * is then put on the bandwidth. */
    double sxx = 0, sxy = 0;
    for (gsize i = 0; i < n; i++) {
        sxx += x[i] * x[i];
        sxy += x[i] * y[i];
    }
    if (!(sxx > 0 && sxy > 0))
        return FALSE;
    fit->through_zero = TRUE;
    fit->fixed = 0;
    fit->slope = sxy / sxx;
    /* One size explains none of the spread of its times: no R2 to give. */
    fit->r2 = fit->sizes >= 2 ? __r2(x, y, n, 0, fit->slope) : (double)NAN;
    return TRUE;
}

/* ---- units ----------------------------------------------------------------------------------- */

/* @value with 6 significant digits in fixed notation (never an exponent, which the unit parsers
 * of editors' schemas refuse), trailing zeros trimmed. */
static char *
__fixed(double value, int digits)
{
    int decimals = 0;
    if (value > 0)
        decimals = CLAMP(digits - 1 - (int)floor(log10(value)), 0, 15);
    char *text = g_strdup_printf("%.*f", decimals, value);
    if (strchr(text, '.') != NULL) {
        char *end = text + strlen(text) - 1;
        while (*end == '0')
            *end-- = '\0';
        if (*end == '.')
            *end = '\0';
    }
    return text;
}

char *
profile_format_duration(double seconds)
{
    g_autofree char *v = NULL;
    if (seconds < 1) {
        v = __fixed(seconds * 1e3, 6);
        return g_strconcat(v, "ms", NULL);
    }
    v = __fixed(seconds, 6);
    return g_strconcat(v, "s", NULL);
}

char *
profile_format_size(double bytes)
{
    /* Megabytes with six decimals: exact to the byte. */
    g_autofree char *v = g_strdup_printf("%.6f", bytes / 1e6);
    char *end = v + strlen(v) - 1;
    while (*end == '0')
        *end-- = '\0';
    if (*end == '.')
        *end = '\0';
    return g_strconcat(v, "MB", NULL);
}

char *
profile_format_bandwidth(double bytes_per_second)
{
    g_autofree char *v = NULL;
    if (bytes_per_second >= 1e9) {
        v = __fixed(bytes_per_second / 1e9, 6);
        return g_strconcat(v, "GB/s", NULL);
    }
    v = __fixed(bytes_per_second / 1e6, 6);
    return g_strconcat(v, "MB/s", NULL);
}
