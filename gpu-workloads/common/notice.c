/* spotlab workloads: termination notices (see notice.h).
 *
 * The watcher thread drives one libcurl easy handle through a multi handle, so that
 * workload_notice_watcher_free() can wake it at once with curl_multi_wakeup() even while a
 * Google wait_for_change is held open by the server, and sleeps between polls on a GCond that
 * free() signals. Transport errors and unexpected answers are retried at the poll interval;
 * nothing the service does stops the thread.
 *
 * Signals: the handler only bumps two lock-free atomics (how many SIGTERM/SIGINT arrived, and
 * which came first); workload_notice_pending() and the watcher thread turn them into a notice
 * the first time they look. Signals are process-wide: every watcher sees those that arrived
 * since the handlers were installed.
 */
#include "notice.h"

#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#if ATOMIC_INT_LOCK_FREE != 2
#error "the signal handler needs lock-free atomic ints"
#endif

G_DEFINE_QUARK(spotlab - workload - notice - error - quark, workload_notice_error)

#define DEFAULT_POLL_US    (5 * G_USEC_PER_SEC)
#define DEFAULT_TIMEOUT_US (2 * G_USEC_PER_SEC)
/* AWS: the longest token IMDS hands out, renewed a minute before it expires. */
#define AWS_TOKEN_TTL_S    21600
#define AWS_TOKEN_MARGIN_S 60
/* Google: how long one wait_for_change may be held, and the notice Google gives before it
 * reclaims a preemptible VM (the metadata server does not say when). */
#define GCP_WAIT_S         60
#define GCP_NOTICE_S       30
#define AZURE_EVENTS_API   "2020-07-01"
#define AZURE_INSTANCE_API "2021-02-01"
/* No metadata answer is this large; a larger one is not read. */
#define BODY_MAX (1 << 20)

static atomic_uint notice_signals;     /* SIGTERM and SIGINT received since installation */
static atomic_int notice_first_signal; /* the first of them; 0 before any */

gboolean
workload_cloud_parse(const char *text, WorkloadCloud *cloud)
{
    g_return_val_if_fail(cloud != NULL, FALSE);
    if (text == NULL)
        return FALSE;
    if (g_ascii_strcasecmp(text, "none") == 0)
        *cloud = WORKLOAD_CLOUD_NONE;
    else if (g_ascii_strcasecmp(text, "aws") == 0)
        *cloud = WORKLOAD_CLOUD_AWS;
    else if (g_ascii_strcasecmp(text, "gcp") == 0 || g_ascii_strcasecmp(text, "google") == 0)
        *cloud = WORKLOAD_CLOUD_GCP;
    else if (g_ascii_strcasecmp(text, "azure") == 0)
        *cloud = WORKLOAD_CLOUD_AZURE;
    else
        return FALSE;
    return TRUE;
}

const char *
workload_cloud_name(WorkloadCloud cloud)
{
    switch (cloud) {
    case WORKLOAD_CLOUD_NONE:
        return "none";
    case WORKLOAD_CLOUD_AWS:
        return "aws";
    case WORKLOAD_CLOUD_GCP:
        return "gcp";
    case WORKLOAD_CLOUD_AZURE:
        return "azure";
    }
    return "unknown";
}

void
workload_notice_clear(WorkloadNotice *notice)
{
    if (notice == NULL)
        return;
    g_free(notice->detail);
    g_free(notice->event_id);
    memset(notice, 0, sizeof *notice);
}

static void
__copy(WorkloadNotice *to, const WorkloadNotice *from)
{
    *to = *from;
    to->detail = g_strdup(from->detail);
    to->event_id = g_strdup(from->event_id);
}

static double
__now(void)
{
    return (double)g_get_real_time() / G_USEC_PER_SEC;
}

/* Signals ------------------------------------------------------------------------------------ */

static void
__on_signal(int signo)
{
    int none = 0;
    atomic_compare_exchange_strong(&notice_first_signal, &none, signo);
    atomic_fetch_add(&notice_signals, 1u);
}

void
workload_notice_install_signal_handlers(void)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = __on_signal;
    sigemptyset(&action.sa_mask);
    /* The training loop's reads and writes go on; it sees the flag between steps. */
    action.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);
}

/* The watcher ------------------------------------------------------------------------------- */

struct WorkloadNoticeWatcher {
    WorkloadCloud cloud;
    char *endpoint; /* base URL without a trailing slash; NULL for WORKLOAD_CLOUD_NONE */
    gint64 poll_us;
    gint64 timeout_us;
    WorkloadNoticeCallback callback;
    gpointer user_data;
    GThread *thread;
    CURLM *multi;
    CURL *easy; /* the watcher thread's */
    atomic_int stopping;
    atomic_int ready; /* a notice is recorded in first */

    GMutex lock;
    GCond cond;
    /* Under lock. */
    gboolean stop;
    gboolean have_first;
    WorkloadNotice first;
    guint metadata_count;
    gboolean metadata_seen;
    char *azure_event_id; /* the latest Preempt event for this VM, for acknowledging */

    /* The watcher thread's. */
    char *aws_token;
    gint64 aws_token_renew; /* monotonic */
    char *aws_last;         /* the last instance-action seen, NULL after a 404 */
    char *gcp_etag;
    gboolean gcp_preempted;
    char *azure_vm;
    gboolean azure_vm_asked;
    GHashTable *azure_seen; /* EventIds already reported */
};

/* Turns signals that arrived into the first notice if there is none yet. Lock held. */
static void
__observe_signals(WorkloadNoticeWatcher *w)
{
    if (w->have_first || atomic_load(&notice_signals) == 0)
        return;
    int signo = atomic_load(&notice_first_signal);
    g_strlcpy(w->first.source, signo == SIGINT ? "sigint" : "sigterm", sizeof w->first.source);
    w->first.detail = g_strdup(signo == SIGINT ? "SIGINT" : "SIGTERM");
    w->first.deadline = 0;
    w->first.received = __now();
    w->first.event_id = NULL;
    w->have_first = TRUE;
    atomic_store(&w->ready, 1);
}

/* Records a notice from the metadata service; takes @detail and @event_id. */
static void
__record(WorkloadNoticeWatcher *w, const char *source, char *detail, double deadline,
         char *event_id)
{
    WorkloadNotice notice = {.deadline = deadline, .received = __now()};
    g_strlcpy(notice.source, source, sizeof notice.source);
    notice.detail = detail;
    notice.event_id = event_id;

    g_mutex_lock(&w->lock);
    /* A signal that came first stays first. */
    __observe_signals(w);
    w->metadata_count++;
    if (event_id != NULL) {
        g_free(w->azure_event_id);
        w->azure_event_id = g_strdup(event_id);
    }
    if (!w->have_first) {
        __copy(&w->first, &notice);
        w->have_first = TRUE;
        atomic_store(&w->ready, 1);
    }
    gboolean call = !w->metadata_seen && w->callback != NULL;
    w->metadata_seen = TRUE;
    g_mutex_unlock(&w->lock);
    if (call)
        w->callback(&notice, w->user_data);
    workload_notice_clear(&notice);
}

static gboolean
__stopping(WorkloadNoticeWatcher *w)
{
    return atomic_load(&w->stopping) != 0;
}

static void
__sleep_until(WorkloadNoticeWatcher *w, gint64 until)
{
    g_mutex_lock(&w->lock);
    while (!w->stop && g_get_monotonic_time() < until)
        g_cond_wait_until(&w->cond, &w->lock, until);
    g_mutex_unlock(&w->lock);
}

/* HTTP --------------------------------------------------------------------------------------- */

typedef struct {
    GString *body;
    char *etag;
} Reply;

static void
__reply_clear(Reply *reply)
{
    if (reply->body != NULL)
        g_string_free(reply->body, TRUE);
    g_free(reply->etag);
    memset(reply, 0, sizeof *reply);
}

static size_t
__on_body(char *data, size_t size, size_t n, void *user_data)
{
    Reply *reply = user_data;
    size_t len = size * n;
    if (reply->body->len + len > BODY_MAX)
        return 0;
    g_string_append_len(reply->body, data, (gssize)len);
    return len;
}

static size_t
__on_header(char *data, size_t size, size_t n, void *user_data)
{
    Reply *reply = user_data;
    size_t len = size * n;
    if (len > 5 && g_ascii_strncasecmp(data, "ETag:", 5) == 0) {
        g_free(reply->etag);
        reply->etag = g_strstrip(g_strndup(data + 5, len - 5));
    }
    return len;
}

/* Sets @easy up for one request; @post (a JSON body) makes it a POST. */
static void
__setup(CURL *easy, const char *method, const char *url, struct curl_slist *headers,
        const char *post, gint64 timeout_us, Reply *reply)
{
    curl_easy_reset(easy);
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    /* Metadata services are link-local: a proxy must never see these requests. */
    curl_easy_setopt(easy, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)MAX(timeout_us / 1000, 1));
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, __on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, reply);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, __on_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, reply);
    if (post != NULL)
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, post);
    else if (strcmp(method, "GET") != 0)
        curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method);
    reply->body = g_string_new(NULL);
    reply->etag = NULL;
}

/* One request on the watcher thread; returns early with CURLE_ABORTED_BY_CALLBACK when the
 * watcher is being freed. @status is the HTTP status (0 when none came). */
static CURLcode
__request(WorkloadNoticeWatcher *w, const char *method, const char *url, struct curl_slist *headers,
          gint64 timeout_us, long *status, Reply *reply)
{
    __setup(w->easy, method, url, headers, NULL, timeout_us, reply);
    *status = 0;
    if (curl_multi_add_handle(w->multi, w->easy) != CURLM_OK)
        return CURLE_FAILED_INIT;
    CURLcode result = CURLE_OK;
    gboolean done = FALSE;
    while (!done) {
        int running = 0;
        if (curl_multi_perform(w->multi, &running) != CURLM_OK) {
            result = CURLE_FAILED_INIT;
            break;
        }
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(w->multi, &left)) != NULL)
            if (m->msg == CURLMSG_DONE) {
                result = m->data.result;
                done = TRUE;
            }
        if (done)
            break;
        if (__stopping(w)) {
            result = CURLE_ABORTED_BY_CALLBACK;
            break;
        }
        /* free() interrupts this wait with curl_multi_wakeup(). */
        curl_multi_poll(w->multi, NULL, 0, 1000, NULL);
    }
    curl_multi_remove_handle(w->multi, w->easy);
    if (result == CURLE_OK)
        curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, status);
    return result;
}

static char *
__url(const WorkloadNoticeWatcher *w, const char *path)
{
    return g_strconcat(w->endpoint, path, NULL);
}

/* AWS ---------------------------------------------------------------------------------------- */

static double
__parse_iso8601(const char *text)
{
    g_autoptr(GDateTime) t = text ? g_date_time_new_from_iso8601(text, NULL) : NULL;
    if (t == NULL)
        return 0;
    return (double)g_date_time_to_unix(t) + g_date_time_get_microsecond(t) / 1e6;
}

/* Gets a session token. Returns FALSE when the service did not answer at all. A service that
 * refuses tokens (IMDSv1 only) leaves aws_token NULL, and metadata is read without one. */
static gboolean
__aws_token(WorkloadNoticeWatcher *w)
{
    g_clear_pointer(&w->aws_token, g_free);
    g_autofree char *url = __url(w, "/latest/api/token");
    struct curl_slist *headers = curl_slist_append(
        NULL, "X-aws-ec2-metadata-token-ttl-seconds: " G_STRINGIFY(AWS_TOKEN_TTL_S));
    Reply reply = {0};
    long status;
    CURLcode rc = __request(w, "PUT", url, headers, w->timeout_us, &status, &reply);
    curl_slist_free_all(headers);
    if (rc == CURLE_OK && status == 200) {
        g_strstrip(reply.body->str);
        if (reply.body->str[0] != '\0') {
            w->aws_token = g_strdup(reply.body->str);
            w->aws_token_renew = g_get_monotonic_time() +
                                 (gint64)(AWS_TOKEN_TTL_S - AWS_TOKEN_MARGIN_S) * G_USEC_PER_SEC;
        }
    }
    __reply_clear(&reply);
    return rc == CURLE_OK;
}

static void
__aws_notice(WorkloadNoticeWatcher *w, const char *body)
{
    /* Every poll reads the same notice again: only a changed one is another notice. */
    if (g_strcmp0(body, w->aws_last) == 0)
        return;
    g_free(w->aws_last);
    w->aws_last = g_strdup(body);
    json_t *doc = json_loads(body, 0, NULL);
    double deadline = __parse_iso8601(json_string_value(json_object_get(doc, "time")));
    json_decref(doc);
    __record(w, "aws", g_strdup(body), deadline, NULL);
}

static void
__aws_poll(WorkloadNoticeWatcher *w)
{
    if ((w->aws_token == NULL || g_get_monotonic_time() >= w->aws_token_renew) && !__aws_token(w))
        return;
    g_autofree char *url = __url(w, "/latest/meta-data/spot/instance-action");
    for (int attempt = 0; attempt < 2; attempt++) {
        struct curl_slist *headers = NULL;
        if (w->aws_token != NULL) {
            g_autofree char *line = g_strdup_printf("X-aws-ec2-metadata-token: %s", w->aws_token);
            headers = curl_slist_append(headers, line);
        }
        Reply reply = {0};
        long status;
        CURLcode rc = __request(w, "GET", url, headers, w->timeout_us, &status, &reply);
        curl_slist_free_all(headers);
        if (rc == CURLE_OK && status == 401 && attempt == 0) {
            /* The token expired or the service forgot it (it restarted): a new one, at once. */
            __reply_clear(&reply);
            if (!__aws_token(w))
                return;
            continue;
        }
        if (rc == CURLE_OK && status == 200)
            __aws_notice(w, g_strstrip(reply.body->str));
        else if (rc == CURLE_OK && status == 404)
            g_clear_pointer(&w->aws_last, g_free);
        __reply_clear(&reply);
        return;
    }
}

/* Google ------------------------------------------------------------------------------------- */

/* One read of instance/preempted: the first plainly, then waits for a change past the ETag
 * read last. Returns TRUE when the next wait may start at once (the server held the request
 * or the value changed), FALSE to wait for the poll interval first. */
static gboolean
__gcp_poll(WorkloadNoticeWatcher *w)
{
    gint64 started = g_get_monotonic_time();
    gboolean wait = w->gcp_etag != NULL;
    g_autofree char *url = NULL;
    if (wait) {
        g_autofree char *etag = g_uri_escape_string(w->gcp_etag, NULL, FALSE);
        g_autofree char *path =
            g_strdup_printf("/computeMetadata/v1/instance/"
                            "preempted?wait_for_change=true&timeout_sec=%d&last_etag=%s",
                            GCP_WAIT_S, etag);
        url = __url(w, path);
    } else {
        url = __url(w, "/computeMetadata/v1/instance/preempted");
    }
    struct curl_slist *headers = curl_slist_append(NULL, "Metadata-Flavor: Google");
    Reply reply = {0};
    long status;
    gint64 timeout = w->timeout_us + (wait ? (gint64)GCP_WAIT_S * G_USEC_PER_SEC : 0);
    CURLcode rc = __request(w, "GET", url, headers, timeout, &status, &reply);
    curl_slist_free_all(headers);
    if (rc != CURLE_OK || status != 200) {
        __reply_clear(&reply);
        return FALSE;
    }
    const char *value = g_strstrip(reply.body->str);
    gboolean changed = g_strcmp0(reply.etag, w->gcp_etag) != 0;
    g_free(w->gcp_etag);
    /* Without an ETag there is nothing to wait past: the next read is a plain one. */
    w->gcp_etag = g_steal_pointer(&reply.etag);
    gboolean preempted = g_ascii_strcasecmp(value, "TRUE") == 0;
    if (preempted && !w->gcp_preempted)
        __record(w, "gcp", g_strdup(value), __now() + GCP_NOTICE_S, NULL);
    w->gcp_preempted = preempted;
    __reply_clear(&reply);
    if (!wait)
        return w->gcp_etag != NULL;
    /* A server that answers a wait at once with the same value does not hold waits. */
    return changed || g_get_monotonic_time() - started >= w->poll_us;
}

/* Azure -------------------------------------------------------------------------------------- */

/* "Fri, 27 Nov 2026 06:02:00 GMT" as Unix time; 0 when it is not such a date. */
static double
__parse_rfc1123(const char *text)
{
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    char wday[4], mon[4];
    int day, year, hour, minute, second;
    if (text == NULL || sscanf(text, "%3s, %d %3s %d %d:%d:%d", wday, &day, mon, &year, &hour,
                               &minute, &second) != 7)
        return 0;
    int month = 0;
    for (int i = 0; i < 12; i++)
        if (g_ascii_strcasecmp(mon, months[i]) == 0)
            month = i + 1;
    if (month == 0)
        return 0;
    g_autoptr(GDateTime) t = g_date_time_new_utc(year, month, day, hour, minute, second);
    return t ? (double)g_date_time_to_unix(t) : 0;
}

/* Whether @event is a Preempt event for this VM (an empty Resources list names every VM of
 * the set; an unknown VM name accepts every event). */
static gboolean
__azure_ours(const WorkloadNoticeWatcher *w, json_t *event)
{
    if (g_strcmp0(json_string_value(json_object_get(event, "EventType")), "Preempt") != 0)
        return FALSE;
    json_t *resources = json_object_get(event, "Resources");
    if (w->azure_vm == NULL || !json_is_array(resources) || json_array_size(resources) == 0)
        return TRUE;
    for (size_t i = 0; i < json_array_size(resources); i++)
        if (g_strcmp0(json_string_value(json_array_get(resources, i)), w->azure_vm) == 0)
            return TRUE;
    return FALSE;
}

static void
__azure_poll(WorkloadNoticeWatcher *w)
{
    struct curl_slist *headers = curl_slist_append(NULL, "Metadata: true");
    Reply reply = {0};
    long status;
    if (!w->azure_vm_asked) {
        g_autofree char *url = __url(
            w, "/metadata/instance/compute/name?api-version=" AZURE_INSTANCE_API "&format=text");
        CURLcode rc = __request(w, "GET", url, headers, w->timeout_us, &status, &reply);
        if (rc == CURLE_OK) {
            w->azure_vm_asked = TRUE;
            g_strstrip(reply.body->str);
            if (status == 200 && reply.body->str[0] != '\0')
                w->azure_vm = g_strdup(reply.body->str);
        }
        __reply_clear(&reply);
        if (rc != CURLE_OK) {
            curl_slist_free_all(headers);
            return;
        }
    }
    g_autofree char *url = __url(w, "/metadata/scheduledevents?api-version=" AZURE_EVENTS_API);
    CURLcode rc = __request(w, "GET", url, headers, w->timeout_us, &status, &reply);
    curl_slist_free_all(headers);
    json_t *doc = rc == CURLE_OK && status == 200 ? json_loads(reply.body->str, 0, NULL) : NULL;
    __reply_clear(&reply);
    json_t *events = json_object_get(doc, "Events");
    for (size_t i = 0; i < json_array_size(events); i++) {
        json_t *event = json_array_get(events, i);
        const char *id = json_string_value(json_object_get(event, "EventId"));
        if (id == NULL || !__azure_ours(w, event) || g_hash_table_contains(w->azure_seen, id))
            continue;
        g_hash_table_add(w->azure_seen, g_strdup(id));
        char *text = json_dumps(event, JSON_COMPACT | JSON_PRESERVE_ORDER);
        double deadline = __parse_rfc1123(json_string_value(json_object_get(event, "NotBefore")));
        __record(w, "azure", g_strdup(text), deadline, g_strdup(id));
        free(text);
    }
    json_decref(doc);
}

/* The thread -------------------------------------------------------------------------------- */

static gpointer
__run(gpointer data)
{
    WorkloadNoticeWatcher *w = data;
    while (!__stopping(w)) {
        gint64 started = g_get_monotonic_time();
        gboolean again = FALSE;
        switch (w->cloud) {
        case WORKLOAD_CLOUD_AWS:
            __aws_poll(w);
            break;
        case WORKLOAD_CLOUD_GCP:
            again = __gcp_poll(w);
            break;
        case WORKLOAD_CLOUD_AZURE:
            __azure_poll(w);
            break;
        case WORKLOAD_CLOUD_NONE:
            break;
        }
        if (!again)
            __sleep_until(w, started + w->poll_us);
    }
    return NULL;
}

static gpointer
__curl_init(gpointer unused)
{
    return GINT_TO_POINTER((int)curl_global_init(CURL_GLOBAL_DEFAULT));
}

/* The base URL from the config, the environment or the cloud's default. */
static char *
__endpoint(const WorkloadNoticeConfig *config, GError **error)
{
    const char *var = config->cloud == WORKLOAD_CLOUD_AWS   ? "AWS_EC2_METADATA_SERVICE_ENDPOINT"
                      : config->cloud == WORKLOAD_CLOUD_GCP ? "GCE_METADATA_HOST"
                                                            : "SPOTLAB_AZURE_METADATA_ENDPOINT";
    const char *text = config->endpoint;
    const char *from = "endpoint";
    if (text == NULL) {
        const char *env = g_getenv(var);
        if (env != NULL && *env != '\0') {
            text = env;
            from = var;
        } else {
            text = config->cloud == WORKLOAD_CLOUD_GCP ? "metadata.google.internal"
                                                       : "http://169.254.169.254";
            from = "default endpoint";
        }
    }
    /* GCE_METADATA_HOST is host[:port]; a URL is accepted everywhere. */
    g_autofree char *url =
        strstr(text, "://") ? g_strdup(text) : g_strconcat("http://", text, NULL);
    gsize len = strlen(url);
    while (len > 0 && url[len - 1] == '/')
        url[--len] = '\0';
    g_autoptr(GUri) uri = g_uri_parse(url, G_URI_FLAGS_NONE, NULL);
    const char *scheme = uri ? g_uri_get_scheme(uri) : NULL;
    const char *host = uri ? g_uri_get_host(uri) : NULL;
    if (uri == NULL || (g_strcmp0(scheme, "http") != 0 && g_strcmp0(scheme, "https") != 0) ||
        host == NULL || *host == '\0' || g_uri_get_query(uri) != NULL ||
        g_uri_get_fragment(uri) != NULL) {
        g_set_error(error, WORKLOAD_NOTICE_ERROR, WORKLOAD_NOTICE_ERROR_CONFIG,
                    "%s metadata %s: expected a URL like http://169.254.169.254 or a host[:port], "
                    "got \"%s\"",
                    workload_cloud_name(config->cloud), from, text);
        return NULL;
    }
    return g_steal_pointer(&url);
}

WorkloadNoticeWatcher *
workload_notice_watcher_new(const WorkloadNoticeConfig *config, WorkloadNoticeCallback callback,
                            gpointer user_data, GError **error)
{
    g_return_val_if_fail(config != NULL, NULL);
    if ((int)config->cloud < WORKLOAD_CLOUD_NONE || config->cloud > WORKLOAD_CLOUD_AZURE) {
        g_set_error(error, WORKLOAD_NOTICE_ERROR, WORKLOAD_NOTICE_ERROR_CONFIG,
                    "cloud: expected none, aws, gcp or azure, got %d", (int)config->cloud);
        return NULL;
    }
    if (config->poll_interval_us < 0 || config->request_timeout_us < 0) {
        g_set_error(error, WORKLOAD_NOTICE_ERROR, WORKLOAD_NOTICE_ERROR_CONFIG,
                    "%s: expected a duration >= 0 (0 for the default), got %" G_GINT64_FORMAT " us",
                    config->poll_interval_us < 0 ? "poll interval" : "request timeout",
                    config->poll_interval_us < 0 ? config->poll_interval_us
                                                 : config->request_timeout_us);
        return NULL;
    }
    g_autofree char *endpoint = NULL;
    if (config->cloud != WORKLOAD_CLOUD_NONE && (endpoint = __endpoint(config, error)) == NULL)
        return NULL;
    static GOnce once = G_ONCE_INIT;
    CURLcode init = (CURLcode)GPOINTER_TO_INT(g_once(&once, __curl_init, NULL));
    if (init != CURLE_OK) {
        g_set_error(error, WORKLOAD_NOTICE_ERROR, WORKLOAD_NOTICE_ERROR_HTTP,
                    "libcurl: cannot initialise: %s", curl_easy_strerror(init));
        return NULL;
    }

    WorkloadNoticeWatcher *w = g_new0(WorkloadNoticeWatcher, 1);
    w->cloud = config->cloud;
    w->endpoint = g_steal_pointer(&endpoint);
    w->poll_us = config->poll_interval_us > 0 ? config->poll_interval_us : DEFAULT_POLL_US;
    w->timeout_us =
        config->request_timeout_us > 0 ? config->request_timeout_us : DEFAULT_TIMEOUT_US;
    w->callback = callback;
    w->user_data = user_data;
    g_mutex_init(&w->lock);
    g_cond_init(&w->cond);
    w->azure_seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    if (w->cloud == WORKLOAD_CLOUD_NONE)
        return w;
    w->multi = curl_multi_init();
    w->easy = curl_easy_init();
    if (w->multi == NULL || w->easy == NULL) {
        g_set_error(error, WORKLOAD_NOTICE_ERROR, WORKLOAD_NOTICE_ERROR_HTTP,
                    "libcurl: cannot create a transfer handle");
        workload_notice_watcher_free(w);
        return NULL;
    }
    w->thread = g_thread_try_new("notice-watcher", __run, w, error);
    if (w->thread == NULL) {
        g_prefix_error(error, "notice watcher: ");
        workload_notice_watcher_free(w);
        return NULL;
    }
    return w;
}

void
workload_notice_watcher_free(WorkloadNoticeWatcher *watcher)
{
    if (watcher == NULL)
        return;
    if (watcher->thread != NULL) {
        g_mutex_lock(&watcher->lock);
        watcher->stop = TRUE;
        atomic_store(&watcher->stopping, 1);
        g_cond_broadcast(&watcher->cond);
        g_mutex_unlock(&watcher->lock);
        curl_multi_wakeup(watcher->multi);
        g_thread_join(watcher->thread);
    }
    if (watcher->easy != NULL)
        curl_easy_cleanup(watcher->easy);
    if (watcher->multi != NULL)
        curl_multi_cleanup(watcher->multi);
    g_mutex_clear(&watcher->lock);
    g_cond_clear(&watcher->cond);
    workload_notice_clear(&watcher->first);
    g_free(watcher->endpoint);
    g_free(watcher->azure_event_id);
    g_free(watcher->aws_token);
    g_free(watcher->aws_last);
    g_free(watcher->gcp_etag);
    g_free(watcher->azure_vm);
    g_hash_table_unref(watcher->azure_seen);
    g_free(watcher);
}

gboolean
workload_notice_pending(WorkloadNoticeWatcher *watcher, WorkloadNotice *notice)
{
    g_return_val_if_fail(watcher != NULL, FALSE);
    if (atomic_load(&watcher->ready) == 0 && atomic_load(&notice_signals) == 0)
        return FALSE;
    g_mutex_lock(&watcher->lock);
    __observe_signals(watcher);
    if (notice != NULL)
        __copy(notice, &watcher->first);
    g_mutex_unlock(&watcher->lock);
    return TRUE;
}

guint
workload_notice_count(WorkloadNoticeWatcher *watcher)
{
    g_return_val_if_fail(watcher != NULL, 0);
    g_mutex_lock(&watcher->lock);
    guint count = watcher->metadata_count + atomic_load(&notice_signals);
    g_mutex_unlock(&watcher->lock);
    return count;
}

gboolean
workload_notice_acknowledge(WorkloadNoticeWatcher *watcher, GError **error)
{
    g_return_val_if_fail(watcher != NULL, FALSE);
    if (watcher->cloud != WORKLOAD_CLOUD_AZURE)
        return TRUE;
    g_mutex_lock(&watcher->lock);
    g_autofree char *id = g_strdup(watcher->azure_event_id);
    g_mutex_unlock(&watcher->lock);
    if (id == NULL)
        return TRUE;
    json_t *doc = json_pack("{s:[{s:s}]}", "StartRequests", "EventId", id);
    char *body = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    g_autofree char *url =
        __url(watcher, "/metadata/scheduledevents?api-version=" AZURE_EVENTS_API);
    struct curl_slist *headers = curl_slist_append(NULL, "Metadata: true");
    headers = curl_slist_append(headers, "Content-Type: application/json");
    CURL *easy = curl_easy_init();
    Reply reply = {0};
    CURLcode rc = CURLE_FAILED_INIT;
    long status = 0;
    if (easy != NULL) {
        __setup(easy, "POST", url, headers, body, watcher->timeout_us, &reply);
        rc = curl_easy_perform(easy);
        if (rc == CURLE_OK)
            curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(easy);
    }
    curl_slist_free_all(headers);
    free(body);
    gboolean ok = rc == CURLE_OK && status == 200;
    if (rc != CURLE_OK)
        g_set_error(error, WORKLOAD_NOTICE_ERROR, WORKLOAD_NOTICE_ERROR_HTTP,
                    "acknowledging Azure event %s: POST %s: %s", id, url, curl_easy_strerror(rc));
    else if (!ok)
        g_set_error(error, WORKLOAD_NOTICE_ERROR, WORKLOAD_NOTICE_ERROR_HTTP,
                    "acknowledging Azure event %s: POST %s: HTTP %ld: %.200s", id, url, status,
                    reply.body ? reply.body->str : "");
    __reply_clear(&reply);
    return ok;
}
