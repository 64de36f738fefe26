/* spotlab harness: emulated cloud metadata services.
 *
 * A HarnessImds is one cloud's instance metadata service for one instance, served over HTTP by
 * libsoup on its own loopback port (127.0.0.1 only). It answers the paths, headers and bodies
 * the real services answer, so that a workload tested against it behaves as it will on the
 * cloud:
 * - AWS IMDS (v2, or v1 and v2): PUT /latest/api/token with X-aws-ec2-metadata-token-ttl-seconds
 *   (1..21600) hands out a session token; metadata GETs carry it in X-aws-ec2-metadata-token
 *   (401 when unknown or expired; 401 without one unless v1 is allowed). Before a notice
 *   /latest/meta-data/spot/instance-action and spot/termination-time answer 404; after it
 *   {"action": "terminate", "time": "2026-11-27T06:02:00Z"} and the time. A rebalance
 *   recommendation shows at /latest/meta-data/events/recommendations/rebalance as
 *   {"noticeTime": "..."}. Requests with X-Forwarded-For are refused (403). Also instance-id,
 *   instance-type and the /latest/meta-data/ listing.
 * - Google: every request needs Metadata-Flavor: Google (403 with Google's error page if not) and
 *   no X-Forwarded-For (403); answers carry Metadata-Flavor: Google and an ETag (a hash of the
 *   value, as Google's are).
 *   /computeMetadata/v1/instance/preempted reads FALSE, then TRUE after the notice;
 *   instance/maintenance-event NONE, then TERMINATE_ON_HOST_MAINTENANCE; also instance/name,
 *   instance/id, instance/machine-type. ?wait_for_change=true holds the answer until the value's
 *   ETag changes, answers at once when last_etag= differs from the current ETag, and answers the
 *   current value when timeout_sec= runs out.
 * - Azure Scheduled Events: GET /metadata/scheduledevents?api-version=2020-07-01 (or another
 *   published version) with Metadata: true (400 without it, 400 for a missing or unknown
 *   api-version, with Azure's error bodies) answers {"DocumentIncarnation": N, "Events": [...]};
 *   a notice adds a Preempt event for this VM (EventStatus "Scheduled", NotBefore the reclaim
 *   time as an RFC 1123 date, DurationInSeconds -1). POST with {"StartRequests": [{"EventId":
 *   ...}]} acknowledges an event, which then reads "Started". DocumentIncarnation grows on every
 *   change. /metadata/instance/compute/name?api-version=...&format=text names the VM.
 *
 * Threads: the server runs on the GMainContext given to harness_imds_new() (NULL: the global
 * default context), which must be the thread-default context of the thread that iterates it
 * (libsoup attaches each connection's sources there). harness_imds_free() must be called on
 * that thread or while no thread iterates the context. Every other function may be called from
 * any thread: the state is behind a lock, and a change that releases held Google requests is
 * handed to the server's context.
 *
 * Ownership: the caller owns the HarnessImds and frees it with harness_imds_free().
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define HARNESS_IMDS_ERROR (harness_imds_error_quark())
GQuark harness_imds_error_quark(void);

typedef enum {
    HARNESS_IMDS_ERROR_LISTEN, /* the port could not be bound */
} HarnessImdsError;

typedef enum {
    HARNESS_IMDS_AWS,
    HARNESS_IMDS_GCP,
    HARNESS_IMDS_AZURE,
} HarnessImdsCloud;

/* "aws", "gcp" (also "google"), "azure"; FALSE for anything else. */
gboolean harness_imds_cloud_parse(const char *text, HarnessImdsCloud *cloud);
const char *harness_imds_cloud_name(HarnessImdsCloud cloud);

/* The environment variable that points a workload at a service of @cloud:
 * AWS_EC2_METADATA_SERVICE_ENDPOINT, GCE_METADATA_HOST or SPOTLAB_AZURE_METADATA_ENDPOINT. */
const char *harness_imds_env_name(HarnessImdsCloud cloud);

typedef struct {
    HarnessImdsCloud cloud;
    gboolean aws_allow_v1;     /* AWS: GETs without a token are served (HttpTokens optional) */
    const char *instance_name; /* the VM's name (Azure Resources, Google instance/name);
                                  NULL: "spotlab-vm-0" */
    const char
        *instance_type; /* NULL: "p5.48xlarge", "a3-highgpu-8g", "Standard_ND96isr_H100_v5" */
} HarnessImdsOptions;

typedef struct {
    guint requests;        /* requests answered, errors included */
    guint tokens_issued;   /* AWS: session tokens handed out */
    guint unauthorized;    /* AWS: 401 answers */
    guint refused;         /* answers refusing a request for a missing or forbidden header
                              (Metadata-Flavor, Metadata, X-Forwarded-For) */
    guint notices_fetched; /* answers that carried the notice: AWS instance-action or
                              termination-time 200, Google preempted TRUE, Azure documents with a
                              Preempt event */
    guint acknowledged;    /* Azure: events acknowledged by StartRequests */
    guint faults_injected; /* answers replaced by harness_imds_fail_next() */
    guint waiting;         /* Google: wait_for_change requests held now */
} HarnessImdsStats;

typedef struct _HarnessImds HarnessImds;

/**
 * harness_imds_new:
 * @options: the cloud and the instance (copied).
 * @context: (nullable): the context the server runs on; NULL for the global default context.
 * Returns: (transfer full): a service, not yet listening; no notice issued.
 */
HarnessImds *harness_imds_new(const HarnessImdsOptions *options, GMainContext *context);

/**
 * harness_imds_free:
 * Closes the port and every connection, dropping held requests unanswered. Accepts NULL. Call
 * it on the context's thread or while no thread iterates the context.
 */
void harness_imds_free(HarnessImds *imds);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HarnessImds, harness_imds_free)

/**
 * harness_imds_listen:
 * @port: the TCP port on 127.0.0.1, or 0 for an ephemeral one.
 * Starts serving on loopback only (IPv4; ::1 is not served). Call once.
 * Returns: FALSE with HARNESS_IMDS_ERROR_LISTEN when the port cannot be bound.
 */
gboolean harness_imds_listen(HarnessImds *imds, guint port, GError **error);

/* The base URL, "http://127.0.0.1:PORT" (no trailing slash); NULL before listening. */
const char *harness_imds_get_url(const HarnessImds *imds);
/* The port listened on; 0 before listening. */
guint harness_imds_get_port(const HarnessImds *imds);

/**
 * harness_imds_env_value:
 * Returns: (transfer full): the value of harness_imds_env_name() that points a workload here:
 * the base URL for AWS and Azure, "127.0.0.1:PORT" for Google; NULL before listening.
 */
char *harness_imds_env_value(const HarnessImds *imds);

/**
 * harness_imds_notify:
 * @reclaim_unix_us: when the instance will be reclaimed (Unix time, microseconds); shown to
 *   the second as AWS's "time" and Azure's NotBefore.
 * Issues the termination notice. Again on AWS: the notice shows the new time; on Azure: a new
 * Preempt event is added; on Google: nothing changes while preempted stays TRUE. Held Google
 * wait_for_change requests are answered on the server's context.
 */
void harness_imds_notify(HarnessImds *imds, gint64 reclaim_unix_us);

/**
 * harness_imds_rebalance:
 * @notice_unix_us: the noticeTime of the recommendation.
 * AWS: issues a rebalance recommendation. Other clouds have none: a no-op.
 */
void harness_imds_rebalance(HarnessImds *imds, gint64 notice_unix_us);

/**
 * harness_imds_reset:
 * Withdraws the notice, the rebalance recommendation and the Azure events, forgets every AWS
 * token (as a restarted service does) and clears the faults. DocumentIncarnation moves on (it
 * never goes back), and the counters are kept.
 */
void harness_imds_reset(HarnessImds *imds);

/* AWS: forgets every issued token, so that the next request that carries one gets a 401. */
void harness_imds_expire_tokens(HarnessImds *imds);

/* The counters since harness_imds_new(). */
void harness_imds_get_stats(HarnessImds *imds, HarnessImdsStats *stats);

/* Fault: every answer is sent @delay_ms after its request arrived (0: at once); a Google
 * wait_for_change is held as it would be and answered at once. */
void harness_imds_set_delay(HarnessImds *imds, guint delay_ms);

/* Fault: the next @count requests are answered with HTTP @status (400..599) and the cloud's
 * error body instead of their real answer; 0 clears. */
void harness_imds_fail_next(HarnessImds *imds, guint status, guint count);

G_END_DECLS
