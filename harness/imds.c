/* spotlab harness: the emulated metadata services' server, control API, faults and held
 * requests (see imds.h). Each cloud's paths are in imds-aws.c, imds-gcp.c and imds-azure.c. */
#include "imds-private.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

G_DEFINE_QUARK(spotlab - harness - imds - error - quark, harness_imds_error)

gboolean
harness_imds_cloud_parse(const char *text, HarnessImdsCloud *cloud)
{
    g_return_val_if_fail(cloud != NULL, FALSE);
    if (text == NULL)
        return FALSE;
    if (g_ascii_strcasecmp(text, "aws") == 0)
        *cloud = HARNESS_IMDS_AWS;
    else if (g_ascii_strcasecmp(text, "gcp") == 0 || g_ascii_strcasecmp(text, "google") == 0)
        *cloud = HARNESS_IMDS_GCP;
    else if (g_ascii_strcasecmp(text, "azure") == 0)
        *cloud = HARNESS_IMDS_AZURE;
    else
        return FALSE;
    return TRUE;
}

const char *
harness_imds_cloud_name(HarnessImdsCloud cloud)
{
    switch (cloud) {
    case HARNESS_IMDS_AWS:
        return "aws";
    case HARNESS_IMDS_GCP:
        return "gcp";
    case HARNESS_IMDS_AZURE:
        return "azure";
    }
    return "unknown";
}

const char *
harness_imds_env_name(HarnessImdsCloud cloud)
{
    switch (cloud) {
    case HARNESS_IMDS_AWS:
        return "AWS_EC2_METADATA_SERVICE_ENDPOINT";
    case HARNESS_IMDS_GCP:
        return "GCE_METADATA_HOST";
    case HARNESS_IMDS_AZURE:
        return "SPOTLAB_AZURE_METADATA_ENDPOINT";
    }
    return NULL;
}

/* What each cloud's server says it is, as the real ones do. */
static const char *
__server_header(HarnessImdsCloud cloud)
{
    switch (cloud) {
    case HARNESS_IMDS_AWS:
        return "EC2ws";
    case HARNESS_IMDS_GCP:
        return "Metadata Server for VM";
    case HARNESS_IMDS_AZURE:
        return "Microsoft-IIS/10.0";
    }
    return NULL;
}

static const char *
__default_type(HarnessImdsCloud cloud)
{
    switch (cloud) {
    case HARNESS_IMDS_AWS:
        return "p5.48xlarge";
    case HARNESS_IMDS_GCP:
        return "a3-highgpu-8g";
    case HARNESS_IMDS_AZURE:
        return "Standard_ND96isr_H100_v5";
    }
    return NULL;
}

static void __dispatch(SoupServer *server, SoupServerMessage *msg, const char *path,
                       GHashTable *query, gpointer user_data);

HarnessImds *
harness_imds_new(const HarnessImdsOptions *options, GMainContext *context)
{
    g_return_val_if_fail(options != NULL, NULL);
    g_return_val_if_fail(options->cloud <= HARNESS_IMDS_AZURE, NULL);
    HarnessImds *imds = g_new0(HarnessImds, 1);
    imds->cloud = options->cloud;
    imds->aws_allow_v1 = options->aws_allow_v1;
    imds->instance_name =
        g_strdup(options->instance_name ? options->instance_name : "spotlab-vm-0");
    imds->instance_type =
        g_strdup(options->instance_type ? options->instance_type : __default_type(options->cloud));
    /* Ids shaped as each cloud shapes them: i- and 17 hex digits on AWS, a number on Google. */
    if (imds->cloud == HARNESS_IMDS_AWS)
        imds->instance_id =
            g_strdup_printf("i-%08x%09x", g_random_int(), g_random_int() & 0xfffffffu);
    else
        imds->instance_id = g_strdup_printf("%u%09u", g_random_int_range(1000000, 9999999),
                                            (guint)g_random_int_range(0, 999999999));
    imds->context = g_main_context_ref(context ? context : g_main_context_default());
    g_mutex_init(&imds->lock);
    imds->tokens = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    imds->azure_events = g_ptr_array_new_with_free_func(harness_imds__azure_event_free);
    imds->azure_incarnation = 1;
    imds->server = soup_server_new("server-header", __server_header(imds->cloud), NULL);
    soup_server_add_handler(imds->server, NULL, __dispatch, imds, NULL);
    return imds;
}

static void
__held_free(HarnessHeld *held)
{
    if (held->timer != NULL) {
        g_source_destroy(held->timer);
        g_source_unref(held->timer);
    }
    if (held->disconnected_id != 0)
        g_signal_handler_disconnect(held->msg, held->disconnected_id);
    g_object_unref(held->msg);
    g_free(held->path);
    g_free(held->etag);
    g_free(held);
}

void
harness_imds_free(HarnessImds *imds)
{
    if (imds == NULL)
        return;
    g_mutex_lock(&imds->lock);
    if (imds->wake != NULL) {
        g_source_destroy(imds->wake);
        g_clear_pointer(&imds->wake, g_source_unref);
    }
    g_mutex_unlock(&imds->lock);
    if (imds->accept != NULL) {
        g_source_destroy(imds->accept);
        g_source_unref(imds->accept);
    }
    if (imds->listener != NULL) {
        g_socket_close(imds->listener, NULL);
        g_object_unref(imds->listener);
    }
    /* Held requests are dropped unanswered: their connections close with the server. */
    g_list_free_full(g_steal_pointer(&imds->held), (GDestroyNotify)__held_free);
    g_main_context_push_thread_default(imds->context);
    soup_server_disconnect(imds->server);
    g_object_unref(imds->server);
    g_main_context_pop_thread_default(imds->context);
    g_main_context_unref(imds->context);
    g_hash_table_unref(imds->tokens);
    g_ptr_array_unref(imds->azure_events);
    g_mutex_clear(&imds->lock);
    g_free(imds->instance_name);
    g_free(imds->instance_type);
    g_free(imds->instance_id);
    g_free(imds->url);
    g_free(imds);
}

/* Hands each connection on the listening socket to libsoup. The server does not accept them
 * itself: libsoup 3.2's own listener leaks every accepted socket and its local address (fixed
 * upstream later), which valgrind reports on every test. */
static gboolean
__on_accept(GSocket *listener, GIOCondition condition, gpointer user_data)
{
    HarnessImds *imds = user_data;
    g_autoptr(GSocket) socket = g_socket_accept(listener, NULL, NULL);
    if (socket == NULL)
        return G_SOURCE_CONTINUE;
    /* Answers are small: sent at once, not held back for more. */
    g_socket_set_option(socket, IPPROTO_TCP, TCP_NODELAY, TRUE, NULL);
    g_autoptr(GSocketConnection) connection = g_socket_connection_factory_create_connection(socket);
    g_autoptr(GSocketAddress) local = g_socket_get_local_address(socket, NULL);
    g_autoptr(GSocketAddress) remote = g_socket_get_remote_address(socket, NULL);
    soup_server_accept_iostream(imds->server, G_IO_STREAM(connection), local, remote, NULL);
    return G_SOURCE_CONTINUE;
}

gboolean
harness_imds_listen(HarnessImds *imds, guint port, GError **error)
{
    g_return_val_if_fail(imds != NULL, FALSE);
    g_return_val_if_fail(imds->url == NULL, FALSE);
    g_return_val_if_fail(port <= 65535, FALSE);
    g_autoptr(GError) local = NULL;
    g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
    g_autoptr(GSocketAddress) address = g_inet_socket_address_new(loopback, (guint16)port);
    g_autoptr(GSocket) socket =
        g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &local);
    g_autoptr(GSocketAddress) bound = NULL;
    if (socket == NULL || !g_socket_bind(socket, address, TRUE, &local) ||
        !g_socket_listen(socket, &local) ||
        (bound = g_socket_get_local_address(socket, &local)) == NULL) {
        g_set_error(error, HARNESS_IMDS_ERROR, HARNESS_IMDS_ERROR_LISTEN,
                    "%s metadata service: cannot listen on 127.0.0.1:%u: %s",
                    harness_imds_cloud_name(imds->cloud), port, local->message);
        return FALSE;
    }
    g_socket_set_blocking(socket, FALSE);
    imds->port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
    imds->url = g_strdup_printf("http://127.0.0.1:%u", imds->port);
    imds->accept = g_socket_create_source(socket, G_IO_IN, NULL);
    g_source_set_callback(imds->accept, G_SOURCE_FUNC(__on_accept), imds, NULL);
    g_source_attach(imds->accept, imds->context);
    imds->listener = g_steal_pointer(&socket);
    return TRUE;
}

const char *
harness_imds_get_url(const HarnessImds *imds)
{
    g_return_val_if_fail(imds != NULL, NULL);
    return imds->url;
}

guint
harness_imds_get_port(const HarnessImds *imds)
{
    g_return_val_if_fail(imds != NULL, 0);
    return imds->port;
}

char *
harness_imds_env_value(const HarnessImds *imds)
{
    g_return_val_if_fail(imds != NULL, NULL);
    if (imds->url == NULL)
        return NULL;
    /* GCE_METADATA_HOST names a host, not a URL (as Google's client libraries read it). */
    if (imds->cloud == HARNESS_IMDS_GCP)
        return g_strdup_printf("127.0.0.1:%u", imds->port);
    return g_strdup(imds->url);
}

/* Held requests ------------------------------------------------------------------------------ */

static void
__held_remove(HarnessHeld *held)
{
    HarnessImds *imds = held->imds;
    imds->held = g_list_remove(imds->held, held);
    if (held->kind == HARNESS_HELD_WAIT) {
        g_mutex_lock(&imds->lock);
        if (!held->gone)
            imds->stats.waiting--;
        g_mutex_unlock(&imds->lock);
    }
}

void
harness_imds__release(HarnessHeld *held)
{
    __held_remove(held);
    if (!held->gone)
        soup_server_message_unpause(held->msg);
    __held_free(held);
}

static gboolean
__held_timeout(gpointer user_data)
{
    HarnessHeld *held = user_data;
    /* The source is done: __held_free() must not destroy it again. */
    g_clear_pointer(&held->timer, g_source_unref);
    if (held->kind == HARNESS_HELD_WAIT && !held->gone)
        harness_imds__gcp_answer(held->imds, held->msg, held->path);
    harness_imds__release(held);
    return G_SOURCE_REMOVE;
}

static void
__held_disconnected(SoupServerMessage *msg, gpointer user_data)
{
    HarnessHeld *held = user_data;
    if (held->gone)
        return;
    HarnessImds *imds = held->imds;
    if (held->kind == HARNESS_HELD_WAIT) {
        g_mutex_lock(&imds->lock);
        imds->stats.waiting--;
        g_mutex_unlock(&imds->lock);
    }
    held->gone = TRUE;
    /* Not freed inside the message's own signal: a zero timer releases it from the loop. */
    if (held->timer != NULL) {
        g_source_destroy(held->timer);
        g_source_unref(held->timer);
    }
    held->timer = g_timeout_source_new(0);
    g_source_set_callback(held->timer, __held_timeout, held, NULL);
    g_source_attach(held->timer, imds->context);
}

HarnessHeld *
harness_imds__hold(HarnessImds *imds, SoupServerMessage *msg, HarnessHeldKind kind,
                   gint64 timeout_ms)
{
    HarnessHeld *held = g_new0(HarnessHeld, 1);
    held->imds = imds;
    held->msg = g_object_ref(msg);
    held->kind = kind;
    soup_server_message_pause(msg);
    held->disconnected_id =
        g_signal_connect(msg, "disconnected", G_CALLBACK(__held_disconnected), held);
    if (timeout_ms >= 0) {
        held->timer = g_timeout_source_new((guint)MIN(timeout_ms, (gint64)G_MAXUINT));
        g_source_set_callback(held->timer, __held_timeout, held, NULL);
        g_source_attach(held->timer, imds->context);
    }
    imds->held = g_list_prepend(imds->held, held);
    if (kind == HARNESS_HELD_WAIT) {
        g_mutex_lock(&imds->lock);
        imds->stats.waiting++;
        g_mutex_unlock(&imds->lock);
    }
    return held;
}

/* Answers the held Google waits whose value changed. Runs on the server's context. */
static gboolean
__wake(gpointer user_data)
{
    HarnessImds *imds = user_data;
    g_mutex_lock(&imds->lock);
    g_clear_pointer(&imds->wake, g_source_unref);
    g_mutex_unlock(&imds->lock);
    GList *waits = NULL;
    for (GList *l = imds->held; l != NULL; l = l->next) {
        HarnessHeld *held = l->data;
        if (held->kind != HARNESS_HELD_WAIT || held->gone)
            continue;
        g_autofree char *etag = harness_imds__gcp_etag(imds, held->path);
        if (g_strcmp0(etag, held->etag) != 0)
            waits = g_list_prepend(waits, held);
    }
    for (GList *l = waits; l != NULL; l = l->next) {
        HarnessHeld *held = l->data;
        harness_imds__gcp_answer(imds, held->msg, held->path);
        harness_imds__release(held);
    }
    g_list_free(waits);
    return G_SOURCE_REMOVE;
}

/* Called with the lock held after a change Google shows. */
static void
__schedule_wake(HarnessImds *imds)
{
    if (imds->cloud != HARNESS_IMDS_GCP || imds->wake != NULL)
        return;
    imds->wake = g_idle_source_new();
    g_source_set_callback(imds->wake, __wake, imds, NULL);
    g_source_attach(imds->wake, imds->context);
}

/* Control ------------------------------------------------------------------------------------ */

static HarnessAzureEvent *
__azure_event_new(gint64 not_before_us)
{
    HarnessAzureEvent *event = g_new0(HarnessAzureEvent, 1);
    g_autofree char *uuid = g_uuid_string_random();
    event->id = g_ascii_strup(uuid, -1);
    event->not_before_us = not_before_us;
    return event;
}

void
harness_imds__azure_event_free(gpointer data)
{
    HarnessAzureEvent *event = data;
    g_free(event->id);
    g_free(event);
}

void
harness_imds_notify(HarnessImds *imds, gint64 reclaim_unix_us)
{
    g_return_if_fail(imds != NULL);
    g_mutex_lock(&imds->lock);
    imds->noticed = TRUE;
    imds->reclaim_us = reclaim_unix_us;
    if (imds->cloud == HARNESS_IMDS_AZURE) {
        g_ptr_array_add(imds->azure_events, __azure_event_new(reclaim_unix_us));
        imds->azure_incarnation++;
    }
    __schedule_wake(imds);
    g_mutex_unlock(&imds->lock);
}

void
harness_imds_rebalance(HarnessImds *imds, gint64 notice_unix_us)
{
    g_return_if_fail(imds != NULL);
    g_mutex_lock(&imds->lock);
    if (imds->cloud == HARNESS_IMDS_AWS) {
        imds->rebalanced = TRUE;
        imds->rebalance_us = notice_unix_us;
    }
    g_mutex_unlock(&imds->lock);
}

void
harness_imds_reset(HarnessImds *imds)
{
    g_return_if_fail(imds != NULL);
    g_mutex_lock(&imds->lock);
    imds->noticed = FALSE;
    imds->reclaim_us = 0;
    imds->rebalanced = FALSE;
    imds->rebalance_us = 0;
    g_hash_table_remove_all(imds->tokens);
    if (imds->azure_events->len > 0) {
        g_ptr_array_set_size(imds->azure_events, 0);
        imds->azure_incarnation++;
    }
    imds->delay_ms = 0;
    imds->fail_status = 0;
    imds->fail_count = 0;
    __schedule_wake(imds);
    g_mutex_unlock(&imds->lock);
}

void
harness_imds_expire_tokens(HarnessImds *imds)
{
    g_return_if_fail(imds != NULL);
    g_mutex_lock(&imds->lock);
    g_hash_table_remove_all(imds->tokens);
    g_mutex_unlock(&imds->lock);
}

void
harness_imds_get_stats(HarnessImds *imds, HarnessImdsStats *stats)
{
    g_return_if_fail(imds != NULL && stats != NULL);
    g_mutex_lock(&imds->lock);
    *stats = imds->stats;
    g_mutex_unlock(&imds->lock);
}

void
harness_imds_set_delay(HarnessImds *imds, guint delay_ms)
{
    g_return_if_fail(imds != NULL);
    g_mutex_lock(&imds->lock);
    imds->delay_ms = delay_ms;
    g_mutex_unlock(&imds->lock);
}

void
harness_imds_fail_next(HarnessImds *imds, guint status, guint count)
{
    g_return_if_fail(imds != NULL);
    g_return_if_fail(count == 0 || (status >= 400 && status <= 599));
    g_mutex_lock(&imds->lock);
    imds->fail_status = count > 0 ? status : 0;
    imds->fail_count = count;
    g_mutex_unlock(&imds->lock);
}

/* Requests ----------------------------------------------------------------------------------- */

void
harness_imds__respond(SoupServerMessage *msg, guint status, const char *content_type,
                      const char *body)
{
    soup_server_message_set_status(msg, status, NULL);
    if (body != NULL)
        soup_server_message_set_response(msg, content_type, SOUP_MEMORY_COPY, body, strlen(body));
    else
        soup_server_message_set_response(msg, NULL, SOUP_MEMORY_STATIC, NULL, 0);
}

void
harness_imds__error(HarnessImds *imds, SoupServerMessage *msg, guint status)
{
    switch (imds->cloud) {
    case HARNESS_IMDS_AWS:
        harness_imds__aws_error(msg, status);
        break;
    case HARNESS_IMDS_GCP:
        harness_imds__gcp_error(msg, status, g_uri_get_path(soup_server_message_get_uri(msg)));
        break;
    case HARNESS_IMDS_AZURE:
        harness_imds__azure_error(msg, status);
        break;
    }
}

void
harness_imds__count_refused(HarnessImds *imds)
{
    g_mutex_lock(&imds->lock);
    imds->stats.refused++;
    g_mutex_unlock(&imds->lock);
}

gboolean
harness_imds__forwarded(SoupServerMessage *msg)
{
    return soup_message_headers_get_one(soup_server_message_get_request_headers(msg),
                                        "X-Forwarded-For") != NULL;
}

char *
harness_imds__iso8601(gint64 unix_us)
{
    g_autoptr(GDateTime) t = g_date_time_new_from_unix_utc(unix_us / G_USEC_PER_SEC);
    if (t == NULL)
        return g_strdup("1970-01-01T00:00:00Z");
    return g_date_time_format(t, "%Y-%m-%dT%H:%M:%SZ");
}

static void
__dispatch(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
           gpointer user_data)
{
    HarnessImds *imds = user_data;
    g_mutex_lock(&imds->lock);
    imds->stats.requests++;
    guint fail = 0;
    if (imds->fail_count > 0) {
        fail = imds->fail_status;
        imds->fail_count--;
        imds->stats.faults_injected++;
    }
    guint delay_ms = imds->delay_ms;
    g_mutex_unlock(&imds->lock);

    guint held_before = g_list_length(imds->held);
    if (fail != 0) {
        harness_imds__error(imds, msg, fail);
    } else {
        switch (imds->cloud) {
        case HARNESS_IMDS_AWS:
            harness_imds__aws_handle(imds, msg, path, query);
            break;
        case HARNESS_IMDS_GCP:
            harness_imds__gcp_handle(imds, msg, path, query);
            break;
        case HARNESS_IMDS_AZURE:
            harness_imds__azure_handle(imds, msg, path, query);
            break;
        }
    }
    /* A Google wait is already held; the delay applies to answers ready now. */
    if (delay_ms > 0 && g_list_length(imds->held) == held_before)
        harness_imds__hold(imds, msg, HARNESS_HELD_DELAY, delay_ms);
}
