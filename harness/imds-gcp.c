/* spotlab harness: the emulated Google Compute Engine metadata server, see imds.h.
 *
 * As the real one: Metadata-Flavor: Google required on every request under /computeMetadata/
 * (403 and Google's error page without it), requests through a proxy (X-Forwarded-For)
 * refused, answers as application/text with Metadata-Flavor: Google and an ETag that is a hash
 * of the value, and ?wait_for_change=true held until the value changes (last_etag= says which
 * value the client has; timeout_sec= bounds the wait, after which the current value is sent). */
#include "imds-private.h"

#include <string.h>

#define PREFIX         "/computeMetadata/v1/"
#define PROJECT_NUMBER "123456789012"
#define WAIT_MAX_S     86400

/* Google's error page, as its servers send it. */
static void
__page(SoupServerMessage *msg, guint status, const char *message_html)
{
    const char *phrase = soup_status_get_phrase(status);
    g_autofree char *body = g_strdup_printf(
        "<!DOCTYPE html>\n"
        "<html lang=en>\n"
        "  <meta charset=utf-8>\n"
        "  <meta name=viewport content=\"initial-scale=1, minimum-scale=1, width=device-width\">\n"
        "  <title>Error %u (%s)!!1</title>\n"
        "  <a href=//www.google.com/><span id=logo aria-label=Google></span></a>\n"
        "  <p><b>%u.</b> <ins>That\u2019s an error.</ins>\n"
        "  <p>%s  <ins>That\u2019s all we know.</ins>\n",
        status, phrase ? phrase : "Error", status, message_html);
    harness_imds__respond(msg, status, "text/html; charset=UTF-8", body);
    soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Metadata-Flavor",
                                 "Google");
}

void
harness_imds__gcp_error(SoupServerMessage *msg, guint status, const char *path)
{
    g_autofree char *escaped = g_markup_escape_text(path ? path : "/", -1);
    g_autofree char *text = NULL;
    switch (status) {
    case SOUP_STATUS_BAD_REQUEST:
        text = g_strdup("Your client has issued a malformed or illegal request.");
        break;
    case SOUP_STATUS_FORBIDDEN:
        text = g_strdup_printf(
            "Your client does not have permission to get URL <code>%s</code> from this server.",
            escaped);
        break;
    case SOUP_STATUS_NOT_FOUND:
        text = g_strdup_printf("The requested URL <code>%s</code> was not found on this server.",
                               escaped);
        break;
    case SOUP_STATUS_METHOD_NOT_ALLOWED:
        text = g_strdup_printf("The request method is inappropriate for the URL <code>%s</code>.",
                               escaped);
        break;
    default:
        text = g_strdup("The server encountered an error and could not complete your request."
                        "<p>Please try again in 30 seconds.");
        break;
    }
    __page(msg, status, text);
}

/* The value at @path, NULL for an unknown path. Called with the lock held. */
static char *
__value(HarnessImds *imds, const char *path)
{
    if (!g_str_has_prefix(path, PREFIX))
        return NULL;
    const char *key = path + strlen(PREFIX);
    if (strcmp(key, "instance/preempted") == 0)
        return g_strdup(imds->noticed ? "TRUE" : "FALSE");
    if (strcmp(key, "instance/maintenance-event") == 0)
        return g_strdup(imds->noticed ? "TERMINATE_ON_HOST_MAINTENANCE" : "NONE");
    if (strcmp(key, "instance/name") == 0 || strcmp(key, "instance/hostname") == 0)
        return g_strdup(imds->instance_name);
    if (strcmp(key, "instance/id") == 0)
        return g_strdup(imds->instance_id);
    if (strcmp(key, "instance/machine-type") == 0)
        return g_strdup_printf("projects/" PROJECT_NUMBER "/machineTypes/%s", imds->instance_type);
    if (strcmp(key, "instance/zone") == 0)
        return g_strdup("projects/" PROJECT_NUMBER "/zones/us-central1-a");
    if (strcmp(key, "project/project-id") == 0)
        return g_strdup("spotlab-testbed");
    if (strcmp(key, "project/numeric-project-id") == 0)
        return g_strdup(PROJECT_NUMBER);
    return NULL;
}

static char *
__etag_of(const char *path, const char *value)
{
    g_autofree char *text = g_strconcat(path, "\n", value, NULL);
    char *sum = g_compute_checksum_for_string(G_CHECKSUM_SHA256, text, -1);
    sum[16] = '\0';
    return sum;
}

char *
harness_imds__gcp_etag(HarnessImds *imds, const char *path)
{
    g_mutex_lock(&imds->lock);
    g_autofree char *value = __value(imds, path);
    g_mutex_unlock(&imds->lock);
    return value ? __etag_of(path, value) : NULL;
}

void
harness_imds__gcp_answer(HarnessImds *imds, SoupServerMessage *msg, const char *path)
{
    g_mutex_lock(&imds->lock);
    g_autofree char *value = __value(imds, path);
    if (value != NULL && strcmp(path, PREFIX "instance/preempted") == 0 &&
        strcmp(value, "TRUE") == 0)
        imds->stats.notices_fetched++;
    g_mutex_unlock(&imds->lock);
    if (value == NULL) {
        harness_imds__gcp_error(msg, SOUP_STATUS_NOT_FOUND, path);
        return;
    }
    harness_imds__respond(msg, SOUP_STATUS_OK, "application/text", value);
    SoupMessageHeaders *headers = soup_server_message_get_response_headers(msg);
    soup_message_headers_replace(headers, "Metadata-Flavor", "Google");
    g_autofree char *etag = __etag_of(path, value);
    soup_message_headers_replace(headers, "ETag", etag);
}

void
harness_imds__gcp_handle(HarnessImds *imds, SoupServerMessage *msg, const char *path,
                         GHashTable *query)
{
    SoupMessageHeaders *request = soup_server_message_get_request_headers(msg);
    /* The root answers without the header, as the real server's health check does. */
    if (strcmp(path, "/") == 0) {
        harness_imds__respond(msg, SOUP_STATUS_OK, "application/text", "computeMetadata/\n");
        soup_message_headers_replace(soup_server_message_get_response_headers(msg),
                                     "Metadata-Flavor", "Google");
        return;
    }
    if (harness_imds__forwarded(msg)) {
        harness_imds__count_refused(imds);
        g_autofree char *escaped = g_markup_escape_text(path, -1);
        g_autofree char *text = g_strdup_printf(
            "Your client does not have permission to get URL <code>%s</code> from this server. "
            "Request had an X-Forwarded-For header; the metadata server is not served through "
            "proxies.",
            escaped);
        __page(msg, SOUP_STATUS_FORBIDDEN, text);
        return;
    }
    if (g_strcmp0(soup_message_headers_get_one(request, "Metadata-Flavor"), "Google") != 0) {
        harness_imds__count_refused(imds);
        g_autofree char *escaped = g_markup_escape_text(path, -1);
        g_autofree char *text = g_strdup_printf(
            "Your client does not have permission to get URL <code>%s</code> from this server. "
            "Missing Metadata-Flavor:Google header.",
            escaped);
        __page(msg, SOUP_STATUS_FORBIDDEN, text);
        return;
    }
    const char *method = soup_server_message_get_method(msg);
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        harness_imds__gcp_error(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, path);
        return;
    }
    g_autofree char *etag = harness_imds__gcp_etag(imds, path);
    const char *wait = query ? g_hash_table_lookup(query, "wait_for_change") : NULL;
    if (etag == NULL || wait == NULL || g_ascii_strcasecmp(wait, "true") != 0) {
        harness_imds__gcp_answer(imds, msg, path);
        return;
    }
    const char *timeout_text = g_hash_table_lookup(query, "timeout_sec");
    guint64 timeout_s = 0;
    if (timeout_text != NULL &&
        !g_ascii_string_to_unsigned(timeout_text, 10, 1, WAIT_MAX_S, &timeout_s, NULL)) {
        harness_imds__gcp_error(msg, SOUP_STATUS_BAD_REQUEST, path);
        return;
    }
    const char *last_etag = g_hash_table_lookup(query, "last_etag");
    /* The client holds an older value: it gets the current one at once. */
    if (last_etag != NULL && strcmp(last_etag, etag) != 0) {
        harness_imds__gcp_answer(imds, msg, path);
        return;
    }
    HarnessHeld *held = harness_imds__hold(imds, msg, HARNESS_HELD_WAIT,
                                           timeout_text ? (gint64)timeout_s * 1000 : -1);
    held->path = g_strdup(path);
    held->etag = g_steal_pointer(&etag);
}
