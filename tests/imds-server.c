/* spotlab tests: an emulated metadata service on its own thread; see imds-server.h. */
#include "imds-server.h"

#include <stdio.h>

static gpointer
__serve(gpointer data)
{
    TestImdsServer *s = data;
    g_main_context_push_thread_default(s->context);
    g_main_loop_run(s->loop);
    g_main_context_pop_thread_default(s->context);
    return NULL;
}

TestImdsServer *
test_imds_server_start(HarnessImdsCloud cloud, gboolean aws_v1, guint port)
{
    TestImdsServer *s = g_new0(TestImdsServer, 1);
    s->context = g_main_context_new();
    s->loop = g_main_loop_new(s->context, FALSE);
    HarnessImdsOptions options = {.cloud = cloud, .aws_allow_v1 = aws_v1, .instance_name = "vm-7"};
    s->imds = harness_imds_new(&options, s->context);
    g_autoptr(GError) error = NULL;
    if (!harness_imds_listen(s->imds, port, &error)) {
        fprintf(stderr, "\n%s\n", error->message);
        harness_imds_free(s->imds);
        g_main_loop_unref(s->loop);
        g_main_context_unref(s->context);
        g_free(s);
        return NULL;
    }
    s->thread = g_thread_new("imds", __serve, s);
    return s;
}

static gboolean
__quit(gpointer loop)
{
    g_main_loop_quit(loop);
    return G_SOURCE_REMOVE;
}

void
test_imds_server_stop(TestImdsServer *s)
{
    if (s == NULL)
        return;
    /* Through the context: a quit before the loop runs would be lost. */
    g_main_context_invoke(s->context, __quit, s->loop);
    g_thread_join(s->thread);
    harness_imds_free(s->imds);
    g_main_loop_unref(s->loop);
    g_main_context_unref(s->context);
    g_free(s);
}

HarnessImdsStats
test_imds_server_stats(TestImdsServer *s)
{
    HarnessImdsStats stats;
    harness_imds_get_stats(s->imds, &stats);
    return stats;
}
