/* spotlab imds: serve one cloud's emulated instance metadata service on 127.0.0.1, so that a
 * workload (or curl) can be tried against termination notices by hand.
 *
 * Prints one line, the environment assignment that points a workload at the service
 * (AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:PORT, GCE_METADATA_HOST=127.0.0.1:PORT,
 * SPOTLAB_AZURE_METADATA_ENDPOINT=http://127.0.0.1:PORT), then serves until SIGINT or SIGTERM.
 * The notice is issued after --notice-after, or whenever SIGUSR1 arrives. */
#include "commands.h"
#include "imds.h"
#include "scenario.h"

#include <glib-unix.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>

typedef struct {
    GMainLoop *loop;
    HarnessImds *imds;
    double reclaim_after_s;
    guint notice_timer;
} Serve;

static void
__notify(Serve *serve, const char *why)
{
    gint64 now = g_get_real_time();
    gint64 reclaim = now + (gint64)llround(serve->reclaim_after_s * G_USEC_PER_SEC);
    harness_imds_notify(serve->imds, reclaim);
    g_autoptr(GDateTime) at = g_date_time_new_from_unix_utc(reclaim / G_USEC_PER_SEC);
    g_autofree char *text = g_date_time_format(at, "%Y-%m-%dT%H:%M:%SZ");
    fprintf(stderr, "spotlab imds: termination notice issued (%s); reclaim at %s\n", why, text);
}

static gboolean
__on_notice_timer(gpointer user_data)
{
    Serve *serve = user_data;
    serve->notice_timer = 0;
    __notify(serve, "--notice-after");
    return G_SOURCE_REMOVE;
}

static gboolean
__on_sigusr1(gpointer user_data)
{
    __notify(user_data, "SIGUSR1");
    return G_SOURCE_CONTINUE;
}

static gboolean
__on_quit(gpointer user_data)
{
    Serve *serve = user_data;
    g_main_loop_quit(serve->loop);
    return G_SOURCE_CONTINUE;
}

/* A duration option: FALSE (and a message) when it is not one. */
static gboolean
__duration(const char *option, const char *text, double *seconds)
{
    if (text == NULL)
        return TRUE;
    if (!scenario_parse_duration(text, seconds) || *seconds < 0 || !isfinite(*seconds) ||
        *seconds > 365.0 * 86400) {
        fprintf(stderr,
                "spotlab imds: --%s: expected a duration like 30s or 2m, got '%s'\n"
                "Run 'spotlab imds --help' for the options.\n",
                option, text);
        return FALSE;
    }
    return TRUE;
}

int
cmd_imds(int argc, char **argv)
{
    g_autofree char *cloud_text = NULL;
    g_autofree char *notice_after = NULL;
    g_autofree char *reclaim_after = NULL;
    g_autofree char *instance = NULL;
    int port = 0;
    gboolean v1 = FALSE;
    /* A table reads better aligned by hand. */
    /* clang-format off */
    GOptionEntry entries[] = {
        {"cloud", 'c', 0, G_OPTION_ARG_STRING, &cloud_text,
         "The cloud whose service to serve: aws, gcp or azure", "CLOUD"},
        {"port", 'p', 0, G_OPTION_ARG_INT, &port,
         "The port on 127.0.0.1 (default: a free one)", "N"},
        {"notice-after", 0, 0, G_OPTION_ARG_STRING, &notice_after,
         "Issue the termination notice DURATION after starting, like 30s or 2m "
         "(SIGUSR1 issues it at any time)", "DURATION"},
        {"reclaim-after", 0, 0, G_OPTION_ARG_STRING, &reclaim_after,
         "The reclaim the notice announces comes DURATION after it "
         "(default: 2m on AWS, 30s on Google and Azure)", "DURATION"},
        {"v1", 0, 0, G_OPTION_ARG_NONE, &v1,
         "AWS: serve IMDSv1 requests (without a token) too; default: IMDSv2 only", NULL},
        {"instance", 0, 0, G_OPTION_ARG_STRING, &instance,
         "The instance's name (Azure's Resources, Google's instance/name)", "NAME"},
        {NULL},
    };
    /* clang-format on */
    if (!cmd_parse_options(
            "imds", NULL,
            "Serve one cloud's emulated instance metadata service on 127.0.0.1 (AWS IMDS, "
            "Google's metadata server, Azure Scheduled Events), with the cloud's own paths, "
            "headers and termination notices. Prints the environment assignment that points a "
            "workload at it, then serves until SIGINT or SIGTERM (exit status 0). Exit status "
            "2: bad usage, or the port cannot be bound.",
            entries, &argc, &argv))
        return SPOTLAB_EXIT_USAGE;
    if (argc > 1) {
        fprintf(stderr,
                "spotlab imds: unexpected argument '%s'\n"
                "Usage: spotlab imds --cloud aws|gcp|azure [--port N] [--notice-after DURATION] "
                "[--reclaim-after DURATION] [--v1]\n",
                argv[1]);
        return SPOTLAB_EXIT_USAGE;
    }
    HarnessImdsCloud cloud;
    if (cloud_text == NULL || !harness_imds_cloud_parse(cloud_text, &cloud)) {
        if (cloud_text == NULL)
            fprintf(stderr, "spotlab imds: expected --cloud aws, gcp or azure\n");
        else
            fprintf(stderr, "spotlab imds: --cloud: expected aws, gcp or azure, got '%s'\n",
                    cloud_text);
        fprintf(stderr, "Run 'spotlab imds --help' for the options.\n");
        return SPOTLAB_EXIT_USAGE;
    }
    if (port < 0 || port > 65535) {
        fprintf(stderr, "spotlab imds: --port: expected 0 to 65535, got %d\n", port);
        return SPOTLAB_EXIT_USAGE;
    }
    if (v1 && cloud != HARNESS_IMDS_AWS) {
        fprintf(stderr, "spotlab imds: --v1: only AWS has IMDSv1, and --cloud is %s\n", cloud_text);
        return SPOTLAB_EXIT_USAGE;
    }
    double notice_s = -1;
    Serve serve = {.reclaim_after_s = cloud == HARNESS_IMDS_AWS ? 120 : 30};
    if (!__duration("notice-after", notice_after, &notice_s) ||
        !__duration("reclaim-after", reclaim_after, &serve.reclaim_after_s))
        return SPOTLAB_EXIT_USAGE;

    HarnessImdsOptions options = {
        .cloud = cloud,
        .aws_allow_v1 = v1,
        .instance_name = instance,
    };
    g_autoptr(HarnessImds) imds = harness_imds_new(&options, NULL);
    g_autoptr(GError) error = NULL;
    if (!harness_imds_listen(imds, (guint)port, &error)) {
        fprintf(stderr, "spotlab imds: %s\n", error->message);
        return SPOTLAB_EXIT_USAGE;
    }
    g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
    serve.loop = loop;
    serve.imds = imds;
    /* Before the endpoint is printed: whoever reads it may signal at once. */
    guint sources[] = {
        g_unix_signal_add(SIGUSR1, __on_sigusr1, &serve),
        g_unix_signal_add(SIGINT, __on_quit, &serve),
        g_unix_signal_add(SIGTERM, __on_quit, &serve),
    };
    if (notice_s >= 0)
        serve.notice_timer = g_timeout_add(
            (guint)MIN(llround(notice_s * 1000), (long long)G_MAXUINT), __on_notice_timer, &serve);
    g_autofree char *value = harness_imds_env_value(imds);
    printf("%s=%s\n", harness_imds_env_name(cloud), value);
    fflush(stdout);
    g_main_loop_run(loop);
    for (gsize i = 0; i < G_N_ELEMENTS(sources); i++)
        g_source_remove(sources[i]);
    if (serve.notice_timer != 0)
        g_source_remove(serve.notice_timer);
    return SPOTLAB_EXIT_OK;
}
