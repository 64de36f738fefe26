/* spotlab harness: the emulated AWS instance metadata service (IMDS v1 and v2), see imds.h.
 *
 * As the real one: session tokens from PUT /latest/api/token, 401 for a GET with an unknown or
 * expired token (and for one without a token when only v2 is allowed), 403 for any request
 * that came through a proxy (X-Forwarded-For), 404 for spot/instance-action until the notice,
 * text/plain answers and the XHTML error pages of the real service. */
#include "imds-private.h"

#include <string.h>

#define TOKEN_HEADER "X-aws-ec2-metadata-token"
#define TTL_HEADER   "X-aws-ec2-metadata-token-ttl-seconds"
#define TTL_MAX      21600

void
harness_imds__aws_error(SoupServerMessage *msg, guint status)
{
    const char *phrase = soup_status_get_phrase(status);
    if (phrase == NULL)
        phrase = "Error";
    g_autofree char *body = g_strdup_printf(
        "<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>\n"
        "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\"\n"
        "\t\"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd\">\n"
        "<html xmlns=\"http://www.w3.org/1999/xhtml\" xml:lang=\"en\" lang=\"en\">\n"
        " <head>\n"
        "  <title>%u - %s</title>\n"
        " </head>\n"
        " <body>\n"
        "  <h1>%u - %s</h1>\n"
        " </body>\n"
        "</html>\n",
        status, phrase, status, phrase);
    harness_imds__respond(msg, status, "text/html", body);
}

/* 56 characters, as the real tokens have. */
static char *
__token_new(void)
{
    guint8 raw[42];
    for (gsize i = 0; i < sizeof raw; i++)
        raw[i] = (guint8)g_random_int_range(0, 256);
    return g_base64_encode(raw, sizeof raw);
}

static void
__put_token(HarnessImds *imds, SoupServerMessage *msg)
{
    const char *ttl_text =
        soup_message_headers_get_one(soup_server_message_get_request_headers(msg), TTL_HEADER);
    guint64 ttl = 0;
    if (ttl_text == NULL || !g_ascii_string_to_unsigned(ttl_text, 10, 1, TTL_MAX, &ttl, NULL)) {
        /* The real service answers a missing or out-of-range TTL with a bare 400. */
        harness_imds__aws_error(msg, SOUP_STATUS_BAD_REQUEST);
        return;
    }
    char *token = __token_new();
    gint64 *expiry = g_new(gint64, 1);
    *expiry = g_get_monotonic_time() + (gint64)ttl * G_USEC_PER_SEC;
    g_mutex_lock(&imds->lock);
    g_hash_table_replace(imds->tokens, token, expiry);
    imds->stats.tokens_issued++;
    g_mutex_unlock(&imds->lock);
    harness_imds__respond(msg, SOUP_STATUS_OK, "text/plain", token);
    g_autofree char *ttl_value = g_strdup_printf("%" G_GUINT64_FORMAT, ttl);
    soup_message_headers_replace(soup_server_message_get_response_headers(msg), TTL_HEADER,
                                 ttl_value);
}

/* Whether the request may read metadata: a valid token, or none where v1 is allowed. A token
 * that is sent must be valid even where v1 is allowed, as on AWS. */
static gboolean
__authorized(HarnessImds *imds, SoupServerMessage *msg)
{
    const char *token =
        soup_message_headers_get_one(soup_server_message_get_request_headers(msg), TOKEN_HEADER);
    g_mutex_lock(&imds->lock);
    gboolean ok;
    if (token == NULL) {
        ok = imds->aws_allow_v1;
    } else {
        const gint64 *expiry = g_hash_table_lookup(imds->tokens, token);
        ok = expiry != NULL && *expiry > g_get_monotonic_time();
        if (expiry != NULL && !ok)
            g_hash_table_remove(imds->tokens, token);
    }
    if (!ok)
        imds->stats.unauthorized++;
    g_mutex_unlock(&imds->lock);
    return ok;
}

/* The metadata at @path, NULL where there is none (404). Called with the lock held. */
static char *
__value(HarnessImds *imds, const char *path)
{
    if (strcmp(path, "/latest/meta-data") == 0 || strcmp(path, "/latest/meta-data/") == 0)
        return g_strdup(imds->noticed ? "events/\ninstance-id\ninstance-type\nspot/"
                                      : "events/\ninstance-id\ninstance-type");
    if (strcmp(path, "/latest/meta-data/instance-id") == 0)
        return g_strdup(imds->instance_id);
    if (strcmp(path, "/latest/meta-data/instance-type") == 0)
        return g_strdup(imds->instance_type);
    if (strcmp(path, "/latest/meta-data/events/") == 0 ||
        strcmp(path, "/latest/meta-data/events") == 0)
        return g_strdup("recommendations/");
    if (strcmp(path, "/latest/meta-data/spot/") == 0 || strcmp(path, "/latest/meta-data/spot") == 0)
        return imds->noticed ? g_strdup("instance-action\ntermination-time") : NULL;
    if (strcmp(path, "/latest/meta-data/spot/instance-action") == 0) {
        if (!imds->noticed)
            return NULL;
        imds->stats.notices_fetched++;
        g_autofree char *time = harness_imds__iso8601(imds->reclaim_us);
        return g_strdup_printf("{\"action\": \"terminate\", \"time\": \"%s\"}", time);
    }
    if (strcmp(path, "/latest/meta-data/spot/termination-time") == 0) {
        if (!imds->noticed)
            return NULL;
        imds->stats.notices_fetched++;
        return harness_imds__iso8601(imds->reclaim_us);
    }
    if (strcmp(path, "/latest/meta-data/events/recommendations/rebalance") == 0) {
        if (!imds->rebalanced)
            return NULL;
        g_autofree char *time = harness_imds__iso8601(imds->rebalance_us);
        return g_strdup_printf("{\"noticeTime\": \"%s\"}", time);
    }
    return NULL;
}

void
harness_imds__aws_handle(HarnessImds *imds, SoupServerMessage *msg, const char *path,
                         GHashTable *query)
{
    const char *method = soup_server_message_get_method(msg);
    SoupMessageHeaders *response = soup_server_message_get_response_headers(msg);
    /* A request that passed through a proxy gets no token and no metadata. */
    if (harness_imds__forwarded(msg)) {
        harness_imds__count_refused(imds);
        harness_imds__aws_error(msg, SOUP_STATUS_FORBIDDEN);
        return;
    }
    if (strcmp(path, "/latest/api/token") == 0) {
        if (strcmp(method, "PUT") != 0) {
            soup_message_headers_replace(response, "Allow", "PUT");
            harness_imds__aws_error(msg, SOUP_STATUS_METHOD_NOT_ALLOWED);
            return;
        }
        __put_token(imds, msg);
        return;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        soup_message_headers_replace(response, "Allow", "GET, HEAD");
        harness_imds__aws_error(msg, SOUP_STATUS_METHOD_NOT_ALLOWED);
        return;
    }
    if (!__authorized(imds, msg)) {
        harness_imds__aws_error(msg, SOUP_STATUS_UNAUTHORIZED);
        return;
    }
    g_mutex_lock(&imds->lock);
    g_autofree char *value = __value(imds, path);
    g_mutex_unlock(&imds->lock);
    if (value == NULL) {
        harness_imds__aws_error(msg, SOUP_STATUS_NOT_FOUND);
        return;
    }
    harness_imds__respond(msg, SOUP_STATUS_OK, "text/plain", value);
}
