/* spotlab: the testbed's fault keys (testbed-faults.h). */
#include "testbed-faults.h"

#include "scenario-private.h"
#include "scenario.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

/* A year is far beyond any schedule, and keeps microseconds far from overflow. */
#define MAX_SECONDS (365.0 * 86400)

gboolean
testbed_read_fail(TestbedReader *r, const char *field, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    json_source_set_error_valist(r->src, r->error, r->domain, r->code, field, format, ap);
    va_end(ap);
    return FALSE;
}

/* A duration: "5s", "500ms", "1m30s" or a number of seconds, >= 0. Absent: @out untouched.
 * With @null_means (what null stands for, for the message), null sets HARNESS_TIME_NONE. */
gboolean
testbed_read_duration(TestbedReader *r, json_t *obj, const char *field, const char *key,
                      const char *null_means, gint64 *out)
{
    json_t *v = json_object_get(obj, key);
    g_autofree char *f = json_field_join(field, key);
    if (v == NULL)
        return TRUE;
    if (null_means != NULL && json_is_null(v)) {
        *out = HARNESS_TIME_NONE;
        return TRUE;
    }
    double s = -1;
    gboolean parsed = json_is_number(v)   ? (s = json_number_value(v), TRUE)
                      : json_is_string(v) ? scenario_parse_duration(json_string_value(v), &s)
                                          : FALSE;
    if (!parsed || !isfinite(s) || s < 0 || s > MAX_SECONDS) {
        g_autofree char *got = json_describe(v);
        g_autofree char *null_text =
            null_means != NULL ? g_strdup_printf(" (or null: %s)", null_means) : g_strdup("");
        return testbed_read_fail(
            r, f,
            "expected a duration >= 0 like \"5s\", \"500ms\", \"2m\" or a number of "
            "seconds%s, got %s",
            null_text, got);
    }
    *out = (gint64)llround(s * G_USEC_PER_SEC);
    return TRUE;
}

/* true or false. Absent: @out untouched. */
gboolean
testbed_read_boolean(TestbedReader *r, json_t *obj, const char *field, const char *key,
                     gboolean *out)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return TRUE;
    if (!json_is_boolean(v)) {
        g_autofree char *f = json_field_join(field, key);
        g_autofree char *got = json_describe(v);
        return testbed_read_fail(r, f, "expected true or false, got %s", got);
    }
    *out = json_is_true(v);
    return TRUE;
}

/* An integer in @min..@max. Absent: @out untouched. */
gboolean
testbed_read_integer(TestbedReader *r, json_t *obj, const char *field, const char *key, guint min,
                     guint max, const char *what, guint *out)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return TRUE;
    if (!json_is_integer(v) || json_integer_value(v) < (json_int_t)min ||
        json_integer_value(v) > (json_int_t)max) {
        g_autofree char *f = json_field_join(field, key);
        g_autofree char *got = json_describe(v);
        return testbed_read_fail(r, f, "expected %s (an integer in %u..%u), got %s", what, min, max,
                                 got);
    }
    *out = (guint)json_integer_value(v);
    return TRUE;
}

/* The object at @key of @obj, whose keys must be among @keys (@what names it in the message):
 * TRUE with *@v NULL when it is absent, FALSE on an error; *@f gets its field's name. */
static gboolean
__group(TestbedReader *r, json_t *obj, const char *field, const char *key, const char *what,
        const char *const *keys, json_t **v, char **f)
{
    *v = json_object_get(obj, key);
    *f = json_field_join(field, key);
    if (*v == NULL)
        return TRUE;
    if (!json_is_object(*v)) {
        g_autoptr(GString) names = g_string_new(NULL);
        for (gsize i = 0; keys[i] != NULL; i++)
            g_string_append_printf(names, "%s\"%s\"", i > 0 ? ", " : "", keys[i]);
        g_autofree char *got = json_describe(*v);
        return testbed_read_fail(r, *f, "expected %s (an object with %s), got %s", what, names->str,
                                 got);
    }
    return json_source_check_keys(r->src, *v, *f, keys, r->domain, r->code, r->error);
}

/* "imds": {"delay": "500ms", "fail_status": 503, "fail_count": 3}: a slow or failing metadata
 * service. */
static gboolean
__imds_faults(TestbedReader *r, json_t *obj, const char *field, HarnessInstanceSpec *spec)
{
    static const char *const keys[] = {"delay", "fail_status", "fail_count", NULL};
    json_t *v;
    g_autofree char *f = NULL;
    if (!__group(r, obj, field, "imds", "metadata service faults", keys, &v, &f))
        return FALSE;
    if (v == NULL)
        return TRUE;
    gint64 delay_us = 0;
    if (!testbed_read_duration(r, v, f, "delay", NULL, &delay_us))
        return FALSE;
    /* Whole milliseconds, as the service holds its answers; a minute is far beyond a poll. */
    if (delay_us > 60 * G_USEC_PER_SEC) {
        g_autofree char *d = json_field_join(f, "delay");
        return testbed_read_fail(r, d, "expected a delay of at most 1m, got %.3f s",
                                 (double)delay_us / G_USEC_PER_SEC);
    }
    spec->imds_delay_ms = (guint)((delay_us + 999) / 1000);
    if (!testbed_read_integer(r, v, f, "fail_status", 400, 599, "an HTTP status",
                              &spec->imds_fail_status) ||
        !testbed_read_integer(r, v, f, "fail_count", 1, 1000000, "a number of requests",
                              &spec->imds_fail_count))
        return FALSE;
    gboolean has_status = json_object_get(v, "fail_status") != NULL;
    gboolean has_count = json_object_get(v, "fail_count") != NULL;
    if (has_status != has_count) {
        g_autofree char *m = json_field_join(f, has_status ? "fail_count" : "fail_status");
        return testbed_read_fail(r, m,
                                 "missing; expected \"fail_status\" and \"fail_count\" together");
    }
    return TRUE;
}

/* "storage": {"write": "5MB/s", "fsync_delay": "200ms", "fail": "enospc", "fail_after": "1MB",
 * "fail_from_checkpoint": 2}: checkpoint storage that is slow or fails (storage-fault.c). */
static gboolean
__storage_faults(TestbedReader *r, json_t *obj, const char *field, HarnessInstanceSpec *spec)
{
    static const char *const keys[] = {"write",      "fsync_delay",          "fail",
                                       "fail_after", "fail_from_checkpoint", NULL};
    json_t *v;
    g_autofree char *f = NULL;
    if (!__group(r, obj, field, "storage", "checkpoint storage faults", keys, &v, &f))
        return FALSE;
    if (v == NULL)
        return TRUE;
    json_t *write = json_object_get(v, "write");
    if (write != NULL && !json_is_null(write)) {
        double gbps = -1;
        if (!json_is_string(write) || !scenario_parse_bandwidth(json_string_value(write), &gbps) ||
            !(gbps > 0 && gbps <= 1e6)) {
            g_autofree char *w = json_field_join(f, "write");
            g_autofree char *got = json_describe(write);
            return testbed_read_fail(
                r, w,
                "expected a write bandwidth > 0 like \"5MB/s\" or \"40Mbit/s\" (or "
                "null: full speed), got %s",
                got);
        }
        spec->storage_write_mbps = gbps * 1e3;
    }
    gint64 delay_us = 0;
    if (!testbed_read_duration(r, v, f, "fsync_delay", NULL, &delay_us))
        return FALSE;
    if (delay_us > 3600 * (gint64)G_USEC_PER_SEC) {
        g_autofree char *d = json_field_join(f, "fsync_delay");
        return testbed_read_fail(r, d, "expected a delay of at most 1h, got %.3f s",
                                 (double)delay_us / G_USEC_PER_SEC);
    }
    spec->storage_fsync_delay_us = delay_us;
    json_t *fail = json_object_get(v, "fail");
    if (fail != NULL && !json_is_null(fail) &&
        (!json_is_string(fail) ||
         !harness_storage_failure_parse(json_string_value(fail), &spec->storage_fail))) {
        g_autofree char *m = json_field_join(f, "fail");
        g_autofree char *got = json_describe(fail);
        return testbed_read_fail(r, m,
                                 "expected \"enospc\", \"eio\" (writes fail), \"fsync-eio\" (fsync "
                                 "fails) or \"none\", got %s",
                                 got);
    }
    gboolean fails = spec->storage_fail != HARNESS_STORAGE_FAIL_NONE;
    json_t *after = json_object_get(v, "fail_after");
    if (after != NULL) {
        double gb = -1;
        gboolean ok = json_is_integer(after)  ? (gb = (double)json_integer_value(after) / 1e9, TRUE)
                      : json_is_string(after) ? scenario_parse_size(json_string_value(after), &gb)
                                              : FALSE;
        if (!ok || !(gb >= 0 && gb <= 1e9)) {
            g_autofree char *a = json_field_join(f, "fail_after");
            g_autofree char *got = json_describe(after);
            return testbed_read_fail(
                r, a,
                "expected a size >= 0 like \"1MB\", \"64MiB\" or a number of bytes, "
                "got %s",
                got);
        }
        spec->storage_fail_after_bytes = (guint64)llround(gb * 1e9);
    }
    if (!testbed_read_integer(r, v, f, "fail_from_checkpoint", 1, G_MAXINT32,
                              "the checkpoint (file) the failure begins with",
                              &spec->storage_fail_from_checkpoint) ||
        !testbed_read_needs(r, v, f, "fail_after", fails, "a failure (fail)") ||
        !testbed_read_needs(r, v, f, "fail_from_checkpoint", fails, "a failure (fail)"))
        return FALSE;
    return TRUE;
}

/* A key that only means something with another: @key present without @needed is an error. */
gboolean
testbed_read_needs(TestbedReader *r, json_t *obj, const char *field, const char *key,
                   gboolean present, const char *needed)
{
    if (json_object_get(obj, key) == NULL || present)
        return TRUE;
    g_autofree char *f = json_field_join(field, key);
    return testbed_read_fail(r, f, "needs %s", needed);
}

const char *const testbed_fault_keys[] = {
    "notice_missed", "notice_late",           "notice_duplicate",         "imds",    "crash_after",
    "hang_after",    "reclaim_at_checkpoint", "reclaim_checkpoint_delay", "storage", NULL,
};

gboolean
testbed_read_faults(TestbedReader *r, json_t *obj, const char *field, gboolean has_notice,
                    HarnessInstanceSpec *spec)
{
    return testbed_read_boolean(r, obj, field, "notice_missed", &spec->notice_missed) &&
           testbed_read_needs(r, obj, field, "notice_missed", has_notice,
                              "a notice (notice_after)") &&
           testbed_read_duration(r, obj, field, "notice_late", NULL, &spec->notice_late_us) &&
           testbed_read_needs(r, obj, field, "notice_late", has_notice,
                              "a notice (notice_after)") &&
           testbed_read_duration(r, obj, field, "notice_duplicate", "delivered once",
                                 &spec->notice_duplicate_us) &&
           testbed_read_needs(r, obj, field, "notice_duplicate", has_notice,
                              "a notice (notice_after)") &&
           __imds_faults(r, obj, field, spec) &&
           testbed_read_duration(r, obj, field, "crash_after", "no crash", &spec->crash_after_us) &&
           testbed_read_duration(r, obj, field, "hang_after", "no hang", &spec->hang_after_us) &&
           testbed_read_integer(r, obj, field, "reclaim_at_checkpoint", 1, G_MAXINT32,
                                "the checkpoint_start to reclaim at",
                                &spec->reclaim_at_checkpoint) &&
           testbed_read_duration(r, obj, field, "reclaim_checkpoint_delay", NULL,
                                 &spec->reclaim_checkpoint_delay_us) &&
           testbed_read_needs(r, obj, field, "reclaim_checkpoint_delay",
                              spec->reclaim_at_checkpoint > 0, "reclaim_at_checkpoint") &&
           __storage_faults(r, obj, field, spec);
}

void
testbed_faults_apply(HarnessInstanceSpec *spec, const HarnessInstanceSpec *faults)
{
    spec->notice_missed = spec->notice_missed || faults->notice_missed;
    spec->notice_late_us = faults->notice_late_us;
    spec->notice_duplicate_us = faults->notice_duplicate_us;
    spec->imds_delay_ms = faults->imds_delay_ms;
    spec->imds_fail_status = faults->imds_fail_status;
    spec->imds_fail_count = faults->imds_fail_count;
    spec->crash_after_us = faults->crash_after_us;
    spec->hang_after_us = faults->hang_after_us;
    spec->reclaim_at_checkpoint = faults->reclaim_at_checkpoint;
    spec->reclaim_checkpoint_delay_us = faults->reclaim_checkpoint_delay_us;
    spec->storage_write_mbps = faults->storage_write_mbps;
    spec->storage_fsync_delay_us = faults->storage_fsync_delay_us;
    spec->storage_fail = faults->storage_fail;
    spec->storage_fail_after_bytes = faults->storage_fail_after_bytes;
    spec->storage_fail_from_checkpoint = faults->storage_fail_from_checkpoint;
}
