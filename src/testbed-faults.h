/* spotlab: the testbed's fault keys (docs/testbed.md, "Fault catalogue"), read alike from the
 * instances of a schedule (`spotlab testbed --schedule`) and from a scenario's testbed.faults,
 * with errors that name the file, line, column and field. */
#pragma once

#include "json-source.h"
#include "supervisor.h"

#include <glib.h>
#include <jansson.h>

/* Where the keys are read, and the error domain and code of a bad one. */
typedef struct {
    JsonSource *src;
    GError **error;
    GQuark domain;
    int code;
} TestbedReader;

/* Sets the error at @field (dotted, as json_source_set_error_valist takes it); FALSE. */
gboolean testbed_read_fail(TestbedReader *r, const char *field, const char *format, ...)
    G_GNUC_PRINTF(3, 4);

/* @key of @obj (at @field), absent: @out untouched. A duration: "5s", "500ms", "1m30s" or a
 * number of seconds, >= 0 (null sets HARNESS_TIME_NONE when @null_means says what it means). */
gboolean testbed_read_duration(TestbedReader *r, json_t *obj, const char *field, const char *key,
                               const char *null_means, gint64 *out);
gboolean testbed_read_boolean(TestbedReader *r, json_t *obj, const char *field, const char *key,
                              gboolean *out);
/* An integer in @min..@max; @what names it in the message. */
gboolean testbed_read_integer(TestbedReader *r, json_t *obj, const char *field, const char *key,
                              guint min, guint max, const char *what, guint *out);
/* @key present without @present (what @needed names) is an error. */
gboolean testbed_read_needs(TestbedReader *r, json_t *obj, const char *field, const char *key,
                            gboolean present, const char *needed);

/* The fault keys, NULL-terminated: notice_missed, notice_late, notice_duplicate, imds,
 * crash_after, hang_after, reclaim_at_checkpoint, reclaim_checkpoint_delay, storage. */
extern const char *const testbed_fault_keys[];

/* Reads the fault keys of @obj (at @field) into @spec (initialised by the caller). The notice
 * faults need a notice: with @has_notice FALSE they are refused. Other keys are the caller's. */
gboolean testbed_read_faults(TestbedReader *r, json_t *obj, const char *field, gboolean has_notice,
                             HarnessInstanceSpec *spec);

/* A scenario's testbed.faults entry: the faults of one instance of the replayed replica (its
 * index in the plan, in launch order), read by testbed_read_faults. */
typedef struct {
    guint instance;
    HarnessInstanceSpec spec;
} TestbedFault;

/* Puts the faults of @faults (read by testbed_read_faults) on @spec; a notice missed there
 * stays missed. */
void testbed_faults_apply(HarnessInstanceSpec *spec, const HarnessInstanceSpec *faults);
