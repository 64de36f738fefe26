/* harness: the emulated metadata services answer as the clouds' real ones do, over real HTTP.
 *
 * Each service runs on its own thread and GMainContext, as a test or the supervisor runs it,
 * and is driven with libcurl on loopback:
 * - AWS: token TTL bounds (1..21600, else 400), the TTL header echoed, 401 without a token in
 *   v2-only mode and with an unknown or expired one in either mode, 404 then the notice JSON
 *   and termination time, the rebalance recommendation, 403 through a proxy, 405, 404.
 * - Google: Metadata-Flavor required (403 and Google's page), ETags, wait_for_change held until
 *   the notice, answered at once for a stale last_etag, answered at timeout_sec with the same
 *   value, 403 through a proxy.
 * - Azure: the Metadata header and api-version required (400 and Azure's bodies), the Preempt
 *   event with every field, DocumentIncarnation growing, acknowledgement by POST.
 * - every service: loopback only, the fault knobs, a busy port refused.
 * - `spotlab imds` as a child for each cloud: the endpoint line, SIGUSR1 issues the notice,
 *   SIGTERM exits 0; bad usage exits 2.
 */
#include "imds.h"
#include "imds-server.h"
#include "test-util.h"

#include <curl/curl.h>
#include <errno.h>
#include <ifaddrs.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* Generous: under valgrind every request is slow. */
#define WAIT_S 20

/* ---- a service on its own thread ---------------------------------------------------------- */

static TestImdsServer *
server_start(HarnessImdsCloud cloud, gboolean aws_v1)
{
    TestImdsServer *s = test_imds_server_start(cloud, aws_v1, 0);
    g_assert(s != NULL);
    return s;
}

/* ---- HTTP with libcurl -------------------------------------------------------------------- */

typedef struct {
    CURLcode rc;
    long status;
    char *body;
    GString *headers;
    double seconds;
} Http;

static void
http_free(Http *h)
{
    if (h == NULL)
        return;
    g_free(h->body);
    g_string_free(h->headers, TRUE);
    g_free(h);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Http, http_free)

static size_t
__append(char *data, size_t size, size_t n, void *user_data)
{
    g_string_append_len(user_data, data, (gssize)(size * n));
    return size * n;
}

/* @headers: NULL-terminated "Name: value" lines; @body makes it a POST unless @method says. */
static Http *
http(const char *method, const char *url, const char *const *headers, const char *body)
{
    Http *h = g_new0(Http, 1);
    h->headers = g_string_new(NULL);
    GString *out = g_string_new(NULL);
    CURL *easy = curl_easy_init();
    g_assert(easy != NULL);
    struct curl_slist *list = NULL;
    for (int i = 0; headers != NULL && headers[i] != NULL; i++)
        list = curl_slist_append(list, headers[i]);
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)WAIT_S * 1000);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, __append);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, __append);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, h->headers);
    if (body != NULL)
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body);
    if (strcmp(method, "GET") != 0 && !(body != NULL && strcmp(method, "POST") == 0))
        curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method);
    gint64 start = g_get_monotonic_time();
    h->rc = curl_easy_perform(easy);
    h->seconds = (double)(g_get_monotonic_time() - start) / G_USEC_PER_SEC;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &h->status);
    curl_easy_cleanup(easy);
    curl_slist_free_all(list);
    h->body = g_string_free(out, FALSE);
    if (h->rc != CURLE_OK)
        fprintf(stderr, "\n%s %s: %s\n", method, url, curl_easy_strerror(h->rc));
    return h;
}

static Http *
get(TestImdsServer *s, const char *path, const char *const *headers)
{
    g_autofree char *url = g_strconcat(harness_imds_get_url(s->imds), path, NULL);
    return http("GET", url, headers, NULL);
}

/* The value of response header @name, or NULL. */
static char *
header(const Http *h, const char *name)
{
    g_auto(GStrv) lines = g_strsplit(h->headers->str, "\r\n", -1);
    gsize len = strlen(name);
    for (int i = 0; lines[i] != NULL; i++)
        if (g_ascii_strncasecmp(lines[i], name, len) == 0 && lines[i][len] == ':')
            return g_strstrip(g_strdup(lines[i] + len + 1));
    return NULL;
}

static gboolean
header_is(const Http *h, const char *name, const char *value)
{
    g_autofree char *v = header(h, name);
    if (g_strcmp0(v, value) != 0)
        fprintf(stderr, "\n%s: expected '%s', got '%s'\n", name, value, v ? v : "(none)");
    return g_strcmp0(v, value) == 0;
}

/* 2026-11-27T06:02:00Z, half a second into it (shown to the second). */
static gint64
reclaim_time(void)
{
    g_autoptr(GDateTime) t = g_date_time_new_utc(2026, 11, 27, 6, 2, 0);
    return g_date_time_to_unix(t) * G_USEC_PER_SEC + 500000;
}

static gboolean
wait_for(gboolean (*done)(gpointer), gpointer data, double seconds)
{
    gint64 until = g_get_monotonic_time() + (gint64)(seconds * G_USEC_PER_SEC);
    while (!done(data)) {
        if (g_get_monotonic_time() > until)
            return FALSE;
        g_usleep(5000);
    }
    return TRUE;
}

/* ---- AWS ---------------------------------------------------------------------------------- */

static char *
aws_token(TestImdsServer *s, const char *ttl)
{
    g_autofree char *url = g_strconcat(harness_imds_get_url(s->imds), "/latest/api/token", NULL);
    g_autofree char *line = g_strdup_printf("X-aws-ec2-metadata-token-ttl-seconds: %s", ttl);
    g_autoptr(Http) h = http("PUT", url, (const char *[]){line, NULL}, NULL);
    if (h->status != 200)
        return NULL;
    return g_strdup(h->body);
}

static Http *
aws_get(TestImdsServer *s, const char *path, const char *token)
{
    g_autofree char *line = token ? g_strdup_printf("X-aws-ec2-metadata-token: %s", token) : NULL;
    return get(s, path, (const char *[]){line, NULL});
}

static void
test_aws_token_ttl(void)
{
    g_autoptr(TestImdsServer) s = server_start(HARNESS_IMDS_AWS, FALSE);
    g_autofree char *url = g_strconcat(harness_imds_get_url(s->imds), "/latest/api/token", NULL);
    const char *bad[] = {"0", "21601", "-5", "abc", ""};
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *line = g_strdup_printf("X-aws-ec2-metadata-token-ttl-seconds: %s", bad[i]);
        g_autoptr(Http) h = http("PUT", url, (const char *[]){line, NULL}, NULL);
        if (h->status != 400)
            fprintf(stderr, "\nTTL '%s': %ld\n", bad[i], h->status);
        CU_ASSERT_EQUAL(h->status, 400);
    }
    g_autoptr(Http) missing = http("PUT", url, NULL, NULL);
    CU_ASSERT_EQUAL(missing->status, 400);
    const char *good[] = {"1", "21600"};
    for (gsize i = 0; i < G_N_ELEMENTS(good); i++) {
        g_autofree char *line =
            g_strdup_printf("X-aws-ec2-metadata-token-ttl-seconds: %s", good[i]);
        g_autoptr(Http) h = http("PUT", url, (const char *[]){line, NULL}, NULL);
        CU_ASSERT_EQUAL(h->status, 200);
        CU_ASSERT_EQUAL(strlen(h->body), 56);
        CU_ASSERT(header_is(h, "X-aws-ec2-metadata-token-ttl-seconds", good[i]));
        CU_ASSERT(header_is(h, "Content-Type", "text/plain"));
    }
    /* Tokens are made by PUT only. */
    g_autoptr(Http) got = http("GET", url, NULL, NULL);
    CU_ASSERT_EQUAL(got->status, 405);
    CU_ASSERT_EQUAL(test_imds_server_stats(s).tokens_issued, 2);
}

static void
test_aws_v2_needs_a_token(void)
{
    g_autoptr(TestImdsServer) s = server_start(HARNESS_IMDS_AWS, FALSE);
    g_autoptr(Http) none = aws_get(s, "/latest/meta-data/instance-id", NULL);
    CU_ASSERT_EQUAL(none->status, 401);
    CU_ASSERT_PTR_NOT_NULL(strstr(none->body, "401 - Unauthorized"));
    g_autoptr(Http) unknown = aws_get(s, "/latest/meta-data/instance-id", "not-a-token");
    CU_ASSERT_EQUAL(unknown->status, 401);
    g_autofree char *token = aws_token(s, "60");
    CU_ASSERT_PTR_NOT_NULL_FATAL(token);
    g_autoptr(Http) ok = aws_get(s, "/latest/meta-data/instance-id", token);
    CU_ASSERT_EQUAL(ok->status, 200);
    CU_ASSERT(g_str_has_prefix(ok->body, "i-") && strlen(ok->body) == 19);
    g_autoptr(Http) type = aws_get(s, "/latest/meta-data/instance-type", token);
    CU_ASSERT_STRING_EQUAL(type->body, "p5.48xlarge");
    g_autoptr(Http) lost = aws_get(s, "/latest/meta-data/no-such-thing", token);
    CU_ASSERT_EQUAL(lost->status, 404);
    g_autofree char *url =
        g_strconcat(harness_imds_get_url(s->imds), "/latest/meta-data/instance-id", NULL);
    g_autofree char *line = g_strdup_printf("X-aws-ec2-metadata-token: %s", token);
    g_autoptr(Http) post = http("POST", url, (const char *[]){line, NULL}, "x");
    CU_ASSERT_EQUAL(post->status, 405);
    HarnessImdsStats stats = test_imds_server_stats(s);
    CU_ASSERT_EQUAL(stats.unauthorized, 2);
    CU_ASSERT_EQUAL(stats.tokens_issued, 1);
    CU_ASSERT_EQUAL(stats.requests, 7);
}

static void
test_aws_v1_allowed(void)
{
    g_autoptr(TestImdsServer) s = server_start(HARNESS_IMDS_AWS, TRUE);
    g_autoptr(Http) none = aws_get(s, "/latest/meta-data/instance-id", NULL);
    CU_ASSERT_EQUAL(none->status, 200);
    /* A token that is sent must be valid, even where v1 is allowed. */
    g_autoptr(Http) unknown = aws_get(s, "/latest/meta-data/instance-id", "not-a-token");
    CU_ASSERT_EQUAL(unknown->status, 401);
    g_autofree char *token = aws_token(s, "60");
    g_autoptr(Http) ok = aws_get(s, "/latest/meta-data/instance-id", token);
    CU_ASSERT_EQUAL(ok->status, 200);
}

static void
test_aws_notice(void)
{
    g_autoptr(TestImdsServer) s = server_start(HARNESS_IMDS_AWS, FALSE);
    g_autofree char *token = aws_token(s, "21600");
    CU_ASSERT_PTR_NOT_NULL_FATAL(token);
    const char *paths[] = {"/latest/meta-data/spot/instance-action",
                           "/latest/meta-data/spot/termination-time",
                           "/latest/meta-data/events/recommendations/rebalance"};
    for (gsize i = 0; i < G_N_ELEMENTS(paths); i++) {
        g_autoptr(Http) h = aws_get(s, paths[i], token);
        CU_ASSERT_EQUAL(h->status, 404);
    }
    g_autoptr(Http) listing = aws_get(s, "/latest/meta-data/", token);
    CU_ASSERT_PTR_NULL(strstr(listing->body, "spot/"));

    harness_imds_notify(s->imds, reclaim_time());
    g_autoptr(Http) action = aws_get(s, paths[0], token);
    CU_ASSERT_EQUAL(action->status, 200);
    CU_ASSERT_STRING_EQUAL(action->body,
                           "{\"action\": \"terminate\", \"time\": \"2026-11-27T06:02:00Z\"}");
    CU_ASSERT(header_is(action, "Content-Type", "text/plain"));
    json_t *doc = json_loads(action->body, 0, NULL);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(doc, "action")), "terminate");
    json_decref(doc);
    g_autoptr(Http) time = aws_get(s, paths[1], token);
    CU_ASSERT_EQUAL(time->status, 200);
    CU_ASSERT_STRING_EQUAL(time->body, "2026-11-27T06:02:00Z");
    g_autoptr(Http) rebalance = aws_get(s, paths[2], token);
    CU_ASSERT_EQUAL(rebalance->status, 404);
    g_autoptr(Http) listing2 = aws_get(s, "/latest/meta-data/", token);
    CU_ASSERT_PTR_NOT_NULL(strstr(listing2->body, "spot/"));

    harness_imds_rebalance(s->imds, reclaim_time() - 600 * G_USEC_PER_SEC);
    g_autoptr(Http) rebalance2 = aws_get(s, paths[2], token);
    CU_ASSERT_EQUAL(rebalance2->status, 200);
    CU_ASSERT_STRING_EQUAL(rebalance2->body, "{\"noticeTime\": \"2026-11-27T05:52:00Z\"}");
    CU_ASSERT_EQUAL(test_imds_server_stats(s).notices_fetched, 2);

    /* A reset service has no notice and has forgotten its tokens. */
    harness_imds_reset(s->imds);
    g_autoptr(Http) forgotten = aws_get(s, paths[0], token);
    CU_ASSERT_EQUAL(forgotten->status, 401);
    g_autofree char *token2 = aws_token(s, "60");
    g_autoptr(Http) withdrawn = aws_get(s, paths[0], token2);
    CU_ASSERT_EQUAL(withdrawn->status, 404);
}

static void
test_aws_token_expiry(void)
{
    g_autoptr(TestImdsServer) s = server_start(HARNESS_IMDS_AWS, FALSE);
    g_autofree char *brief = aws_token(s, "1");
    g_autofree char *lasting = aws_token(s, "600");
    g_autoptr(Http) fresh = aws_get(s, "/latest/meta-data/instance-id", brief);
    CU_ASSERT_EQUAL(fresh->status, 200);
    g_usleep(1100 * 1000);
    g_autoptr(Http) expired = aws_get(s, "/latest/meta-data/instance-id", brief);
    CU_ASSERT_EQUAL(expired->status, 401);
    g_autoptr(Http) still = aws_get(s, "/latest/meta-data/instance-id", lasting);
    CU_ASSERT_EQUAL(still->status, 200);
    harness_imds_expire_tokens(s->imds);
    g_autoptr(Http) gone = aws_get(s, "/latest/meta-data/instance-id", lasting);
    CU_ASSERT_EQUAL(gone->status, 401);
}

static void
test_aws_forwarded_refused(void)
{
    g_autoptr(TestImdsServer) s = server_start(HARNESS_IMDS_AWS, TRUE);
    g_autofree char *url = g_strconcat(harness_imds_get_url(s->imds), "/latest/api/token", NULL);
    g_autoptr(Http) put = http("PUT", url,
                               (const char *[]){"X-aws-ec2-metadata-token-ttl-seconds: 60",
                                                "X-Forwarded-For: 203.0.113.9", NULL},
                               NULL);
    CU_ASSERT_EQUAL(put->status, 403);
    g_autofree char *token = aws_token(s, "60");
    g_autofree char *line = g_strdup_printf("X-aws-ec2-metadata-token: %s", token);
    g_autoptr(Http) h = get(s, "/latest/meta-data/instance-id",
                            (const char *[]){line, "X-Forwarded-For: 203.0.113.9", NULL});
    CU_ASSERT_EQUAL(h->status, 403);
    g_autoptr(Http) v1 = get(s, "/latest/meta-data/instance-id",
                             (const char *[]){"X-Forwarded-For: 203.0.113.9", NULL});
    CU_ASSERT_EQUAL(v1->status, 403);
    CU_ASSERT_EQUAL(test_imds_server_stats(s).refused, 3);
    CU_ASSERT_EQUAL(test_imds_server_stats(s).tokens_issued, 1);
}

/* ---- Google ------------------------------------------------------------------------------- */

#define FLAVOR    "Metadata-Flavor: Google"
#define PREEMPTED "/computeMetadata/v1/instance/preempted"

static void
test_gcp_flavor_required(void)
{
    g_autoptr(TestImdsServer) s = server_start(HARNESS_IMDS_GCP, FALSE);
    g_autoptr(Http) none = get(s, PREEMPTED, NULL);
    CU_ASSERT_EQUAL(none->status, 403);
    CU_ASSERT_PTR_NOT_NULL(strstr(none->body, "Missing Metadata-Flavor:Google header."));
    CU_ASSERT_PTR_NOT_NULL(strstr(none->body, "<code>" PREEMPTED "</code>"));
    CU_ASSERT(header_is(none, "Metadata-Flavor", "Google"));
    g_autoptr(Http) wrong = get(s, PREEMPTED, (const char *[]){"Metadata-Flavor: google", NULL});
    CU_ASSERT_EQUAL(wrong->status, 403);
    g_autoptr(Http) proxied =
        get(s, PREEMPTED, (const char *[]){FLAVOR, "X-Forwarded-For: 203.0.113.9", NULL});
    CU_ASSERT_EQUAL(proxied->status, 403);
    CU_ASSERT_EQUAL(test_imds_server_stats(s).refused, 3);
    g_autoptr(Http) lost =
        get(s, "/computeMetadata/v1/instance/nothing", (const char *[]){FLAVOR, NULL});
    CU_ASSERT_EQUAL(lost->status, 404);
}

static void
test_gcp_values_and_etags(void)
{
    g_autoptr(TestImdsServer) s = server_start(HARNESS_IMDS_GCP, FALSE);
    const char *const flavor[] = {FLAVOR, NULL};
    g_autoptr(Http) before = get(s, PREEMPTED, flavor);
    CU_ASSERT_EQUAL(before->status, 200);
    CU_ASSERT_STRING_EQUAL(before->body, "FALSE");
    CU_ASSERT(header_is(before, "Metadata-Flavor", "Google"));
    CU_ASSERT(header_is(before, "Content-Type", "application/text"));
    g_autofree char *etag = header(before, "ETag");
    CU_ASSERT(etag != NULL && strlen(etag) == 16);
    g_autoptr(Http) event = get(s, "/computeMetadata/v1/instance/maintenance-event", flavor);
    CU_ASSERT_STRING_EQUAL(event->body, "NONE");
    g_autoptr(Http) name = get(s, "/computeMetadata/v1/instance/name", flavor);
    CU_ASSERT_STRING_EQUAL(name->body, "vm-7");

    harness_imds_notify(s->imds, reclaim_time());
    g_autoptr(Http) after = get(s, PREEMPTED, flavor);
    CU_ASSERT_STRING_EQUAL(after->body, "TRUE");
    g_autofree char *etag2 = header(after, "ETag");
    CU_ASSERT(etag2 != NULL && g_strcmp0(etag, etag2) != 0);
    g_autoptr(Http) event2 = get(s, "/computeMetadata/v1/instance/maintenance-event", flavor);
    CU_ASSERT_STRING_EQUAL(event2->body, "TERMINATE_ON_HOST_MAINTENANCE");
    CU_ASSERT_EQUAL(test_imds_server_stats(s).notices_fetched, 1);

    /* ETags are a hash of the value: the same value has the same ETag again. */
    harness_imds_reset(s->imds);
    g_autoptr(Http) reset = get(s, PREEMPTED, flavor);
    CU_ASSERT_STRING_EQUAL(reset->body, "FALSE");
    g_autofree char *etag3 = header(reset, "ETag");
    CU_ASSERT_STRING_EQUAL(etag3, etag);
}

typedef struct {
    TestImdsServer *server;
    char *path;
    Http *reply;
    gint64 done_at; /* monotonic */
    gint done;      /* set once the answer came */
} Pending;

static gpointer
__pending_get(gpointer data)
{
    Pending *p = data;
    p->reply = get(p->server, p->path, (const char *[]){FLAVOR, NULL});
    p->done_at = g_get_monotonic_time();
    g_atomic_int_set(&p->done, 1);
    return NULL;
}

static gboolean
__one_waiting(gpointer data)
{
    return test_imds_server_stats(data).waiting == 1;
}

static void
test_gcp_wait_for_change(void)
{
    g_autoptr(TestImdsServer) s = server_start(HARNESS_IMDS_GCP, FALSE);
    Pending p = {.server = s, .path = PREEMPTED "?wait_for_change=true&timeout_sec=60"};
    GThread *thread = g_thread_new("wait", __pending_get, &p);
    CU_ASSERT_FATAL(wait_for(__one_waiting, s, WAIT_S));
    /* Held: nothing comes back while nothing changes. */
    g_usleep(300 * 1000);
    CU_ASSERT_EQUAL(g_atomic_int_get(&p.done), 0);
    gint64 notified = g_get_monotonic_time();
    harness_imds_notify(s->imds, reclaim_time());
    g_thread_join(thread);
    CU_ASSERT_EQUAL(p.reply->status, 200);
    CU_ASSERT_STRING_EQUAL(p.reply->body, "TRUE");
    double latency = (double)(p.done_at - notified) / G_USEC_PER_SEC;
    if (latency >= 2)
        fprintf(stderr, "\nwait answered %.3f s after the notice\n", latency);
    CU_ASSERT(latency < 2);
    CU_ASSERT_EQUAL(test_imds_server_stats(s).waiting, 0);
    http_free(p.reply);
}

static void
test_gcp_stale_etag_and_timeout(void)
{
    g_autoptr(TestImdsServer) s = server_start(HARNESS_IMDS_GCP, FALSE);
    const char *const flavor[] = {FLAVOR, NULL};
    g_autoptr(Http) first = get(s, PREEMPTED, flavor);
    g_autofree char *etag = header(first, "ETag");
    /* A client that holds another value gets the current one at once. */
    g_autoptr(Http) stale =
        get(s, PREEMPTED "?wait_for_change=true&timeout_sec=30&last_etag=0123456789abcdef", flavor);
    CU_ASSERT_EQUAL(stale->status, 200);
    CU_ASSERT_STRING_EQUAL(stale->body, "FALSE");
    CU_ASSERT(stale->seconds < 5);
    /* A client that holds the current value waits timeout_sec, then gets it again. */
    g_autofree char *path =
        g_strdup_printf(PREEMPTED "?wait_for_change=true&timeout_sec=1&last_etag=%s", etag);
    g_autoptr(Http) timed = get(s, path, flavor);
    CU_ASSERT_EQUAL(timed->status, 200);
    CU_ASSERT_STRING_EQUAL(timed->body, "FALSE");
    CU_ASSERT(timed->seconds >= 0.95 && timed->seconds < 10);
    g_autoptr(Http) bad = get(s, PREEMPTED "?wait_for_change=true&timeout_sec=soon", flavor);
    CU_ASSERT_EQUAL(bad->status, 400);
}

/* ---- Azure -------------------------------------------------------------------------------- */

#define EVENTS "/metadata/scheduledevents?api-version=2020-07-01"

static json_t *
azure_document(TestImdsServer *s)
{
    g_autoptr(Http) h = get(s, EVENTS, (const char *[]){"Metadata: true", NULL});
    CU_ASSERT_EQUAL(h->status, 200);
    CU_ASSERT(header_is(h, "Content-Type", "application/json; charset=utf-8"));
    return json_loads(h->body, 0, NULL);
}

static const char *
__error_of(const Http *h, json_t **doc)
{
    *doc = json_loads(h->body, 0, NULL);
    return json_string_value(json_object_get(*doc, "error"));
}

static void
test_azure_headers_and_versions(void)
{
    g_autoptr(TestImdsServer) s = server_start(HARNESS_IMDS_AZURE, FALSE);
    json_t *doc;
    g_autoptr(Http) none = get(s, EVENTS, NULL);
    CU_ASSERT_EQUAL(none->status, 400);
    CU_ASSERT_STRING_EQUAL(__error_of(none, &doc),
                           "Bad request. Required metadata header not specified");
    json_decref(doc);
    g_autoptr(Http) missing =
        get(s, "/metadata/scheduledevents", (const char *[]){"Metadata: true", NULL});
    CU_ASSERT_EQUAL(missing->status, 400);
    CU_ASSERT(g_str_has_prefix(__error_of(missing, &doc),
                               "Bad request. api-version was not specified in the request."));
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_array_get(json_object_get(doc, "newest-versions"), 0)),
        "2020-07-01");
    json_decref(doc);
    g_autoptr(Http) unknown = get(s, "/metadata/scheduledevents?api-version=2099-01-01",
                                  (const char *[]){"Metadata: true", NULL});
    CU_ASSERT_EQUAL(unknown->status, 400);
    CU_ASSERT(g_str_has_prefix(__error_of(unknown, &doc), "Bad request. api-version is invalid"));
    json_decref(doc);
    g_autoptr(Http) older = get(s, "/metadata/scheduledevents?api-version=2019-08-01",
                                (const char *[]){"Metadata: true", NULL});
    CU_ASSERT_EQUAL(older->status, 200);
    g_autoptr(Http) name =
        get(s, "/metadata/instance/compute/name?api-version=2021-02-01&format=text",
            (const char *[]){"Metadata: true", NULL});
    CU_ASSERT_STRING_EQUAL(name->body, "vm-7");
    CU_ASSERT_EQUAL(test_imds_server_stats(s).refused, 1);
}

static void
test_azure_preempt_and_acknowledge(void)
{
    g_autoptr(TestImdsServer) s = server_start(HARNESS_IMDS_AZURE, FALSE);
    json_t *before = azure_document(s);
    json_int_t incarnation = json_integer_value(json_object_get(before, "DocumentIncarnation"));
    CU_ASSERT_EQUAL(json_array_size(json_object_get(before, "Events")), 0);
    json_decref(before);

    harness_imds_notify(s->imds, reclaim_time());
    json_t *after = azure_document(s);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(after, "DocumentIncarnation")),
                    incarnation + 1);
    json_t *events = json_object_get(after, "Events");
    CU_ASSERT_EQUAL_FATAL(json_array_size(events), 1);
    json_t *event = json_array_get(events, 0);
    const char *id = json_string_value(json_object_get(event, "EventId"));
    CU_ASSERT(id != NULL && strlen(id) == 36 && g_uuid_string_is_valid(id));
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(event, "EventType")), "Preempt");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(event, "ResourceType")),
                           "VirtualMachine");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(event, "EventStatus")), "Scheduled");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(event, "NotBefore")),
                           "Fri, 27 Nov 2026 06:02:00 GMT");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(event, "EventSource")), "Platform");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(event, "DurationInSeconds")), -1);
    CU_ASSERT(json_string_length(json_object_get(event, "Description")) > 0);
    json_t *resources = json_object_get(event, "Resources");
    CU_ASSERT(json_array_size(resources) == 1 &&
              g_strcmp0(json_string_value(json_array_get(resources, 0)), "vm-7") == 0);
    g_autofree char *event_id = g_strdup(id);
    json_decref(after);

    g_autofree char *url = g_strconcat(harness_imds_get_url(s->imds), EVENTS, NULL);
    const char *const headers[] = {"Metadata: true", "Content-Type: application/json", NULL};
    g_autoptr(Http) bad = http("POST", url, headers, "{\"StartRequests\": [");
    CU_ASSERT_EQUAL(bad->status, 400);
    g_autoptr(Http) wrong = http("POST", url, headers, "{\"StartRequests\": [{\"Id\": 1}]}");
    CU_ASSERT_EQUAL(wrong->status, 400);
    CU_ASSERT_EQUAL(test_imds_server_stats(s).acknowledged, 0);
    g_autofree char *body =
        g_strdup_printf("{\"StartRequests\": [{\"EventId\": \"%s\"}]}", event_id);
    g_autoptr(Http) ack = http("POST", url, headers, body);
    CU_ASSERT_EQUAL(ack->status, 200);
    CU_ASSERT_EQUAL(test_imds_server_stats(s).acknowledged, 1);
    json_t *started = azure_document(s);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(started, "DocumentIncarnation")),
                    incarnation + 2);
    CU_ASSERT_STRING_EQUAL(
        json_string_value(
            json_object_get(json_array_get(json_object_get(started, "Events"), 0), "EventStatus")),
        "Started");
    json_decref(started);
    CU_ASSERT(test_imds_server_stats(s).notices_fetched >= 2);

    /* A reset withdraws the event; the incarnation still grows. */
    harness_imds_reset(s->imds);
    json_t *reset = azure_document(s);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(reset, "Events")), 0);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(reset, "DocumentIncarnation")),
                    incarnation + 3);
    json_decref(reset);
}

/* ---- every service ------------------------------------------------------------------------ */

/* Whether a TCP connection to @address (IPv4 or IPv6) on @port is accepted. */
static gboolean
__connects(const struct sockaddr *address, socklen_t len)
{
    int fd = socket(address->sa_family, SOCK_STREAM, 0);
    if (fd < 0)
        return FALSE;
    gboolean ok = connect(fd, address, len) == 0;
    close(fd);
    return ok;
}

static void
test_loopback_only(void)
{
    HarnessImdsCloud clouds[] = {HARNESS_IMDS_AWS, HARNESS_IMDS_GCP, HARNESS_IMDS_AZURE};
    for (gsize c = 0; c < G_N_ELEMENTS(clouds); c++) {
        g_autoptr(TestImdsServer) s = server_start(clouds[c], FALSE);
        guint port = harness_imds_get_port(s->imds);
        g_autofree char *url = g_strdup_printf("http://127.0.0.1:%u", port);
        CU_ASSERT_STRING_EQUAL(harness_imds_get_url(s->imds), url);
        struct sockaddr_in loopback = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        loopback.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        CU_ASSERT(__connects((struct sockaddr *)&loopback, sizeof loopback));
        /* Every other address of this machine refuses it. */
        struct ifaddrs *addresses = NULL;
        CU_ASSERT_EQUAL_FATAL(getifaddrs(&addresses), 0);
        int others = 0;
        for (struct ifaddrs *a = addresses; a != NULL; a = a->ifa_next) {
            if (a->ifa_addr == NULL || a->ifa_addr->sa_family != AF_INET)
                continue;
            struct sockaddr_in other = *(struct sockaddr_in *)a->ifa_addr;
            if ((ntohl(other.sin_addr.s_addr) >> 24) == 127)
                continue;
            other.sin_port = htons((uint16_t)port);
            CU_ASSERT(!__connects((struct sockaddr *)&other, sizeof other));
            others++;
        }
        freeifaddrs(addresses);
        struct sockaddr_in6 v6 = {.sin6_family = AF_INET6,
                                  .sin6_port = htons((uint16_t)port),
                                  .sin6_addr = IN6ADDR_LOOPBACK_INIT};
        CU_ASSERT(!__connects((struct sockaddr *)&v6, sizeof v6));
        if (c == 0 && others == 0)
            fprintf(stderr, "\n(no address but loopback here: only ::1 checked)\n");
        g_autofree char *env = harness_imds_env_value(s->imds);
        g_autofree char *host = g_strdup_printf("127.0.0.1:%u", port);
        CU_ASSERT_STRING_EQUAL(env, clouds[c] == HARNESS_IMDS_GCP ? host : url);
    }
    CU_ASSERT_STRING_EQUAL(harness_imds_env_name(HARNESS_IMDS_AWS),
                           "AWS_EC2_METADATA_SERVICE_ENDPOINT");
    CU_ASSERT_STRING_EQUAL(harness_imds_env_name(HARNESS_IMDS_GCP), "GCE_METADATA_HOST");
    CU_ASSERT_STRING_EQUAL(harness_imds_env_name(HARNESS_IMDS_AZURE),
                           "SPOTLAB_AZURE_METADATA_ENDPOINT");
    HarnessImdsCloud cloud;
    CU_ASSERT(harness_imds_cloud_parse("google", &cloud) && cloud == HARNESS_IMDS_GCP);
    CU_ASSERT(!harness_imds_cloud_parse("oracle", &cloud));
}

static void
test_busy_port_refused(void)
{
    g_autoptr(TestImdsServer) s = server_start(HARNESS_IMDS_AWS, FALSE);
    HarnessImdsOptions options = {.cloud = HARNESS_IMDS_GCP};
    g_autoptr(GMainContext) context = g_main_context_new();
    g_autoptr(HarnessImds) second = harness_imds_new(&options, context);
    g_autoptr(GError) error = NULL;
    CU_ASSERT(!harness_imds_listen(second, harness_imds_get_port(s->imds), &error));
    CU_ASSERT(g_error_matches(error, HARNESS_IMDS_ERROR, HARNESS_IMDS_ERROR_LISTEN));
    CU_ASSERT_PTR_NULL(harness_imds_get_url(second));
}

static void
test_faults(void)
{
    g_autoptr(TestImdsServer) s = server_start(HARNESS_IMDS_AZURE, FALSE);
    const char *const headers[] = {"Metadata: true", NULL};
    harness_imds_fail_next(s->imds, 503, 2);
    for (int i = 0; i < 2; i++) {
        g_autoptr(Http) h = get(s, EVENTS, headers);
        CU_ASSERT_EQUAL(h->status, 503);
        CU_ASSERT_PTR_NOT_NULL(strstr(h->body, "\"error\""));
    }
    g_autoptr(Http) ok = get(s, EVENTS, headers);
    CU_ASSERT_EQUAL(ok->status, 200);
    CU_ASSERT_EQUAL(test_imds_server_stats(s).faults_injected, 2);
    harness_imds_set_delay(s->imds, 300);
    g_autoptr(Http) slow = get(s, EVENTS, headers);
    CU_ASSERT_EQUAL(slow->status, 200);
    CU_ASSERT(slow->seconds >= 0.29);
    harness_imds_set_delay(s->imds, 0);
    g_autoptr(Http) fast = get(s, EVENTS, headers);
    CU_ASSERT_EQUAL(fast->status, 200);
}

/* ---- spotlab imds ------------------------------------------------------------------------- */

typedef struct {
    GPid pid;
    int out;
    char *name;  /* the variable printed */
    char *value; /* its value */
    char *base;  /* the base URL */
} Child;

/* Starts `spotlab imds ARGS...` (under SPOTLAB_TEST_WRAPPER when set) and reads its line. */
static gboolean
child_start(Child *c, const char *const *args)
{
    memset(c, 0, sizeof *c);
    g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
    const char *wrapper = g_getenv("SPOTLAB_TEST_WRAPPER");
    if (wrapper != NULL && *wrapper != '\0') {
        g_auto(GStrv) words = NULL;
        g_assert(g_shell_parse_argv(wrapper, NULL, &words, NULL));
        for (int i = 0; words[i] != NULL; i++)
            g_ptr_array_add(argv, g_strdup(words[i]));
    }
    g_ptr_array_add(argv, g_strdup(g_getenv("SPOTLAB_BIN")));
    g_ptr_array_add(argv, g_strdup("imds"));
    for (int i = 0; args[i] != NULL; i++)
        g_ptr_array_add(argv, g_strdup(args[i]));
    g_ptr_array_add(argv, NULL);
    g_autoptr(GError) error = NULL;
    if (!g_spawn_async_with_pipes(NULL, (char **)argv->pdata, NULL,
                                  G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                                  &c->pid, NULL, &c->out, NULL, &error)) {
        fprintf(stderr, "\ncannot start spotlab imds: %s\n", error->message);
        return FALSE;
    }
    GString *line = g_string_new(NULL);
    gint64 until = g_get_monotonic_time() + WAIT_S * G_USEC_PER_SEC;
    char ch = 0;
    while (ch != '\n' && g_get_monotonic_time() < until) {
        struct pollfd p = {.fd = c->out, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0)
            continue;
        if (read(c->out, &ch, 1) != 1)
            break;
        if (ch != '\n')
            g_string_append_c(line, ch);
    }
    char *eq = strchr(line->str, '=');
    if (ch != '\n' || eq == NULL) {
        fprintf(stderr, "\nspotlab imds printed no endpoint line (got '%s')\n", line->str);
        g_string_free(line, TRUE);
        return FALSE;
    }
    c->name = g_strndup(line->str, (gsize)(eq - line->str));
    c->value = g_strdup(eq + 1);
    c->base = g_str_has_prefix(c->value, "http://") ? g_strdup(c->value)
                                                    : g_strconcat("http://", c->value, NULL);
    g_string_free(line, TRUE);
    return TRUE;
}

/* Sends @signo and waits for the exit status; -1 when it did not exit in time. */
static int
child_stop(Child *c, int signo)
{
    int status = -1;
    if (c->pid > 0) {
        kill(c->pid, signo);
        gint64 until = g_get_monotonic_time() + WAIT_S * G_USEC_PER_SEC;
        int raw = 0;
        pid_t got = 0;
        while ((got = waitpid(c->pid, &raw, WNOHANG)) == 0 && g_get_monotonic_time() < until)
            g_usleep(10000);
        if (got == c->pid && WIFEXITED(raw)) {
            status = WEXITSTATUS(raw);
        } else if (got == 0) {
            kill(c->pid, SIGKILL);
            waitpid(c->pid, &raw, 0);
        }
        g_spawn_close_pid(c->pid);
    }
    if (c->out > 0)
        close(c->out);
    g_free(c->name);
    g_free(c->value);
    g_free(c->base);
    memset(c, 0, sizeof *c);
    return status;
}

/* Whether the service at @base shows the notice. */
static gboolean
__child_noticed(HarnessImdsCloud cloud, const char *base)
{
    g_autofree char *url = NULL;
    switch (cloud) {
    case HARNESS_IMDS_AWS: {
        g_autofree char *token_url = g_strconcat(base, "/latest/api/token", NULL);
        g_autoptr(Http) token =
            http("PUT", token_url,
                 (const char *[]){"X-aws-ec2-metadata-token-ttl-seconds: 60", NULL}, NULL);
        g_autofree char *line = g_strdup_printf("X-aws-ec2-metadata-token: %s", token->body);
        url = g_strconcat(base, "/latest/meta-data/spot/instance-action", NULL);
        g_autoptr(Http) h = http("GET", url, (const char *[]){line, NULL}, NULL);
        return h->status == 200 && strstr(h->body, "\"terminate\"") != NULL;
    }
    case HARNESS_IMDS_GCP: {
        url = g_strconcat(base, PREEMPTED, NULL);
        g_autoptr(Http) h = http("GET", url, (const char *[]){FLAVOR, NULL}, NULL);
        return h->status == 200 && strcmp(h->body, "TRUE") == 0;
    }
    case HARNESS_IMDS_AZURE: {
        url = g_strconcat(base, EVENTS, NULL);
        g_autoptr(Http) h = http("GET", url, (const char *[]){"Metadata: true", NULL}, NULL);
        return h->status == 200 && strstr(h->body, "\"Preempt\"") != NULL;
    }
    }
    return FALSE;
}

static void
test_command_each_cloud(void)
{
    const struct {
        const char *cloud;
        HarnessImdsCloud id;
        const char *variable;
    } cases[] = {
        {"aws", HARNESS_IMDS_AWS, "AWS_EC2_METADATA_SERVICE_ENDPOINT"},
        {"gcp", HARNESS_IMDS_GCP, "GCE_METADATA_HOST"},
        {"azure", HARNESS_IMDS_AZURE, "SPOTLAB_AZURE_METADATA_ENDPOINT"},
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        Child c;
        CU_ASSERT_FATAL(child_start(&c, (const char *[]){"--cloud", cases[i].cloud, NULL}));
        CU_ASSERT_STRING_EQUAL(c.name, cases[i].variable);
        CU_ASSERT(g_str_has_prefix(c.base, "http://127.0.0.1:"));
        /* GCE_METADATA_HOST is host:port, the others are URLs. */
        CU_ASSERT_EQUAL(g_str_has_prefix(c.value, "http://"), cases[i].id != HARNESS_IMDS_GCP);
        CU_ASSERT(!__child_noticed(cases[i].id, c.base));
        kill(c.pid, SIGUSR1);
        gint64 until = g_get_monotonic_time() + WAIT_S * G_USEC_PER_SEC;
        gboolean noticed = FALSE;
        while (!(noticed = __child_noticed(cases[i].id, c.base)) && g_get_monotonic_time() < until)
            g_usleep(50000);
        CU_ASSERT(noticed);
        CU_ASSERT_EQUAL(child_stop(&c, cases[i].id == HARNESS_IMDS_GCP ? SIGINT : SIGTERM), 0);
    }
}

static void
test_command_notice_after(void)
{
    Child c;
    CU_ASSERT_FATAL(child_start(&c, (const char *[]){"--cloud", "aws", "--v1", "--notice-after",
                                                     "200ms", "--reclaim-after", "2m", NULL}));
    g_autofree char *url = g_strconcat(c.base, "/latest/meta-data/spot/termination-time", NULL);
    gint64 until = g_get_monotonic_time() + WAIT_S * G_USEC_PER_SEC;
    Http *h = NULL;
    /* --v1: no token needed. */
    while ((h = http("GET", url, NULL, NULL))->status != 200 && g_get_monotonic_time() < until) {
        http_free(h);
        g_usleep(50000);
    }
    CU_ASSERT_EQUAL(h->status, 200);
    g_autoptr(GDateTime) reclaim = g_date_time_new_from_iso8601(h->body, NULL);
    CU_ASSERT_PTR_NOT_NULL(reclaim);
    if (reclaim != NULL) {
        double ahead = (double)g_date_time_to_unix(reclaim) - (double)g_get_real_time() / 1e6;
        CU_ASSERT(ahead > 120 - WAIT_S - 2 && ahead <= 121);
    }
    http_free(h);
    CU_ASSERT_EQUAL(child_stop(&c, SIGTERM), 0);
}

static void
test_command_usage(void)
{
    const char *const cases[][8] = {
        {"imds", NULL},
        {"imds", "--cloud", "oracle", NULL},
        {"imds", "--cloud", "aws", "--notice-after", "soon", NULL},
        {"imds", "--cloud", "aws", "--reclaim-after", "-5s", NULL},
        {"imds", "--cloud", "gcp", "--v1", NULL},
        {"imds", "--cloud", "aws", "extra", NULL},
        {"imds", "--cloud", "aws", "--port", "70000", NULL},
        {"imds", "--cloud", "aws", "--port", "eighty", NULL},
        {"imds", "--cloud", "azure", "--no-such-option", NULL},
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *out = NULL, *err = NULL;
        CU_ASSERT_EQUAL(test_spotlab_expect(cases[i], &out, &err, 2), 2);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "spotlab imds"));
        CU_ASSERT_STRING_EQUAL(out, "");
    }
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(test_spotlab_expect((const char *[]){"imds", "--help", NULL}, &out, &err, 0),
                    0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "--cloud"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "--notice-after"));
}

int
main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    /* A child that dies must not take the test with it. */
    signal(SIGPIPE, SIG_IGN);
    CU_initialize_registry();
    CU_pSuite aws = CU_add_suite("aws", NULL, NULL);
    CU_add_test(aws, "token TTL bounds and header", test_aws_token_ttl);
    CU_add_test(aws, "v2 needs a valid token", test_aws_v2_needs_a_token);
    CU_add_test(aws, "v1 allowed, an invalid token still refused", test_aws_v1_allowed);
    CU_add_test(aws, "404 then the notice, rebalance, reset", test_aws_notice);
    CU_add_test(aws, "tokens expire after their TTL", test_aws_token_expiry);
    CU_add_test(aws, "X-Forwarded-For refused", test_aws_forwarded_refused);
    CU_pSuite gcp = CU_add_suite("gcp", NULL, NULL);
    CU_add_test(gcp, "Metadata-Flavor required, proxies refused", test_gcp_flavor_required);
    CU_add_test(gcp, "values and ETags", test_gcp_values_and_etags);
    CU_add_test(gcp, "wait_for_change held until the notice", test_gcp_wait_for_change);
    CU_add_test(gcp, "stale last_etag at once, timeout_sec honoured",
                test_gcp_stale_etag_and_timeout);
    CU_pSuite azure = CU_add_suite("azure", NULL, NULL);
    CU_add_test(azure, "Metadata header and api-version required", test_azure_headers_and_versions);
    CU_add_test(azure, "Preempt event, incarnation, acknowledgement",
                test_azure_preempt_and_acknowledge);
    CU_pSuite every = CU_add_suite("every service", NULL, NULL);
    CU_add_test(every, "loopback only", test_loopback_only);
    CU_add_test(every, "a busy port is refused", test_busy_port_refused);
    CU_add_test(every, "faults: error status, delay", test_faults);
    CU_pSuite command = CU_add_suite("spotlab imds", NULL, NULL);
    CU_add_test(command, "each cloud: endpoint, SIGUSR1 notice, SIGTERM exit 0",
                test_command_each_cloud);
    CU_add_test(command, "--notice-after and --reclaim-after", test_command_notice_after);
    CU_add_test(command, "bad usage exits 2", test_command_usage);
    int status = test_run_all();
    curl_global_cleanup();
    return status;
}
