/* spotlab workloads: termination notices.
 *
 * Two ways a cloud tells a workload that its machine goes away, both watched here:
 * - SIGTERM (and SIGINT): an async-signal-safe handler sets a flag;
 * - the cloud's metadata service, polled by a watcher thread with libcurl:
 *   AWS IMDSv2 (PUT /latest/api/token, then GET /latest/meta-data/spot/instance-action with
 *   the token; 404 means no notice), Google (GET
 *   /computeMetadata/v1/instance/preempted?wait_for_change=true with Metadata-Flavor: Google,
 *   "TRUE" means preempted), Azure Scheduled Events (GET
 *   /metadata/scheduledevents?api-version=2020-07-01 with Metadata: true, an event of type
 *   "Preempt" for this machine; acknowledged by POST with StartRequests).
 * Endpoints: AWS_EC2_METADATA_SERVICE_ENDPOINT (default http://169.254.169.254),
 * GCE_METADATA_HOST (host[:port], default metadata.google.internal),
 * SPOTLAB_AZURE_METADATA_ENDPOINT (default http://169.254.169.254), unless the config names one.
 *
 * The training loop asks workload_notice_pending() between steps; the first notice wins and
 * later ones (a duplicated notice, SIGTERM after the metadata notice) are counted, not
 * reported again. A notice the service shows again at every poll is one notice; another one is
 * a changed AWS instance-action, a new Azure EventId, or Google's preempted turning TRUE again.
 * Signals are process-wide: every watcher sees each SIGTERM and SIGINT that arrived since the
 * handlers were installed. Unanswered requests and errors are retried at the poll interval.
 * Google announces no reclaim time: its notice's deadline is received + 30 s, the notice Google
 * gives.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define WORKLOAD_NOTICE_ERROR (workload_notice_error_quark())
GQuark workload_notice_error_quark(void);

typedef enum {
    WORKLOAD_NOTICE_ERROR_CONFIG, /* unknown cloud, bad endpoint or interval */
    WORKLOAD_NOTICE_ERROR_HTTP,   /* libcurl failed to start, or an acknowledgement failed */
} WorkloadNoticeError;

typedef enum {
    WORKLOAD_CLOUD_NONE = 0, /* no metadata service: signals only */
    WORKLOAD_CLOUD_AWS,
    WORKLOAD_CLOUD_GCP,
    WORKLOAD_CLOUD_AZURE,
} WorkloadCloud;

/* "none", "aws", "gcp" (also "google"), "azure"; FALSE for anything else. */
gboolean workload_cloud_parse(const char *text, WorkloadCloud *cloud);
const char *workload_cloud_name(WorkloadCloud cloud);

typedef struct {
    char source[16]; /* "sigterm", "sigint", "aws", "gcp", "azure" */
    char *detail;    /* what the source said (owned), may be NULL */
    double deadline; /* Unix time of the announced reclaim, 0 when not announced */
    double received; /* Unix time the notice was seen */
    char *event_id;  /* Azure: the event to acknowledge (owned), else NULL */
} WorkloadNotice;

void workload_notice_clear(WorkloadNotice *notice);

typedef struct {
    WorkloadCloud cloud;
    const char *endpoint;      /* NULL: from the environment, else the cloud's default */
    gint64 poll_interval_us;   /* AWS and Azure polling; 0 means the default of 5 s */
    gint64 request_timeout_us; /* one HTTP request; 0 means 2 s (GCP's wait: + the wait) */
} WorkloadNoticeConfig;

/* Installs the SIGTERM/SIGINT handler (process-wide; call once from main). */
void workload_notice_install_signal_handlers(void);

typedef struct WorkloadNoticeWatcher WorkloadNoticeWatcher;

/* Called on the watcher thread when the watcher's first metadata notice arrives (after it is
 * recorded; a signal that came before it stays the notice reported). Signals call nothing: the
 * training loop sees them through workload_notice_pending(). */
typedef void (*WorkloadNoticeCallback)(const WorkloadNotice *notice, gpointer user_data);

/* Starts the watcher thread (none for WORKLOAD_CLOUD_NONE; signals are still seen). */
WorkloadNoticeWatcher *workload_notice_watcher_new(const WorkloadNoticeConfig *config,
                                                   WorkloadNoticeCallback callback,
                                                   gpointer user_data, GError **error);
/* Stops the thread at once, even during a Google wait_for_change. Accepts NULL. */
void workload_notice_watcher_free(WorkloadNoticeWatcher *watcher);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WorkloadNoticeWatcher, workload_notice_watcher_free)

/* Whether a notice (signal or metadata) has arrived; copies it into @notice (may be NULL) the
 * first time it returns TRUE for that notice and every time after. The copy's strings are the
 * caller's: free them with workload_notice_clear(). Cheap: an atomic load. */
gboolean workload_notice_pending(WorkloadNoticeWatcher *watcher, WorkloadNotice *notice);

/* How many notices arrived in all, duplicates included. */
guint workload_notice_count(WorkloadNoticeWatcher *watcher);

/* Azure: acknowledges the pending Preempt event (POST StartRequests) so the platform may go on
 * at once; a no-op (TRUE) for other clouds and before any event. */
gboolean workload_notice_acknowledge(WorkloadNoticeWatcher *watcher, GError **error);

G_END_DECLS
