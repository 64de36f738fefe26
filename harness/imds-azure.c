/* spotlab harness: the emulated Azure Instance Metadata Service, Scheduled Events part, see
 * imds.h.
 *
 * As the real one: the Metadata: true header is required (400 "Bad request. Required metadata
 * header not specified" without it), api-version is required and must be a published version
 * (400 with the newest versions otherwise), answers are JSON; a Preempt event is listed with
 * EventStatus "Scheduled" and its NotBefore, and POSTing StartRequests acknowledges it
 * ("Started"). DocumentIncarnation grows on every change of the document. */
#include "imds-private.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define JSON_TYPE "application/json; charset=utf-8"

/* The published api-versions of the scheduledevents endpoint, newest first. */
static const char *const events_versions[] = {
    "2020-07-01", "2019-08-01", "2019-01-01", "2017-11-01", "2017-08-01", "2017-03-01", NULL,
};

/* The published api-versions of the instance endpoint, newest first. */
static const char *const instance_versions[] = {
    "2023-07-01", "2021-12-13", "2021-11-15", "2021-11-01", "2021-10-01", "2021-05-01",
    "2021-03-01", "2021-02-01", "2021-01-01", "2020-12-01", "2020-10-01", "2020-09-01",
    "2020-07-15", "2020-06-01", "2019-11-01", "2019-08-15", "2019-08-01", "2019-06-04",
    "2019-06-01", "2019-04-30", "2019-03-11", "2019-02-01", "2018-10-01", "2018-04-02",
    "2018-02-01", "2017-12-01", "2017-10-01", "2017-08-01", "2017-04-02", "2017-03-01",
    NULL,
};

/* Takes @doc. */
static void
__json(SoupServerMessage *msg, guint status, json_t *doc)
{
    char *text = json_dumps(doc, JSON_PRESERVE_ORDER);
    json_decref(doc);
    harness_imds__respond(msg, status, JSON_TYPE, text);
    free(text);
}

static void
__error_text(SoupServerMessage *msg, guint status, const char *text)
{
    __json(msg, status, json_pack("{s:s}", "error", text));
}

void
harness_imds__azure_error(SoupServerMessage *msg, guint status)
{
    const char *phrase = soup_status_get_phrase(status);
    __error_text(msg, status, phrase ? phrase : "Error");
}

/* A missing or unpublished api-version: Azure names its newest versions. */
static void
__bad_version(SoupServerMessage *msg, const char *const *versions, gboolean missing)
{
    json_t *newest = json_array();
    for (int i = 0; i < 3 && versions[i] != NULL; i++)
        json_array_append_new(newest, json_string(versions[i]));
    const char *text =
        missing ? "Bad request. api-version was not specified in the request. For more "
                  "information refer to aka.ms/azureimds"
                : "Bad request. api-version is invalid or was not specified in the request. For "
                  "more information refer to aka.ms/azureimds";
    __json(msg, SOUP_STATUS_BAD_REQUEST,
           json_pack("{s:s, s:o}", "error", text, "newest-versions", newest));
}

static gboolean
__version_ok(SoupServerMessage *msg, GHashTable *query, const char *const *versions)
{
    const char *version = query ? g_hash_table_lookup(query, "api-version") : NULL;
    if (version == NULL) {
        __bad_version(msg, versions, TRUE);
        return FALSE;
    }
    if (!g_strv_contains(versions, version)) {
        __bad_version(msg, versions, FALSE);
        return FALSE;
    }
    return TRUE;
}

/* Called with the lock held. */
static json_t *
__document(HarnessImds *imds)
{
    json_t *events = json_array();
    for (guint i = 0; i < imds->azure_events->len; i++) {
        const HarnessAzureEvent *event = imds->azure_events->pdata[i];
        g_autoptr(GDateTime) t =
            g_date_time_new_from_unix_utc(event->not_before_us / G_USEC_PER_SEC);
        g_autofree char *not_before =
            t ? soup_date_time_to_string(t, SOUP_DATE_HTTP) : g_strdup("");
        json_array_append_new(
            events,
            json_pack("{s:s, s:s, s:s, s:s, s:[s], s:s, s:s, s:s, s:i}", "EventId", event->id,
                      "EventStatus", event->started ? "Started" : "Scheduled", "EventType",
                      "Preempt", "ResourceType", "VirtualMachine", "Resources", imds->instance_name,
                      "NotBefore", not_before, "Description",
                      "The virtual machine is being evicted because Azure needs the capacity "
                      "back (Spot).",
                      "EventSource", "Platform", "DurationInSeconds", -1));
    }
    if (imds->azure_events->len > 0)
        imds->stats.notices_fetched++;
    return json_pack("{s:I, s:o}", "DocumentIncarnation", (json_int_t)imds->azure_incarnation,
                     "Events", events);
}

/* POST {"StartRequests": [{"EventId": "..."}]}: the listed events may start now. */
static void
__start_requests(HarnessImds *imds, SoupServerMessage *msg)
{
    SoupMessageBody *body = soup_server_message_get_request_body(msg);
    json_error_t jerr;
    json_t *doc = json_loadb(body->data ? body->data : "", (size_t)body->length, 0, &jerr);
    json_t *requests = doc ? json_object_get(doc, "StartRequests") : NULL;
    gboolean ok = json_is_array(requests);
    for (size_t i = 0; ok && i < json_array_size(requests); i++)
        ok = json_is_string(json_object_get(json_array_get(requests, i), "EventId"));
    if (!ok) {
        json_decref(doc);
        __error_text(msg, SOUP_STATUS_BAD_REQUEST,
                     "Bad request. Expected a JSON body like {\"StartRequests\": "
                     "[{\"EventId\": \"...\"}]}");
        return;
    }
    g_mutex_lock(&imds->lock);
    gboolean changed = FALSE;
    for (size_t i = 0; i < json_array_size(requests); i++) {
        const char *id = json_string_value(json_object_get(json_array_get(requests, i), "EventId"));
        for (guint k = 0; k < imds->azure_events->len; k++) {
            HarnessAzureEvent *event = imds->azure_events->pdata[k];
            if (!event->started && g_ascii_strcasecmp(event->id, id) == 0) {
                event->started = TRUE;
                imds->stats.acknowledged++;
                changed = TRUE;
            }
        }
    }
    if (changed)
        imds->azure_incarnation++;
    g_mutex_unlock(&imds->lock);
    json_decref(doc);
    harness_imds__respond(msg, SOUP_STATUS_OK, NULL, NULL);
}

void
harness_imds__azure_handle(HarnessImds *imds, SoupServerMessage *msg, const char *path,
                           GHashTable *query)
{
    const char *method = soup_server_message_get_method(msg);
    const char *metadata =
        soup_message_headers_get_one(soup_server_message_get_request_headers(msg), "Metadata");
    if (harness_imds__forwarded(msg)) {
        harness_imds__count_refused(imds);
        __error_text(msg, SOUP_STATUS_BAD_REQUEST,
                     "Bad request. Requests with an X-Forwarded-For header are not served");
        return;
    }
    if (metadata == NULL || g_ascii_strcasecmp(metadata, "true") != 0) {
        harness_imds__count_refused(imds);
        __error_text(msg, SOUP_STATUS_BAD_REQUEST,
                     "Bad request. Required metadata header not specified");
        return;
    }
    if (strcmp(path, "/metadata/scheduledevents") == 0) {
        if (!__version_ok(msg, query, events_versions))
            return;
        if (strcmp(method, "POST") == 0) {
            __start_requests(imds, msg);
        } else if (strcmp(method, "GET") == 0) {
            g_mutex_lock(&imds->lock);
            json_t *doc = __document(imds);
            g_mutex_unlock(&imds->lock);
            __json(msg, SOUP_STATUS_OK, doc);
        } else {
            harness_imds__azure_error(msg, SOUP_STATUS_METHOD_NOT_ALLOWED);
        }
        return;
    }
    gboolean name = strcmp(path, "/metadata/instance/compute/name") == 0;
    if (name || strcmp(path, "/metadata/instance") == 0 ||
        strcmp(path, "/metadata/instance/compute") == 0) {
        if (!__version_ok(msg, query, instance_versions))
            return;
        if (strcmp(method, "GET") != 0) {
            harness_imds__azure_error(msg, SOUP_STATUS_METHOD_NOT_ALLOWED);
            return;
        }
        const char *format = query ? g_hash_table_lookup(query, "format") : NULL;
        if (name && g_strcmp0(format, "text") == 0) {
            harness_imds__respond(msg, SOUP_STATUS_OK, "text/plain; charset=utf-8",
                                  imds->instance_name);
            return;
        }
        if (name) {
            __json(msg, SOUP_STATUS_OK, json_string(imds->instance_name));
            return;
        }
        json_t *compute = json_pack("{s:s, s:s, s:s}", "name", imds->instance_name, "vmSize",
                                    imds->instance_type, "priority", "Spot");
        __json(msg, SOUP_STATUS_OK,
               strcmp(path, "/metadata/instance") == 0 ? json_pack("{s:o}", "compute", compute)
                                                       : compute);
        return;
    }
    __error_text(msg, SOUP_STATUS_NOT_FOUND, "Not found");
}
