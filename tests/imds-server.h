/* spotlab tests: an emulated metadata service (harness/imds.h) on a thread of its own, so that
 * a test can talk to it with blocking HTTP (libcurl, the notice watcher) from the main thread.
 */
#pragma once

#include "imds.h"

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
    GMainContext *context;
    GMainLoop *loop;
    GThread *thread;
    HarnessImds *imds;
} TestImdsServer;

/* Starts the service of @cloud (@aws_v1: AWS answers without a token too) for an instance
 * named "vm-7" on 127.0.0.1:@port (0: any free port). NULL, with the reason on stderr, when
 * the port cannot be bound. */
TestImdsServer *test_imds_server_start(HarnessImdsCloud cloud, gboolean aws_v1, guint port);

/* Stops the thread and frees the service. Accepts NULL. */
void test_imds_server_stop(TestImdsServer *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TestImdsServer, test_imds_server_stop)

HarnessImdsStats test_imds_server_stats(TestImdsServer *s);

G_END_DECLS
