/* spotlab workloads: the text the training model learns.
 *
 * The project makes its own corpus so that training needs no download: a deterministic
 * generator turns a seed into English-like sentences drawn from a small probabilistic grammar
 * (sentence templates with word lists about clouds, GPUs, preemptions and checkpoints, and
 * numbers), which gives the model structure to learn: spelling, word order, punctuation.
 *
 * Text is written in an alphabet of exactly TRAIN_VOCAB = 64 characters; token id i is
 * character i of train_corpus_alphabet(): space, newline, a-z, 0-9 and 26 punctuation marks and
 * symbols. Tokens are uint8 ids below TRAIN_VOCAB.
 *
 * Batches are windows of context + 1 tokens (context, then the target) at uniformly random
 * starts drawn from a SimRng that the caller owns and saves in its checkpoints, so a resumed
 * run draws the same batches as an uninterrupted one.
 */
#pragma once

#include <glib.h>

#include "model.h"
#include "rng.h"

G_BEGIN_DECLS

#define TRAIN_CORPUS_ERROR (train_corpus_error_quark())
GQuark train_corpus_error_quark(void);

typedef enum {
    TRAIN_CORPUS_ERROR_BAD_CHAR,  /* a character outside the alphabet */
    TRAIN_CORPUS_ERROR_TOO_SHORT, /* fewer tokens than one window */
} TrainCorpusError;

/* The alphabet: a static string of TRAIN_VOCAB characters, id i is character i. */
const char *train_corpus_alphabet(void);

/**
 * train_corpus_generate:
 * @seed: the text is a pure function of it (and of @n_tokens: a longer text starts with the
 *        shorter one)
 * @n_tokens: length of the text
 *
 * Returns: (transfer full): @n_tokens ids; free with g_free.
 */
guint8 *train_corpus_generate(guint64 seed, gsize n_tokens);

/**
 * train_corpus_decode:
 * Returns: (transfer full): the text of @n ids (each below TRAIN_VOCAB: API misuse otherwise,
 * and NULL is returned), NUL-terminated; free with g_free.
 */
char *train_corpus_decode(const guint8 *ids, gsize n);

/**
 * train_corpus_encode:
 * @text: the text, @len bytes (-1: NUL-terminated)
 * @n_ids: (out): number of ids written
 *
 * Returns: (transfer full): the ids of @text, or NULL with TRAIN_CORPUS_ERROR_BAD_CHAR naming
 * the line, column and character that is not in the alphabet. Free with g_free.
 */
guint8 *train_corpus_encode(const char *text, gssize len, gsize *n_ids, GError **error);

/**
 * train_corpus_sample_batch:
 * @corpus: @n tokens
 * @cfg: gives batch and context
 * @rng: advanced by exactly cfg->batch draws of sim_rng_below(n - context)
 * @out: receives cfg->batch rows of cfg->context + 1 tokens (context, then the target)
 *
 * Returns: FALSE with TRAIN_CORPUS_ERROR_TOO_SHORT when @n < context + 1.
 */
gboolean train_corpus_sample_batch(const guint8 *corpus, gsize n, const TrainConfig *cfg,
                                   SimRng *rng, guint8 *out, GError **error);

G_END_DECLS
