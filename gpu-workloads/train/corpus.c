/* spotlab workloads: the generated corpus (corpus.h).
 *
 * The grammar is a list of sentence templates whose {slots} are filled from word lists or
 * with numbers; every choice is a uniform draw from one SimRng stream of the seed, so the text
 * is a pure function of the seed. Sentences are joined by a space, and now and then by a
 * newline (paragraphs).
 */
#include "corpus.h"

#include <string.h>

G_DEFINE_QUARK(spotlab - train - corpus - error - quark, train_corpus_error)

/* 2 + 26 + 10 + 26 = 64 characters. */
static const char alphabet[] = " \nabcdefghijklmnopqrstuvwxyz0123456789.,;:!?'\"-()/%+=_*#@&$<>[]~";
G_STATIC_ASSERT(sizeof alphabet - 1 == TRAIN_VOCAB);

/* The corpus stream of a seed. */
enum { CORPUS_STREAM_TEXT = 1 };

const char *
train_corpus_alphabet(void)
{
    return alphabet;
}

/* The id of every byte, or -1 outside the alphabet. */
static const gint8 *
char_ids(void)
{
    static gint8 ids[256];
    static gsize done = 0;
    if (g_once_init_enter(&done)) {
        memset(ids, -1, sizeof ids);
        for (int i = 0; i < TRAIN_VOCAB; i++)
            ids[(guchar)alphabet[i]] = (gint8)i;
        g_once_init_leave(&done, 1);
    }
    return ids;
}

#define N_OF(a) G_N_ELEMENTS(a)

static const char *const w_cloud[] = {"aws", "gcp", "azure", "lambda", "coreweave", "oracle"};
static const char *const w_gpu[] = {"h100", "h200", "a100", "l4", "a10g", "v100", "t4", "b200"};
static const char *const w_region[] = {"us-east-1",   "us-west-2",  "eu-west-1",
                                       "us-central1", "asia-east1", "europe-west4"};
static const char *const w_storage[] = {"s3",           "gcs",          "the local nvme disk",
                                        "an nfs share", "blob storage", "the object store"};
static const char *const w_event[] = {"preemption", "termination notice", "rebalance warning",
                                      "maintenance event", "spot interruption"};
static const char *const w_worker[] = {"trainer",   "supervisor", "agent",
                                       "scheduler", "launcher",   "daemon"};
static const char *const w_thing[] = {"checkpoint",    "optimizer state", "model weights",
                                      "data position", "rng state",       "gradient buffer"};
static const char *const w_adj[] = {"fast", "slow",  "careful",  "patient",
                                    "keen", "cheap", "reliable", "busy"};
static const char *const w_verb[] = {"copies",   "writes",     "uploads", "verifies",
                                     "restores", "compresses", "streams"};
static const char *const w_time[] = {"at night", "at noon", "on monday", "during the peak",
                                     "before dawn"};

/* Sentence templates. Slots: {cloud} {gpu} {region} {storage} {event} {worker} {thing} {adj}
 * {verb} {time} {num} (1-999) {step} (a step count) {price} (d.dd) {pct} (1-99). */
static const char *const templates[] = {
    "the {cloud} spot market reclaimed {num} {gpu} instances in {region} {time}.",
    "each {gpu} node on {cloud} costs ${price} per hour at the spot price.",
    "checkpoint {step} was written to {storage} in {num} seconds.",
    "the job resumed from step {step} after the {event}.",
    "{cloud} sent a {event} {num} seconds before the {gpu} was preempted.",
    "training on {num} {gpu} gpus reached a loss of {price} at step {step}.",
    "when the {event} arrives, the {worker} saves the {thing} and exits.",
    "the {adj} {worker} {verb} the {thing} to {storage}.",
    "if the spot price rises above ${price}, the {worker} moves the job to {cloud}.",
    "{pct}% of the {gpu} fleet in {region} was lost within {num} minutes!",
    "did the {worker} save the {thing} before the {event}?",
    "the {worker} logged \"{thing} saved (step {step})\"; nothing was lost.",
    "cost: ${price} per {gpu} hour; goodput: {pct}% [{region}]",
    "a {adj} {worker} keeps the {thing} on {storage}, not on the {gpu} node.",
    "step {step}: loss {price}, lr {price}e-4, {num} tokens/s on {gpu}.",
    "{cloud} {region} had {num} interruptions {time}; the {worker} lost {num} steps.",
};

static void
append_word(GString *out, SimRng *rng, const char *const *list, gsize n)
{
    g_string_append(out, list[sim_rng_below(rng, n)]);
}

static void
append_slot(GString *out, SimRng *rng, const char *slot, gsize len)
{
#define SLOT_IS(name) (len == sizeof(name) - 1 && memcmp(slot, name, len) == 0)
    if (SLOT_IS("cloud"))
        append_word(out, rng, w_cloud, N_OF(w_cloud));
    else if (SLOT_IS("gpu"))
        append_word(out, rng, w_gpu, N_OF(w_gpu));
    else if (SLOT_IS("region"))
        append_word(out, rng, w_region, N_OF(w_region));
    else if (SLOT_IS("storage"))
        append_word(out, rng, w_storage, N_OF(w_storage));
    else if (SLOT_IS("event"))
        append_word(out, rng, w_event, N_OF(w_event));
    else if (SLOT_IS("worker"))
        append_word(out, rng, w_worker, N_OF(w_worker));
    else if (SLOT_IS("thing"))
        append_word(out, rng, w_thing, N_OF(w_thing));
    else if (SLOT_IS("adj"))
        append_word(out, rng, w_adj, N_OF(w_adj));
    else if (SLOT_IS("verb"))
        append_word(out, rng, w_verb, N_OF(w_verb));
    else if (SLOT_IS("time"))
        append_word(out, rng, w_time, N_OF(w_time));
    else if (SLOT_IS("num"))
        /* Small numbers are likelier, as in real logs. */
        g_string_append_printf(out, "%" G_GUINT64_FORMAT,
                               1 + sim_rng_below(rng, sim_rng_below(rng, 3) == 0 ? 999 : 16));
    else if (SLOT_IS("step"))
        g_string_append_printf(out, "%" G_GUINT64_FORMAT, 100 * (1 + sim_rng_below(rng, 500)));
    else if (SLOT_IS("price"))
        g_string_append_printf(out, "%" G_GUINT64_FORMAT ".%02" G_GUINT64_FORMAT,
                               sim_rng_below(rng, 10), sim_rng_below(rng, 100));
    else if (SLOT_IS("pct"))
        g_string_append_printf(out, "%" G_GUINT64_FORMAT, 1 + sim_rng_below(rng, 99));
    else
        g_assert_not_reached(); /* the templates above use only these slots */
#undef SLOT_IS
}

static void
append_sentence(GString *out, SimRng *rng)
{
    const char *t = templates[sim_rng_below(rng, N_OF(templates))];
    while (*t != '\0') {
        if (*t == '{') {
            const char *end = strchr(t, '}');
            g_assert(end != NULL);
            append_slot(out, rng, t + 1, (gsize)(end - t - 1));
            t = end + 1;
        } else {
            g_string_append_c(out, *t++);
        }
    }
}

guint8 *
train_corpus_generate(guint64 seed, gsize n_tokens)
{
    SimRng root, rng;
    sim_rng_init(&root, seed);
    sim_rng_split(&root, CORPUS_STREAM_TEXT, &rng);

    const gint8 *ids = char_ids();
    guint8 *out = g_malloc(MAX(n_tokens, 1));
    g_autoptr(GString) s = g_string_sized_new(256);
    gsize n = 0;
    while (n < n_tokens) {
        g_string_truncate(s, 0);
        append_sentence(s, &rng);
        /* One paragraph break for about every eight sentences. */
        g_string_append_c(s, sim_rng_below(&rng, 8) == 0 ? '\n' : ' ');
        for (gsize i = 0; i < s->len && n < n_tokens; i++) {
            const gint8 id = ids[(guchar)s->str[i]];
            g_assert(id >= 0); /* the grammar is written in the alphabet */
            out[n++] = (guint8)id;
        }
    }
    return out;
}

char *
train_corpus_decode(const guint8 *ids, gsize n)
{
    g_return_val_if_fail(ids != NULL || n == 0, NULL);
    char *text = g_malloc(n + 1);
    for (gsize i = 0; i < n; i++) {
        if (ids[i] >= TRAIN_VOCAB) {
            g_free(text);
            g_return_val_if_reached(NULL);
        }
        text[i] = alphabet[ids[i]];
    }
    text[n] = '\0';
    return text;
}

guint8 *
train_corpus_encode(const char *text, gssize len, gsize *n_ids, GError **error)
{
    g_return_val_if_fail(text != NULL && n_ids != NULL, NULL);
    const gsize n = len < 0 ? strlen(text) : (gsize)len;
    const gint8 *ids = char_ids();
    g_autofree guint8 *out = g_malloc(MAX(n, 1));
    guint line = 1, column = 1;
    for (gsize i = 0; i < n; i++) {
        const guchar c = (guchar)text[i];
        if (ids[c] < 0) {
            if (g_ascii_isprint(c))
                g_set_error(error, TRAIN_CORPUS_ERROR, TRAIN_CORPUS_ERROR_BAD_CHAR,
                            "text:%u:%u: character '%c' is not in the corpus alphabet "
                            "(lowercase letters, digits, space, newline and %s)",
                            line, column, c, alphabet + 38);
            else
                g_set_error(error, TRAIN_CORPUS_ERROR, TRAIN_CORPUS_ERROR_BAD_CHAR,
                            "text:%u:%u: byte 0x%02x is not in the corpus alphabet "
                            "(lowercase letters, digits, space, newline and %s)",
                            line, column, c, alphabet + 38);
            return NULL;
        }
        out[i] = (guint8)ids[c];
        if (c == '\n') {
            line++;
            column = 1;
        } else {
            column++;
        }
    }
    *n_ids = n;
    return g_steal_pointer(&out);
}

gboolean
train_corpus_sample_batch(const guint8 *corpus, gsize n, const TrainConfig *cfg, SimRng *rng,
                          guint8 *out, GError **error)
{
    g_return_val_if_fail(cfg != NULL && rng != NULL && out != NULL, FALSE);
    const gsize window = (gsize)cfg->context + 1;
    if (n < window) {
        g_set_error(error, TRAIN_CORPUS_ERROR, TRAIN_CORPUS_ERROR_TOO_SHORT,
                    "corpus of %" G_GSIZE_FORMAT
                    " tokens is shorter than one window of %" G_GSIZE_FORMAT " (context + 1)",
                    n, window);
        return FALSE;
    }
    for (guint32 b = 0; b < cfg->batch; b++) {
        const guint64 start = sim_rng_below(rng, n - window + 1);
        memcpy(out + (gsize)b * window, corpus + start, window);
    }
    return TRUE;
}
