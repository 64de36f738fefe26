/* spotlab harness: what the emulated metadata services share between imds.c (the server, the
 * control API, faults and held requests) and imds-aws.c, imds-gcp.c, imds-azure.c (each
 * cloud's paths). Only the harness sees it. */
#pragma once

#include "imds.h"

#include <libsoup/soup.h>

G_BEGIN_DECLS

/* An Azure scheduled event. */
typedef struct {
    char *id;             /* EventId, an upper-case GUID */
    gint64 not_before_us; /* NotBefore, Unix microseconds */
    gboolean started;     /* acknowledged: EventStatus "Started" */
} HarnessAzureEvent;

struct _HarnessImds {
    HarnessImdsCloud cloud;
    gboolean aws_allow_v1;
    char *instance_name;
    char *instance_type;
    char *instance_id;
    GMainContext *context;
    SoupServer *server;
    GSocket *listener; /* 127.0.0.1:port */
    GSource *accept;   /* its connections, on the server's context */
    char *url;
    guint port;

    GMutex lock;
    /* Under lock. */
    gboolean noticed;
    gint64 reclaim_us;
    gboolean rebalanced;
    gint64 rebalance_us;
    GHashTable *tokens; /* AWS: token -> expiry (monotonic microseconds, a gint64 *) */
    GPtrArray *azure_events;
    guint azure_incarnation;
    HarnessImdsStats stats;
    guint delay_ms;
    guint fail_status;
    guint fail_count;
    GSource *wake; /* a pending release of held Google requests, on the server's context */

    /* The server's thread only. */
    GList *held; /* HarnessHeld */
};

typedef enum {
    HARNESS_HELD_DELAY, /* an answer held back by the delay fault */
    HARNESS_HELD_WAIT,  /* a Google wait_for_change */
} HarnessHeldKind;

/* A request whose answer is not sent yet: the message is paused until released. */
typedef struct {
    HarnessImds *imds;
    SoupServerMessage *msg;
    HarnessHeldKind kind;
    GSource *timer;
    gulong disconnected_id;
    gboolean gone; /* the client went away: release without answering */
    char *path;    /* WAIT: the value waited on */
    char *etag;    /* WAIT: answer once the value's ETag differs from this */
} HarnessHeld;

/* Pauses @msg until harness_imds__release(); @timeout_ms < 0 holds it without a timer. When the
 * timer fires a WAIT is answered with the current value, a DELAY with what it already holds. */
HarnessHeld *harness_imds__hold(HarnessImds *imds, SoupServerMessage *msg, HarnessHeldKind kind,
                                gint64 timeout_ms);
/* Sends what @held's message holds (unless its client went away) and frees @held. */
void harness_imds__release(HarnessHeld *held);

/* Sets the response: @status, @content_type and @body (copied; NULL for none). */
void harness_imds__respond(SoupServerMessage *msg, guint status, const char *content_type,
                           const char *body);
/* Answers with @status and the cloud's own error body for it. */
void harness_imds__error(HarnessImds *imds, SoupServerMessage *msg, guint status);
/* Counts a refusal (a missing or forbidden header). */
void harness_imds__count_refused(HarnessImds *imds);
/* Whether the request carries X-Forwarded-For. */
gboolean harness_imds__forwarded(SoupServerMessage *msg);

/* "2026-11-27T06:02:00Z". */
char *harness_imds__iso8601(gint64 unix_us);

/* Each cloud's requests. They run on the server's thread and take imds->lock as they need. */
void harness_imds__aws_handle(HarnessImds *imds, SoupServerMessage *msg, const char *path,
                              GHashTable *query);
void harness_imds__aws_error(SoupServerMessage *msg, guint status);
void harness_imds__gcp_handle(HarnessImds *imds, SoupServerMessage *msg, const char *path,
                              GHashTable *query);
void harness_imds__gcp_error(SoupServerMessage *msg, guint status, const char *path);
/* Answers @msg with the current value at @path (a WAIT whose time ran out or whose value
 * changed). */
void harness_imds__gcp_answer(HarnessImds *imds, SoupServerMessage *msg, const char *path);
/* The current ETag of @path, NULL for an unknown path. */
char *harness_imds__gcp_etag(HarnessImds *imds, const char *path);
void harness_imds__azure_handle(HarnessImds *imds, SoupServerMessage *msg, const char *path,
                                GHashTable *query);
void harness_imds__azure_error(SoupServerMessage *msg, guint status);
void harness_imds__azure_event_free(gpointer event);

G_END_DECLS
