/* workloads: the notice watcher against each emulated metadata service (harness/imds.h), over
 * real HTTP on loopback, and the signal handlers.
 *
 * - no notice while none is issued; the notice seen within the poll interval with its source,
 *   deadline and detail, the callback called once;
 * - AWS: a service that forgot its tokens answers 401 and the watcher gets a new token;
 * - Google: wait_for_change brings the notice at once, far within the poll interval;
 * - Azure: the Preempt event with its EventId and NotBefore, acknowledged by POST;
 * - duplicates are counted and not reported again; a service that is down is retried and a
 *   later notice still arrives; free is prompt even during a Google wait;
 * - endpoints from the environment; bad configurations refused;
 * - SIGTERM and SIGINT (in a child process, since signals are process-wide): the notice, its
 *   source, and the count of a signal after a metadata notice.
 */
#include "imds.h"
#include "notice.h"
#include "imds-server.h"
#include "test-util.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Generous: under valgrind every request is slow. */
#define WAIT_S  20
#define POLL_US (100 * 1000)

/* ---- a service on its own thread ---------------------------------------------------------- */

/* @port 0: any free one. NULL when the port cannot be bound. */
static TestImdsServer *
server_start_on(HarnessImdsCloud cloud, guint port)
{
    return test_imds_server_start(cloud, FALSE, port);
}

static TestImdsServer *
server_start(HarnessImdsCloud cloud)
{
    TestImdsServer *s = server_start_on(cloud, 0);
    g_assert(s != NULL);
    return s;
}

/* ---- waiting ------------------------------------------------------------------------------ */

typedef gboolean (*Predicate)(gpointer data);

static gboolean
wait_for(Predicate done, gpointer data, double seconds)
{
    gint64 until = g_get_monotonic_time() + (gint64)(seconds * G_USEC_PER_SEC);
    while (!done(data)) {
        if (g_get_monotonic_time() > until)
            return FALSE;
        g_usleep(2000);
    }
    return TRUE;
}

static gboolean
__pending(gpointer watcher)
{
    return workload_notice_pending(watcher, NULL);
}

typedef struct {
    WorkloadNoticeWatcher *watcher;
    guint count;
} CountAtLeast;

static gboolean
__count_at_least(gpointer data)
{
    CountAtLeast *c = data;
    return workload_notice_count(c->watcher) >= c->count;
}

typedef struct {
    TestImdsServer *server;
    guint requests;
    guint tokens;
    guint unauthorized;
    guint waiting;
} StatsAtLeast;

static gboolean
__stats_at_least(gpointer data)
{
    StatsAtLeast *want = data;
    HarnessImdsStats s = test_imds_server_stats(want->server);
    return s.requests >= want->requests && s.tokens_issued >= want->tokens &&
           s.unauthorized >= want->unauthorized && s.waiting >= want->waiting;
}

/* ---- watchers ----------------------------------------------------------------------------- */

typedef struct {
    gint calls;
    char source[16];
} Called;

static void
__on_notice(const WorkloadNotice *notice, gpointer user_data)
{
    Called *called = user_data;
    if (g_atomic_int_add(&called->calls, 1) == 0)
        g_strlcpy(called->source, notice->source, sizeof called->source);
}

static WorkloadNoticeWatcher *
watcher_new(WorkloadCloud cloud, const char *endpoint, gint64 poll_us, Called *called)
{
    WorkloadNoticeConfig config = {
        .cloud = cloud,
        .endpoint = endpoint,
        .poll_interval_us = poll_us,
        .request_timeout_us = 5 * G_USEC_PER_SEC,
    };
    g_autoptr(GError) error = NULL;
    WorkloadNoticeWatcher *w =
        workload_notice_watcher_new(&config, called ? __on_notice : NULL, called, &error);
    g_assert_no_error(error);
    return w;
}

static double
__now(void)
{
    return (double)g_get_real_time() / G_USEC_PER_SEC;
}

/* Waits for the notice; the seconds it took from @since (Unix time), or -1 if none came. */
static double
notice_within(WorkloadNoticeWatcher *w, double since, WorkloadNotice *notice)
{
    if (!wait_for(__pending, w, WAIT_S))
        return -1;
    CU_ASSERT(workload_notice_pending(w, notice));
    return notice->received - since;
}

/* ---- configuration ------------------------------------------------------------------------ */

static void
test_cloud_names(void)
{
    WorkloadCloud cloud;
    CU_ASSERT(workload_cloud_parse("aws", &cloud) && cloud == WORKLOAD_CLOUD_AWS);
    CU_ASSERT(workload_cloud_parse("google", &cloud) && cloud == WORKLOAD_CLOUD_GCP);
    CU_ASSERT(workload_cloud_parse("gcp", &cloud) && cloud == WORKLOAD_CLOUD_GCP);
    CU_ASSERT(workload_cloud_parse("azure", &cloud) && cloud == WORKLOAD_CLOUD_AZURE);
    CU_ASSERT(workload_cloud_parse("none", &cloud) && cloud == WORKLOAD_CLOUD_NONE);
    CU_ASSERT(!workload_cloud_parse("oracle", &cloud));
    CU_ASSERT(!workload_cloud_parse(NULL, &cloud));
    CU_ASSERT_STRING_EQUAL(workload_cloud_name(WORKLOAD_CLOUD_GCP), "gcp");
}

static void
test_bad_config(void)
{
    const WorkloadNoticeConfig bad[] = {
        {.cloud = (WorkloadCloud)9},
        {.cloud = WORKLOAD_CLOUD_AWS, .endpoint = "ftp://127.0.0.1"},
        {.cloud = WORKLOAD_CLOUD_AZURE, .endpoint = "http://"},
        {.cloud = WORKLOAD_CLOUD_AWS, .endpoint = "http://127.0.0.1?x=1"},
        {.cloud = WORKLOAD_CLOUD_AWS, .poll_interval_us = -1},
        {.cloud = WORKLOAD_CLOUD_GCP, .request_timeout_us = -5},
    };
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) error = NULL;
        g_autoptr(WorkloadNoticeWatcher) w =
            workload_notice_watcher_new(&bad[i], NULL, NULL, &error);
        CU_ASSERT_PTR_NULL(w);
        CU_ASSERT(g_error_matches(error, WORKLOAD_NOTICE_ERROR, WORKLOAD_NOTICE_ERROR_CONFIG));
    }
    /* A bad environment variable is named. */
    g_setenv("GCE_METADATA_HOST", "ftp://nowhere", TRUE);
    g_autoptr(GError) error = NULL;
    WorkloadNoticeConfig config = {.cloud = WORKLOAD_CLOUD_GCP};
    g_autoptr(WorkloadNoticeWatcher) w = workload_notice_watcher_new(&config, NULL, NULL, &error);
    g_unsetenv("GCE_METADATA_HOST");
    CU_ASSERT_PTR_NULL(w);
    CU_ASSERT(error != NULL && strstr(error->message, "GCE_METADATA_HOST") != NULL);
}

static void
test_cloud_none(void)
{
    WorkloadNoticeConfig config = {.cloud = WORKLOAD_CLOUD_NONE};
    g_autoptr(GError) error = NULL;
    g_autoptr(WorkloadNoticeWatcher) w = workload_notice_watcher_new(&config, NULL, NULL, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    WorkloadNotice notice = {0};
    CU_ASSERT(!workload_notice_pending(w, &notice));
    CU_ASSERT_EQUAL(workload_notice_count(w), 0);
    /* Nothing to acknowledge anywhere but on Azure. */
    CU_ASSERT(workload_notice_acknowledge(w, &error));
}

/* ---- each cloud --------------------------------------------------------------------------- */

static void
test_aws_notice(void)
{
    g_autoptr(TestImdsServer) s = server_start(HARNESS_IMDS_AWS);
    Called called = {0};
    g_autoptr(WorkloadNoticeWatcher) w =
        watcher_new(WORKLOAD_CLOUD_AWS, harness_imds_get_url(s->imds), POLL_US, &called);
    /* Several polls, and no notice. */
    StatsAtLeast polled = {.server = s, .requests = 5, .tokens = 1};
    CU_ASSERT_FATAL(wait_for(__stats_at_least, &polled, WAIT_S));
    CU_ASSERT(!workload_notice_pending(w, NULL));
    CU_ASSERT_EQUAL(workload_notice_count(w), 0);
    CU_ASSERT_EQUAL(test_imds_server_stats(s).tokens_issued, 1);

    double sent = __now();
    gint64 reclaim = g_get_real_time() + 120 * G_USEC_PER_SEC;
    harness_imds_notify(s->imds, reclaim);
    WorkloadNotice notice = {0};
    double latency = notice_within(w, sent, &notice);
    CU_ASSERT(latency >= 0);
    /* One poll interval, and room for a loaded machine. */
    if (latency > 0.1 + 2)
        fprintf(stderr, "\nAWS notice seen %.3f s after it was issued\n", latency);
    CU_ASSERT(latency <= 0.1 + 2);
    CU_ASSERT_STRING_EQUAL(notice.source, "aws");
    CU_ASSERT_DOUBLE_EQUAL(notice.deadline, (double)(reclaim / G_USEC_PER_SEC), 1e-6);
    CU_ASSERT(notice.detail != NULL && strstr(notice.detail, "\"terminate\"") != NULL);
    CU_ASSERT_PTR_NULL(notice.event_id);
    CU_ASSERT_EQUAL(workload_notice_count(w), 1);
    CU_ASSERT_EQUAL(g_atomic_int_get(&called.calls), 1);
    CU_ASSERT_STRING_EQUAL(called.source, "aws");
    /* The same notice read again by later polls is not another one. */
    StatsAtLeast more = {.server = s, .requests = test_imds_server_stats(s).requests + 3};
    CU_ASSERT(wait_for(__stats_at_least, &more, WAIT_S));
    CU_ASSERT_EQUAL(workload_notice_count(w), 1);
    CU_ASSERT_EQUAL(g_atomic_int_get(&called.calls), 1);
    workload_notice_clear(&notice);
}

static void
test_aws_token_renewed_after_401(void)
{
    g_autoptr(TestImdsServer) s = server_start(HARNESS_IMDS_AWS);
    g_autoptr(WorkloadNoticeWatcher) w =
        watcher_new(WORKLOAD_CLOUD_AWS, harness_imds_get_url(s->imds), POLL_US, NULL);
    StatsAtLeast polled = {.server = s, .requests = 3, .tokens = 1};
    CU_ASSERT_FATAL(wait_for(__stats_at_least, &polled, WAIT_S));
    /* The service restarted: every token it issued is unknown to it now. */
    harness_imds_expire_tokens(s->imds);
    StatsAtLeast renewed = {.server = s, .tokens = 2, .unauthorized = 1};
    CU_ASSERT_FATAL(wait_for(__stats_at_least, &renewed, WAIT_S));
    harness_imds_notify(s->imds, g_get_real_time() + 120 * G_USEC_PER_SEC);
    CU_ASSERT(wait_for(__pending, w, WAIT_S));
    /* One 401 per forgotten token: the new token is used at once. */
    CU_ASSERT_EQUAL(test_imds_server_stats(s).unauthorized, 1);
    CU_ASSERT_EQUAL(test_imds_server_stats(s).tokens_issued, 2);
}

static void
test_gcp_wait_for_change(void)
{
    g_autoptr(TestImdsServer) s = server_start(HARNESS_IMDS_GCP);
    /* A poll interval of 5 s: only the held wait can bring the notice in well under it. */
    Called called = {0};
    g_autoptr(WorkloadNoticeWatcher) w =
        watcher_new(WORKLOAD_CLOUD_GCP, harness_imds_get_url(s->imds), 5 * G_USEC_PER_SEC, &called);
    StatsAtLeast waiting = {.server = s, .waiting = 1};
    CU_ASSERT_FATAL(wait_for(__stats_at_least, &waiting, WAIT_S));
    CU_ASSERT(!workload_notice_pending(w, NULL));
    double sent = __now();
    harness_imds_notify(s->imds, g_get_real_time() + 30 * G_USEC_PER_SEC);
    WorkloadNotice notice = {0};
    double latency = notice_within(w, sent, &notice);
    CU_ASSERT(latency >= 0);
    if (latency > 2)
        fprintf(stderr, "\nGoogle notice seen %.3f s after it was issued\n", latency);
    CU_ASSERT(latency <= 2);
    CU_ASSERT_STRING_EQUAL(notice.source, "gcp");
    CU_ASSERT_STRING_EQUAL(notice.detail, "TRUE");
    /* Google does not say when: 30 s after the notice, as documented. */
    CU_ASSERT_DOUBLE_EQUAL(notice.deadline, notice.received + 30, 0.5);
    CU_ASSERT_EQUAL(g_atomic_int_get(&called.calls), 1);
    workload_notice_clear(&notice);
}

static void
test_azure_notice_and_acknowledge(void)
{
    g_autoptr(TestImdsServer) s = server_start(HARNESS_IMDS_AZURE);
    g_autoptr(WorkloadNoticeWatcher) w =
        watcher_new(WORKLOAD_CLOUD_AZURE, harness_imds_get_url(s->imds), POLL_US, NULL);
    g_autoptr(GError) error = NULL;
    /* Nothing to acknowledge yet. */
    CU_ASSERT(workload_notice_acknowledge(w, &error));
    CU_ASSERT_EQUAL(test_imds_server_stats(s).acknowledged, 0);
    StatsAtLeast polled = {.server = s, .requests = 4};
    CU_ASSERT_FATAL(wait_for(__stats_at_least, &polled, WAIT_S));
    CU_ASSERT(!workload_notice_pending(w, NULL));

    double sent = __now();
    gint64 reclaim = g_get_real_time() + 30 * G_USEC_PER_SEC;
    harness_imds_notify(s->imds, reclaim);
    WorkloadNotice notice = {0};
    double latency = notice_within(w, sent, &notice);
    CU_ASSERT(latency >= 0 && latency <= 0.1 + 2);
    CU_ASSERT_STRING_EQUAL(notice.source, "azure");
    CU_ASSERT(notice.event_id != NULL && g_uuid_string_is_valid(notice.event_id));
    CU_ASSERT_DOUBLE_EQUAL(notice.deadline, (double)(reclaim / G_USEC_PER_SEC), 1e-6);
    CU_ASSERT(notice.detail != NULL && strstr(notice.detail, "\"Preempt\"") != NULL);

    CU_ASSERT(workload_notice_acknowledge(w, &error));
    CU_ASSERT_PTR_NULL(error);
    CU_ASSERT_EQUAL(test_imds_server_stats(s).acknowledged, 1);
    /* The event, now Started, is the same notice. */
    StatsAtLeast more = {.server = s, .requests = test_imds_server_stats(s).requests + 3};
    CU_ASSERT(wait_for(__stats_at_least, &more, WAIT_S));
    CU_ASSERT_EQUAL(workload_notice_count(w), 1);
    workload_notice_clear(&notice);
}

static void
test_duplicates_counted_once_reported(void)
{
    const struct {
        HarnessImdsCloud server;
        WorkloadCloud cloud;
    } cases[] = {
        {HARNESS_IMDS_AWS, WORKLOAD_CLOUD_AWS},
        {HARNESS_IMDS_GCP, WORKLOAD_CLOUD_GCP},
        {HARNESS_IMDS_AZURE, WORKLOAD_CLOUD_AZURE},
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(TestImdsServer) s = server_start(cases[i].server);
        Called called = {0};
        g_autoptr(WorkloadNoticeWatcher) w =
            watcher_new(cases[i].cloud, harness_imds_get_url(s->imds), POLL_US, &called);
        gint64 first = g_get_real_time() + 120 * G_USEC_PER_SEC;
        harness_imds_notify(s->imds, first);
        CU_ASSERT_FATAL(wait_for(__pending, w, WAIT_S));
        WorkloadNotice before = {0};
        workload_notice_pending(w, &before);
        /* A second notice: AWS with a new time, Azure a new event, Google preempted again after
         * the service was reset. */
        if (cases[i].server == HARNESS_IMDS_GCP) {
            /* Once the watcher's wait is held on TRUE, the reset answers it FALSE; the next
             * wait, held on FALSE, shows that the watcher has read it. */
            StatsAtLeast held = {.server = s, .waiting = 1};
            CU_ASSERT(wait_for(__stats_at_least, &held, WAIT_S));
            guint requests = test_imds_server_stats(s).requests;
            harness_imds_reset(s->imds);
            StatsAtLeast seen_false = {.server = s, .requests = requests + 1, .waiting = 1};
            CU_ASSERT(wait_for(__stats_at_least, &seen_false, WAIT_S));
        }
        harness_imds_notify(s->imds, first + 60 * G_USEC_PER_SEC);
        CountAtLeast two = {.watcher = w, .count = 2};
        CU_ASSERT(wait_for(__count_at_least, &two, WAIT_S));
        CU_ASSERT_EQUAL(workload_notice_count(w), 2);
        WorkloadNotice after = {0};
        CU_ASSERT(workload_notice_pending(w, &after));
        /* The first notice is still the one reported. */
        CU_ASSERT_STRING_EQUAL(after.source, before.source);
        CU_ASSERT_DOUBLE_EQUAL(after.deadline, before.deadline, 1e-9);
        CU_ASSERT_DOUBLE_EQUAL(after.received, before.received, 1e-9);
        CU_ASSERT_EQUAL(g_atomic_int_get(&called.calls), 1);
        workload_notice_clear(&before);
        workload_notice_clear(&after);
    }
}

static void
test_service_down_is_retried(void)
{
    /* A port that nothing listens on: bind one, then close it. */
    guint port;
    {
        g_autoptr(TestImdsServer) probe = server_start(HARNESS_IMDS_AWS);
        port = harness_imds_get_port(probe->imds);
    }
    g_autofree char *url = g_strdup_printf("http://127.0.0.1:%u", port);
    g_autoptr(WorkloadNoticeWatcher) w = watcher_new(WORKLOAD_CLOUD_AWS, url, POLL_US, NULL);
    /* Connection refused, poll after poll: no notice, and the watcher goes on. */
    g_usleep(500 * 1000);
    CU_ASSERT(!workload_notice_pending(w, NULL));
    g_autoptr(TestImdsServer) s = server_start_on(HARNESS_IMDS_AWS, port);
    if (s == NULL) {
        fprintf(stderr, "\nport %u was taken meanwhile: the recovery is not checked\n", port);
        return;
    }
    StatsAtLeast reached = {.server = s, .requests = 2, .tokens = 1};
    CU_ASSERT(wait_for(__stats_at_least, &reached, WAIT_S));
    harness_imds_notify(s->imds, g_get_real_time() + 120 * G_USEC_PER_SEC);
    CU_ASSERT(wait_for(__pending, w, WAIT_S));
}

static void
test_free_is_prompt(void)
{
    /* During a Google wait that the server holds for a minute. */
    g_autoptr(TestImdsServer) s = server_start(HARNESS_IMDS_GCP);
    WorkloadNoticeWatcher *w =
        watcher_new(WORKLOAD_CLOUD_GCP, harness_imds_get_url(s->imds), 5 * G_USEC_PER_SEC, NULL);
    StatsAtLeast waiting = {.server = s, .waiting = 1};
    CU_ASSERT(wait_for(__stats_at_least, &waiting, WAIT_S));
    gint64 start = g_get_monotonic_time();
    workload_notice_watcher_free(w);
    double took = (double)(g_get_monotonic_time() - start) / G_USEC_PER_SEC;
    if (took >= 1)
        fprintf(stderr, "\nfree during a Google wait took %.3f s\n", took);
    CU_ASSERT(took < 1);

    /* Between two AWS polls 5 s apart. */
    g_autoptr(TestImdsServer) aws = server_start(HARNESS_IMDS_AWS);
    w = watcher_new(WORKLOAD_CLOUD_AWS, harness_imds_get_url(aws->imds), 5 * G_USEC_PER_SEC, NULL);
    StatsAtLeast polled = {.server = aws, .requests = 2};
    CU_ASSERT(wait_for(__stats_at_least, &polled, WAIT_S));
    start = g_get_monotonic_time();
    workload_notice_watcher_free(w);
    took = (double)(g_get_monotonic_time() - start) / G_USEC_PER_SEC;
    CU_ASSERT(took < 1);

    /* And against a service that never answers (the delay fault holds every answer). */
    harness_imds_set_delay(aws->imds, 60 * 1000);
    w = watcher_new(WORKLOAD_CLOUD_AWS, harness_imds_get_url(aws->imds), POLL_US, NULL);
    StatsAtLeast asked = {.server = aws, .requests = test_imds_server_stats(aws).requests + 1};
    CU_ASSERT(wait_for(__stats_at_least, &asked, WAIT_S));
    start = g_get_monotonic_time();
    workload_notice_watcher_free(w);
    took = (double)(g_get_monotonic_time() - start) / G_USEC_PER_SEC;
    CU_ASSERT(took < 1);
    harness_imds_set_delay(aws->imds, 0);
}

static void
test_endpoints_from_environment(void)
{
    const struct {
        HarnessImdsCloud server;
        WorkloadCloud cloud;
    } cases[] = {
        {HARNESS_IMDS_AWS, WORKLOAD_CLOUD_AWS},
        {HARNESS_IMDS_GCP, WORKLOAD_CLOUD_GCP},
        {HARNESS_IMDS_AZURE, WORKLOAD_CLOUD_AZURE},
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(TestImdsServer) s = server_start(cases[i].server);
        const char *name = harness_imds_env_name(cases[i].server);
        g_autofree char *value = harness_imds_env_value(s->imds);
        g_setenv(name, value, TRUE);
        g_autoptr(WorkloadNoticeWatcher) w = watcher_new(cases[i].cloud, NULL, POLL_US, NULL);
        g_unsetenv(name);
        harness_imds_notify(s->imds, g_get_real_time() + 60 * G_USEC_PER_SEC);
        CU_ASSERT(wait_for(__pending, w, WAIT_S));
        CU_ASSERT(test_imds_server_stats(s).notices_fetched >= 1);
    }
}

/* ---- signals, in a child process ---------------------------------------------------------- */

/* Runs @body in a child and returns its exit status: 0 when every check held, else the
 * number of the first that failed. */
static int
in_child(int (*body)(void))
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0)
        _exit(body());
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return 100;
    return WEXITSTATUS(status);
}

static int
__signals_only(void)
{
    workload_notice_install_signal_handlers();
    WorkloadNoticeConfig config = {.cloud = WORKLOAD_CLOUD_NONE};
    WorkloadNoticeWatcher *w = workload_notice_watcher_new(&config, NULL, NULL, NULL);
    if (w == NULL)
        return 1;
    WorkloadNotice notice = {0};
    if (workload_notice_pending(w, &notice))
        return 2;
    double before = __now();
    raise(SIGTERM);
    if (!workload_notice_pending(w, &notice))
        return 3;
    if (strcmp(notice.source, "sigterm") != 0)
        return 4;
    if (notice.received < before - 1 || notice.received > __now() + 1 || notice.deadline != 0)
        return 5;
    if (workload_notice_count(w) != 1)
        return 6;
    workload_notice_clear(&notice);
    raise(SIGINT);
    if (workload_notice_count(w) != 2)
        return 7;
    if (!workload_notice_pending(w, &notice) || strcmp(notice.source, "sigterm") != 0)
        return 8;
    workload_notice_clear(&notice);
    workload_notice_watcher_free(w);
    return 0;
}

static int
__sigint_first(void)
{
    workload_notice_install_signal_handlers();
    WorkloadNoticeConfig config = {.cloud = WORKLOAD_CLOUD_NONE};
    WorkloadNoticeWatcher *w = workload_notice_watcher_new(&config, NULL, NULL, NULL);
    raise(SIGINT);
    WorkloadNotice notice = {0};
    if (!workload_notice_pending(w, &notice) || strcmp(notice.source, "sigint") != 0)
        return 1;
    workload_notice_clear(&notice);
    workload_notice_watcher_free(w);
    return 0;
}

static int
__sigterm_after_metadata(void)
{
    workload_notice_install_signal_handlers();
    TestImdsServer *s = server_start(HARNESS_IMDS_AWS);
    WorkloadNoticeWatcher *w =
        watcher_new(WORKLOAD_CLOUD_AWS, harness_imds_get_url(s->imds), POLL_US, NULL);
    harness_imds_notify(s->imds, g_get_real_time() + 120 * G_USEC_PER_SEC);
    int result = 0;
    WorkloadNotice notice = {0};
    if (!wait_for(__pending, w, WAIT_S))
        result = 1;
    else if (raise(SIGTERM) != 0 || workload_notice_count(w) != 2)
        result = 2;
    else if (!workload_notice_pending(w, &notice) || strcmp(notice.source, "aws") != 0)
        result = 3;
    workload_notice_clear(&notice);
    workload_notice_watcher_free(w);
    test_imds_server_stop(s);
    return result;
}

static void
test_sigterm_sets_the_notice(void)
{
    int status = in_child(__signals_only);
    if (status != 0)
        fprintf(stderr, "\nsignals only: check %d failed\n", status);
    CU_ASSERT_EQUAL(status, 0);
    status = in_child(__sigint_first);
    CU_ASSERT_EQUAL(status, 0);
}

static void
test_sigterm_after_metadata_is_counted(void)
{
    int status = in_child(__sigterm_after_metadata);
    if (status != 0)
        fprintf(stderr, "\nSIGTERM after the notice: check %d failed\n", status);
    CU_ASSERT_EQUAL(status, 0);
}

int
main(void)
{
    CU_initialize_registry();
    CU_pSuite config = CU_add_suite("configuration", NULL, NULL);
    CU_add_test(config, "cloud names", test_cloud_names);
    CU_add_test(config, "bad configurations refused", test_bad_config);
    CU_add_test(config, "cloud none: no thread, no notice", test_cloud_none);
    CU_add_test(config, "endpoints from the environment", test_endpoints_from_environment);
    CU_pSuite clouds = CU_add_suite("clouds", NULL, NULL);
    CU_add_test(clouds, "AWS: none, then the notice within the poll interval", test_aws_notice);
    CU_add_test(clouds, "AWS: a new token after a 401", test_aws_token_renewed_after_401);
    CU_add_test(clouds, "Google: wait_for_change brings it at once", test_gcp_wait_for_change);
    CU_add_test(clouds, "Azure: the event, acknowledged", test_azure_notice_and_acknowledge);
    CU_pSuite robust = CU_add_suite("robustness", NULL, NULL);
    CU_add_test(robust, "duplicates counted, reported once", test_duplicates_counted_once_reported);
    CU_add_test(robust, "a service that is down is retried", test_service_down_is_retried);
    CU_add_test(robust, "free is prompt", test_free_is_prompt);
    CU_pSuite signals = CU_add_suite("signals", NULL, NULL);
    CU_add_test(signals, "SIGTERM and SIGINT set the notice", test_sigterm_sets_the_notice);
    CU_add_test(signals, "SIGTERM after a metadata notice is counted",
                test_sigterm_after_metadata_is_counted);
    return test_run_all();
}
