/* spotlab tests: the training model (gpu-workloads/train): the C reference path's gradients
 * against finite differences, AdamW, training on the "tiny" preset, determinism, state round
 * trips and predictions; the corpus; the config JSON, overrides and validation; the position
 * encoding; the learning-rate schedule.
 *
 * The backend interface does not expose gradients; the tests read them from the first moment
 * after one step with beta1 = 0, where m = (1 - 0) g = g exactly, and lr = 0, where the
 * parameters stay as they are. Everything runs in a second natively and well within the
 * timeout under valgrind. */
#include "corpus.h"
#include "model.h"
#include "test-util.h"
#include "train-config.h"

#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char err[512];

static TrainConfig
preset(const char *name)
{
    TrainConfig cfg;
    CU_ASSERT_FATAL(train_config_preset(name, &cfg) == 0);
    return cfg;
}

/* Every field equal (padding ignored). */
static gboolean
config_equal(const TrainConfig *a, const TrainConfig *b)
{
    return strncmp(a->name, b->name, sizeof a->name) == 0 && a->vocab == b->vocab &&
           a->context == b->context && a->embed == b->embed && a->hidden == b->hidden &&
           a->layers == b->layers && a->batch == b->batch && a->warmup_steps == b->warmup_steps &&
           a->total_steps == b->total_steps && a->lr_max == b->lr_max && a->lr_min == b->lr_min &&
           a->beta1 == b->beta1 && a->beta2 == b->beta2 && a->eps == b->eps &&
           a->weight_decay == b->weight_decay && a->seed == b->seed;
}

/* A model of @cfg from its initial parameters; fails the test when it cannot be made. */
static TrainModel *
new_model(const TrainConfig *cfg, const float *params)
{
    TrainModel *m = train_backend_cpu.create(cfg, params, err, sizeof err);
    if (m == NULL)
        fprintf(stderr, "create: %s\n", err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    return m;
}

static float
step(TrainModel *model, const guint8 *tokens, guint64 t, float lr)
{
    float loss = NAN;
    const int rc = train_backend_cpu.step(model, tokens, t, lr, &loss, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "step: %s\n", err);
    CU_ASSERT_EQUAL(rc, 0);
    return loss;
}

/* A run: corpus, sampler and model of @cfg. */
typedef struct {
    TrainConfig cfg;
    guint8 *corpus;
    gsize n_corpus;
    SimRng rng;
    guint8 *tokens;
    TrainModel *model;
    guint64 t;
} Run;

static void
run_init(Run *r, const TrainConfig *cfg)
{
    r->cfg = *cfg;
    r->n_corpus = 50000;
    r->corpus = train_corpus_generate(cfg->seed, r->n_corpus);
    SimRng root;
    sim_rng_init(&root, cfg->seed);
    sim_rng_split(&root, 2, &r->rng);
    r->tokens = g_malloc((gsize)cfg->batch * (cfg->context + 1));
    g_autofree float *params = g_new(float, train_param_count(cfg));
    train_init_params(cfg, params);
    r->model = new_model(cfg, params);
    r->t = 0;
}

static void
run_clear(Run *r)
{
    train_backend_cpu.destroy(r->model);
    g_free(r->corpus);
    g_free(r->tokens);
}

/* One scheduled step on the next batch; returns the loss. */
static float
run_step(Run *r)
{
    g_autoptr(GError) error = NULL;
    CU_ASSERT_TRUE(
        train_corpus_sample_batch(r->corpus, r->n_corpus, &r->cfg, &r->rng, r->tokens, &error));
    const float lr = train_lr_at(&r->cfg, r->t);
    r->t++;
    return step(r->model, r->tokens, r->t, lr);
}

/* ---- Layout, presets, FLOPs ---- */

static void
test_layout_and_presets(void)
{
    static const char *const names[] = {"tiny", "small", "1g", "large"};
    for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
        TrainConfig cfg = preset(names[i]);
        g_autoptr(GError) error = NULL;
        CU_ASSERT_TRUE(train_config_validate(&cfg, &error));
        CU_ASSERT_STRING_EQUAL(cfg.name, names[i]);
        g_autofree TrainParamGroup *g = g_new(TrainParamGroup, TRAIN_PARAM_GROUPS(cfg.layers));
        const guint32 n = train_param_groups(&cfg, g);
        CU_ASSERT_EQUAL(n, 2 * cfg.layers + 3);
        guint64 offset = 0;
        for (guint32 k = 0; k < n; k++) {
            CU_ASSERT_EQUAL(g[k].offset, offset);
            CU_ASSERT_EQUAL(g[k].count, (guint64)g[k].rows * g[k].cols);
            CU_ASSERT_EQUAL(g[k].decay, g[k].rows > 1 && k > 0);
            offset += g[k].count;
        }
        CU_ASSERT_EQUAL(offset, train_param_count(&cfg));
        CU_ASSERT_STRING_EQUAL(g[0].name, "embed");
        CU_ASSERT_STRING_EQUAL(g[1].name, "layer0.weight");
        CU_ASSERT_EQUAL(g[1].cols, cfg.context * cfg.embed);
        CU_ASSERT_STRING_EQUAL(g[n - 2].name, "out.weight");
        CU_ASSERT_STRING_EQUAL(g[n - 1].name, "out.bias");
        /* FLOPs: 6 per parameter of the weight matrices per window. */
        guint64 weights = 0;
        for (guint32 k = 0; k < n; k++)
            weights += g[k].decay ? g[k].count : 0;
        CU_ASSERT_DOUBLE_EQUAL(train_step_flops(&cfg), 6.0 * cfg.batch * (double)weights, 1.0);
    }
    /* Checkpoint sizes: 3 arrays of 4-byte floats. */
    TrainConfig tiny = preset("tiny"), small = preset("small"), g1 = preset("1g");
    TrainConfig large = preset("large");
    CU_ASSERT(3 * 4 * train_param_count(&tiny) < 1000000);
    CU_ASSERT(3 * 4 * train_param_count(&small) < 20000000);
    const double g1_bytes = 12.0 * (double)train_param_count(&g1);
    CU_ASSERT(g1_bytes > 0.9e9 && g1_bytes < 1.1e9);
    CU_ASSERT(12.0 * (double)train_param_count(&large) > 4e9);
    TrainConfig none;
    CU_ASSERT_EQUAL(train_config_preset("huge", &none), -1);
}

static void
test_init(void)
{
    TrainConfig cfg = preset("tiny");
    const guint64 n = train_param_count(&cfg);
    g_autofree float *a = g_new(float, n), *b = g_new(float, n);
    train_init_params(&cfg, a);
    train_init_params(&cfg, b);
    CU_ASSERT_EQUAL(memcmp(a, b, n * sizeof(float)), 0);
    cfg.seed++;
    train_init_params(&cfg, b);
    CU_ASSERT_NOT_EQUAL(memcmp(a, b, n * sizeof(float)), 0);

    g_autofree TrainParamGroup *g = g_new(TrainParamGroup, TRAIN_PARAM_GROUPS(cfg.layers));
    const guint32 ng = train_param_groups(&cfg, g);
    for (guint32 k = 0; k < ng; k++) {
        double sum = 0, sq = 0;
        for (guint64 i = 0; i < g[k].count; i++) {
            const double x = a[g[k].offset + i];
            sum += x;
            sq += x * x;
        }
        const double mean = sum / (double)g[k].count;
        const double sd = sqrt(sq / (double)g[k].count - mean * mean);
        if (g[k].rows == 1) {
            CU_ASSERT_EQUAL(sq, 0.0); /* biases start at zero */
        } else if (k == 0) {
            CU_ASSERT(fabs(sd - 1.0) < 0.1);
        } else if (k == 1) {
            CU_ASSERT(fabs(sd * sqrt((double)g[k].cols) - 1.0) < 0.05);
        }
    }
}

/* ---- Gradients ---- */

/* A micro model: every group small, three layers so that two are residual; beta1 = beta2 = 0
 * so that the first moment after one step is the gradient. */
static TrainConfig
micro_config(void)
{
    TrainConfig cfg = preset("tiny");
    g_strlcpy(cfg.name, "micro", sizeof cfg.name);
    cfg.context = 3;
    cfg.embed = 4;
    cfg.hidden = 8;
    cfg.layers = 3;
    cfg.batch = 5;
    cfg.beta1 = 0.0f;
    cfg.beta2 = 0.0f;
    cfg.weight_decay = 0.0f;
    return cfg;
}

/* The gradient at @params (via the first moment) and the loss. */
static float
gradient(TrainModel *model, const float *params, const guint8 *tokens, float *grad)
{
    CU_ASSERT_EQUAL(train_backend_cpu.set_state(model, params, NULL, NULL, err, sizeof err), 0);
    const float loss = step(model, tokens, 1, 0.0f);
    CU_ASSERT_EQUAL(train_backend_cpu.get_state(model, NULL, grad, NULL, err, sizeof err), 0);
    return loss;
}

static void
test_gradient_check(void)
{
    /* Central differences of the float loss with h = 1e-2: the truncation error (h^2/6 times
     * a third derivative of order 1) and the rounding of the loss (a few ulps of ~4, divided by
     * 2h) are each below 1e-4; gradients here are of order 1e-2..1e-1. Each element must
     * agree within 2e-3 * max|g| of its group + 2e-2 * |g|, and each group as a vector within
     * 1e-2 relative in the 2-norm. A wrong index or a missing term breaks both by far. */
    TrainConfig cfg = micro_config();
    g_autoptr(GError) error = NULL;
    CU_ASSERT_TRUE_FATAL(train_config_validate(&cfg, &error));
    const guint64 n = train_param_count(&cfg);
    g_autofree float *p = g_new(float, n), *g = g_new(float, n), *scratch = g_new(float, n);
    g_autofree float *unused = g_new(float, n);
    train_init_params(&cfg, p);
    /* Move away from the initialisation: non-zero biases, a larger output layer. */
    SimRng rng;
    sim_rng_init(&rng, 99);
    for (guint64 i = 0; i < n; i++)
        p[i] += (float)(0.6 * sim_rng_double(&rng) - 0.3);
    g_autofree guint8 *corpus = train_corpus_generate(5, 2000);
    g_autofree guint8 *tokens = g_malloc(cfg.batch * (cfg.context + 1));
    CU_ASSERT_TRUE_FATAL(train_corpus_sample_batch(corpus, 2000, &cfg, &rng, tokens, &error));

    TrainModel *model = new_model(&cfg, p);
    const float loss = gradient(model, p, tokens, g);
    CU_ASSERT(isfinite(loss) && loss > 0.0f);

    g_autofree TrainParamGroup *groups = g_new(TrainParamGroup, TRAIN_PARAM_GROUPS(cfg.layers));
    const guint32 ng = train_param_groups(&cfg, groups);
    const float h = 1e-2f;
    memcpy(scratch, p, n * sizeof(float));
    for (guint32 k = 0; k < ng; k++) {
        const TrainParamGroup *grp = &groups[k];
        double gmax = 0, diff2 = 0, norm2 = 0, worst = 0;
        g_autofree double *fd = g_new(double, grp->count);
        for (guint64 i = 0; i < grp->count; i++) {
            const guint64 j = grp->offset + i;
            scratch[j] = p[j] + h;
            const float lp = gradient(model, scratch, tokens, unused);
            scratch[j] = p[j] - h;
            const float lm = gradient(model, scratch, tokens, unused);
            scratch[j] = p[j];
            fd[i] = ((double)lp - (double)lm) / (2.0 * (double)h);
        }
        for (guint64 i = 0; i < grp->count; i++)
            gmax = fmax(gmax, fabs((double)g[grp->offset + i]));
        for (guint64 i = 0; i < grp->count; i++) {
            const double a = g[grp->offset + i], d = fd[i] - a;
            diff2 += d * d;
            norm2 += a * a;
            const double excess = fabs(d) - (2e-3 * gmax + 2e-2 * fabs(a));
            worst = fmax(worst, excess);
            if (excess > 0)
                fprintf(stderr, "%s[%" G_GUINT64_FORMAT "]: analytic %.6g, numeric %.6g\n",
                        grp->name, i, a, fd[i]);
        }
        const double rel = norm2 > 0 ? sqrt(diff2 / norm2) : sqrt(diff2);
        if (g_getenv("SPOTLAB_TEST_VERBOSE") != NULL)
            fprintf(stderr, "%-14s max|g| %.3e  rel 2-norm error %.2e\n", grp->name, gmax, rel);
        CU_ASSERT(gmax > 1e-4); /* every group takes part */
        CU_ASSERT(rel < 1e-2);
        CU_ASSERT(worst <= 0.0);
    }
    train_backend_cpu.destroy(model);
}

static void
test_adamw(void)
{
    /* From the gradient g (read with beta1 = 0), one update with beta1 = 0.9, beta2 = 0.95 at
     * t = 3 from zero moments, computed here in double: m = 0.1 g, v = 0.05 g^2, and
     * p' = p - lr (m / (1 - 0.9^3) / (sqrt(v / (1 - 0.95^3)) + eps) + wd p) with wd only on
     * weight matrices. */
    TrainConfig cfg = micro_config();
    const guint64 n = train_param_count(&cfg);
    g_autofree float *p = g_new(float, n), *g = g_new(float, n);
    g_autofree float *p1 = g_new(float, n), *m1 = g_new(float, n), *v1 = g_new(float, n);
    train_init_params(&cfg, p);
    g_autofree guint8 *corpus = train_corpus_generate(6, 2000);
    g_autofree guint8 *tokens = g_malloc(cfg.batch * (cfg.context + 1));
    SimRng rng;
    sim_rng_init(&rng, 3);
    CU_ASSERT_TRUE_FATAL(train_corpus_sample_batch(corpus, 2000, &cfg, &rng, tokens, NULL));
    TrainModel *model = new_model(&cfg, p);
    gradient(model, p, tokens, g);
    train_backend_cpu.destroy(model);

    cfg.beta1 = 0.9f;
    cfg.beta2 = 0.95f;
    cfg.weight_decay = 0.5f;
    const float lr = 1e-2f;
    model = new_model(&cfg, p);
    step(model, tokens, 3, lr);
    CU_ASSERT_EQUAL(train_backend_cpu.get_state(model, p1, m1, v1, err, sizeof err), 0);
    train_backend_cpu.destroy(model);

    g_autofree TrainParamGroup *groups = g_new(TrainParamGroup, TRAIN_PARAM_GROUPS(cfg.layers));
    const guint32 ng = train_param_groups(&cfg, groups);
    const double bc1 = 1.0 - pow(0.9, 3), bc2 = 1.0 - pow(0.95, 3);
    int bad = 0;
    for (guint32 k = 0; k < ng; k++) {
        const double wd = groups[k].decay ? (double)cfg.weight_decay : 0.0;
        for (guint64 i = groups[k].offset; i < groups[k].offset + groups[k].count; i++) {
            const double gi = g[i], pi = p[i];
            const double m = (1.0 - (double)cfg.beta1) * gi;
            const double v = (1.0 - (double)cfg.beta2) * gi * gi;
            const double expect =
                pi - (double)lr * (m / bc1 / (sqrt(v / bc2) + (double)cfg.eps) + wd * pi);
            if (fabs((double)m1[i] - m) > 1e-6 * fabs(m) + 1e-30 ||
                fabs((double)v1[i] - v) > 1e-6 * fabs(v) + 1e-30 ||
                fabs((double)p1[i] - expect) > 1e-6 * fmax(fabs(expect), 1e-3))
                bad++;
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
}

/* ---- Training ---- */

static void
test_loss_falls(void)
{
    /* The tiny preset learns the corpus: over its schedule (200 steps) the mean of the last 20
     * losses falls below 70% of the first, which is close to log(64) = 4.16. */
    TrainConfig cfg = preset("tiny");
    const int steps = (int)cfg.total_steps;
    Run r;
    run_init(&r, &cfg);
    float first = 0, last = 0;
    for (int s = 0; s < steps; s++) {
        const float loss = run_step(&r);
        CU_ASSERT_FATAL(isfinite(loss));
        if (s == 0)
            first = loss;
        if (s >= steps - 20)
            last += loss / 20.0f;
    }
    fprintf(stderr, "tiny: loss %.4f at step 1, mean %.4f over steps %d-%d\n", (double)first,
            (double)last, steps - 19, steps);
    CU_ASSERT(fabs((double)first - log(64.0)) < 0.1);
    CU_ASSERT(last < 0.7f * first);
    run_clear(&r);
}

static void
test_bit_identical(void)
{
    TrainConfig cfg = preset("tiny");
    const int steps = 30;
    Run a, b;
    run_init(&a, &cfg);
    run_init(&b, &cfg);
    for (int s = 0; s < steps; s++) {
        const float la = run_step(&a), lb = run_step(&b);
        CU_ASSERT_EQUAL(memcmp(&la, &lb, sizeof la), 0);
    }
    const guint64 n = train_param_count(&cfg);
    g_autofree float *pa = g_new(float, 3 * n), *pb = g_new(float, 3 * n);
    train_backend_cpu.get_state(a.model, pa, pa + n, pa + 2 * n, err, sizeof err);
    train_backend_cpu.get_state(b.model, pb, pb + n, pb + 2 * n, err, sizeof err);
    CU_ASSERT_EQUAL(memcmp(pa, pb, 3 * n * sizeof(float)), 0);
    run_clear(&a);
    run_clear(&b);
}

static void
test_state_round_trip(void)
{
    /* A model rebuilt from another's state (and the sampler's) continues bit-identically. */
    TrainConfig cfg = preset("tiny");
    Run a, b;
    run_init(&a, &cfg);
    for (int s = 0; s < 5; s++)
        run_step(&a);
    const guint64 n = train_param_count(&cfg);
    g_autofree float *p = g_new(float, n), *m = g_new(float, n), *v = g_new(float, n);
    CU_ASSERT_EQUAL(train_backend_cpu.get_state(a.model, p, m, v, err, sizeof err), 0);
    run_init(&b, &cfg);
    CU_ASSERT_EQUAL(train_backend_cpu.set_state(b.model, p, m, v, err, sizeof err), 0);
    b.rng = a.rng;
    b.t = a.t;
    for (int s = 0; s < 3; s++) {
        const float la = run_step(&a), lb = run_step(&b);
        CU_ASSERT_EQUAL(memcmp(&la, &lb, sizeof la), 0);
    }
    g_autofree float *pa = g_new(float, n), *pb = g_new(float, n);
    train_backend_cpu.get_state(a.model, pa, NULL, NULL, err, sizeof err);
    train_backend_cpu.get_state(b.model, pb, NULL, NULL, err, sizeof err);
    CU_ASSERT_EQUAL(memcmp(pa, pb, n * sizeof(float)), 0);

    /* NULL moments: zero. */
    CU_ASSERT_EQUAL(train_backend_cpu.set_state(b.model, p, NULL, NULL, err, sizeof err), 0);
    train_backend_cpu.get_state(b.model, pb, m, v, err, sizeof err);
    CU_ASSERT_EQUAL(memcmp(pb, p, n * sizeof(float)), 0);
    gboolean zero = TRUE;
    for (guint64 i = 0; i < n; i++)
        zero = zero && m[i] == 0.0f && v[i] == 0.0f;
    CU_ASSERT_TRUE(zero);
    run_clear(&a);
    run_clear(&b);
}

static void
test_predict(void)
{
    /* The logits of predict give the loss that step reports, computed here in double; rows
     * beyond one batch (chunking) give the same logits as alone. */
    TrainConfig cfg = preset("tiny");
    Run r;
    run_init(&r, &cfg);
    for (int s = 0; s < 10; s++)
        run_step(&r);
    CU_ASSERT_TRUE(train_corpus_sample_batch(r.corpus, r.n_corpus, &cfg, &r.rng, r.tokens, NULL));
    const guint32 rows = cfg.batch, c = cfg.context, v = cfg.vocab;
    g_autofree guint8 *ctx = g_malloc((gsize)(2 * rows + 1) * c);
    for (guint32 i = 0; i < 2 * rows + 1; i++)
        memcpy(ctx + (gsize)i * c, r.tokens + (gsize)(i % rows) * (c + 1), c);
    g_autofree float *logits = g_new(float, (gsize)(2 * rows + 1) * v);
    CU_ASSERT_EQUAL_FATAL(
        train_backend_cpu.predict(r.model, ctx, 2 * rows + 1, logits, err, sizeof err), 0);
    double loss = 0;
    for (guint32 i = 0; i < rows; i++) {
        const float *row = logits + (gsize)i * v;
        double mx = row[0], sum = 0;
        for (guint32 j = 1; j < v; j++)
            mx = fmax(mx, row[j]);
        for (guint32 j = 0; j < v; j++)
            sum += exp((double)row[j] - mx);
        loss += mx + log(sum) - (double)row[r.tokens[(gsize)i * (c + 1) + c]];
    }
    loss /= rows;
    /* Row i and row i + rows (the next chunk) and 2 rows (a chunk of one) hold the same window. */
    CU_ASSERT_EQUAL(memcmp(logits, logits + (gsize)rows * v, (gsize)rows * v * sizeof(float)), 0);
    CU_ASSERT_EQUAL(memcmp(logits, logits + (gsize)2 * rows * v, v * sizeof(float)), 0);
    const float reported = step(r.model, r.tokens, r.t + 1, train_lr_at(&cfg, r.t));
    TEST_ASSERT_REL(reported, loss, 1e-5);
    run_clear(&r);
}

static void
test_step_errors(void)
{
    TrainConfig cfg = preset("tiny");
    Run r;
    run_init(&r, &cfg);
    float loss;
    memset(r.tokens, 1, (gsize)cfg.batch * (cfg.context + 1));
    CU_ASSERT_NOT_EQUAL(train_backend_cpu.step(r.model, r.tokens, 0, 1e-3f, &loss, err, sizeof err),
                        0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "1-based"));
    r.tokens[2 * (cfg.context + 1) + 3] = 64;
    CU_ASSERT_NOT_EQUAL(train_backend_cpu.step(r.model, r.tokens, 1, 1e-3f, &loss, err, sizeof err),
                        0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "token 64 at row 2, position 3"));
    CU_ASSERT_NOT_EQUAL(train_backend_cpu.predict(r.model, r.tokens, 3, NULL, err, sizeof err), 0);
    TrainConfig bad = cfg;
    bad.vocab = 65;
    g_autofree float *p = g_new0(float, train_param_count(&bad));
    CU_ASSERT_PTR_NULL(train_backend_cpu.create(&bad, p, err, sizeof err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "vocab"));
    run_clear(&r);
}

/* ---- Corpus ---- */

static void
test_corpus(void)
{
    const char *alphabet = train_corpus_alphabet();
    CU_ASSERT_EQUAL(strlen(alphabet), TRAIN_VOCAB);
    for (int i = 0; i < TRAIN_VOCAB; i++)
        CU_ASSERT_PTR_EQUAL(strchr(alphabet, alphabet[i]), alphabet + i); /* no repeats */
    CU_ASSERT_PTR_NOT_NULL(strchr(alphabet, ' '));
    CU_ASSERT_PTR_NOT_NULL(strchr(alphabet, '\n'));

    enum { N = 20000 };
    g_autofree guint8 *a = train_corpus_generate(7, N), *b = train_corpus_generate(7, N);
    g_autofree guint8 *c = train_corpus_generate(8, N), *prefix = train_corpus_generate(7, 100);
    CU_ASSERT_EQUAL(memcmp(a, b, N), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(a, c, N), 0);
    CU_ASSERT_EQUAL(memcmp(a, prefix, 100), 0);
    /* Every id used, some structure: the text is words about the subject. */
    guint counts[TRAIN_VOCAB] = {0};
    for (gsize i = 0; i < N; i++) {
        CU_ASSERT_FATAL(a[i] < TRAIN_VOCAB);
        counts[a[i]]++;
    }
    g_autofree char *text = train_corpus_decode(a, N);
    CU_ASSERT_EQUAL(strlen(text), N);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "checkpoint"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "gpu"));
    CU_ASSERT_PTR_NOT_NULL(strchr(text, '\n'));
    /* The unigram entropy is well below log(64): there is something to learn. */
    double entropy = 0;
    for (int i = 0; i < TRAIN_VOCAB; i++) {
        if (counts[i] > 0)
            entropy -= (double)counts[i] / N * log((double)counts[i] / N);
    }
    CU_ASSERT(entropy < 3.3);

    /* Round trip, and every character of the alphabet encodes. */
    gsize n = 0;
    g_autoptr(GError) error = NULL;
    g_autofree guint8 *ids = train_corpus_encode(text, -1, &n, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ids);
    CU_ASSERT_EQUAL(n, N);
    CU_ASSERT_EQUAL(memcmp(ids, a, N), 0);
    g_autofree guint8 *all = train_corpus_encode(alphabet, -1, &n, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(all);
    for (int i = 0; i < TRAIN_VOCAB; i++)
        CU_ASSERT_EQUAL(all[i], i);

    /* Characters outside the alphabet: the line, column and character are named. */
    CU_ASSERT_PTR_NULL(train_corpus_encode("ok\nthe GPU", -1, &n, &error));
    CU_ASSERT_TRUE(g_error_matches(error, TRAIN_CORPUS_ERROR, TRAIN_CORPUS_ERROR_BAD_CHAR));
    CU_ASSERT_PTR_NOT_NULL(error != NULL ? strstr(error->message, "text:2:5: character 'G'")
                                         : NULL);
    g_clear_error(&error);
    CU_ASSERT_PTR_NULL(train_corpus_encode("tab\there", -1, &n, &error));
    CU_ASSERT_PTR_NOT_NULL(error != NULL ? strstr(error->message, "byte 0x09") : NULL);
    g_clear_error(&error);
}

static void
test_sample_batch(void)
{
    TrainConfig cfg = preset("tiny");
    enum { N = 5000 };
    g_autofree guint8 *corpus = train_corpus_generate(1, N);
    const gsize w = cfg.context + 1;
    g_autofree guint8 *x = g_malloc(cfg.batch * w), *y = g_malloc(cfg.batch * w);
    SimRng r1, r2;
    sim_rng_init(&r1, 5);
    r2 = r1;
    g_autoptr(GError) error = NULL;
    CU_ASSERT_TRUE(train_corpus_sample_batch(corpus, N, &cfg, &r1, x, &error));
    CU_ASSERT_TRUE(train_corpus_sample_batch(corpus, N, &cfg, &r2, y, &error));
    CU_ASSERT_EQUAL(memcmp(x, y, cfg.batch * w), 0);
    CU_ASSERT_EQUAL(memcmp(&r1, &r2, sizeof r1), 0);
    /* Each row is a window of the corpus, drawn with batch draws of sim_rng_below. */
    SimRng r3;
    sim_rng_init(&r3, 5);
    for (guint32 b = 0; b < cfg.batch; b++) {
        const guint64 start = sim_rng_below(&r3, N - w + 1);
        CU_ASSERT_EQUAL(memcmp(x + b * w, corpus + start, w), 0);
    }
    CU_ASSERT_EQUAL(memcmp(&r1, &r3, sizeof r1), 0);
    /* The next batch differs; windows reach the last token (a corpus of exactly one window). */
    CU_ASSERT_TRUE(train_corpus_sample_batch(corpus, N, &cfg, &r1, y, &error));
    CU_ASSERT_NOT_EQUAL(memcmp(x, y, cfg.batch * w), 0);
    CU_ASSERT_TRUE(train_corpus_sample_batch(corpus, w, &cfg, &r1, y, &error));
    CU_ASSERT_EQUAL(memcmp(y, corpus, w), 0);
    CU_ASSERT_FALSE(train_corpus_sample_batch(corpus, w - 1, &cfg, &r1, y, &error));
    CU_ASSERT_TRUE(g_error_matches(error, TRAIN_CORPUS_ERROR, TRAIN_CORPUS_ERROR_TOO_SHORT));
}

/* ---- Config ---- */

static void
test_config_json(void)
{
    static const char *const names[] = {"tiny", "small", "1g", "large"};
    for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
        TrainConfig cfg = preset(names[i]), back;
        memset(&back, 0, sizeof back);
        g_autofree char *text = train_config_to_json(&cfg);
        g_autoptr(GError) error = NULL;
        CU_ASSERT_TRUE(train_config_from_json(text, -1, &back, &error));
        CU_ASSERT_TRUE(config_equal(&cfg, &back));
    }
    /* Awkward values survive: a seed above 2^63 (as a string), floats that need 9 digits. */
    TrainConfig cfg = preset("tiny"), back;
    cfg.seed = G_MAXUINT64 - 5;
    cfg.total_steps = G_GUINT64_CONSTANT(1) << 40;
    cfg.lr_max = 1.0f / 3.0f;
    cfg.lr_min = FLT_MIN;
    cfg.eps = nextafterf(1e-8f, 1.0f);
    g_strlcpy(cfg.name, "custom", sizeof cfg.name);
    g_autofree char *text = train_config_to_json(&cfg);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"seed\": \"18446744073709551610\""));
    g_autoptr(GError) error = NULL;
    CU_ASSERT_TRUE(train_config_from_json(text, -1, &back, &error));
    CU_ASSERT_TRUE(config_equal(&cfg, &back));
    /* Fields in the documented order. */
    const char *const *fields = train_config_fields();
    const char *at = text;
    for (gsize i = 0; fields[i] != NULL; i++) {
        g_autofree char *key = g_strdup_printf("\"%s\"", fields[i]);
        const char *found = strstr(at, key);
        CU_ASSERT_PTR_NOT_NULL_FATAL(found);
        at = found;
    }
    CU_ASSERT_EQUAL(g_strv_length((char **)fields), 16);
}

static void
test_config_json_errors(void)
{
    TrainConfig tiny = preset("tiny");
    /* [field, its new JSON value (NULL: removed), an extra member, the message fragment] */
    static const struct {
        const char *field, *value, *extra, *expect;
    } cases[] = {
        {"hidden", "\"128\"", NULL,
         "config.hidden: expected an integer in 0..4294967295, got \"128\""},
        {"hidden", "-1", NULL, "config.hidden: expected an integer in 0..4294967295, got -1"},
        {"hidden", "4294967296", NULL, "config.hidden: expected an integer"},
        {"hidden", "0", NULL, "config.hidden: expected a size in 1..65536, got 0"},
        {"hidden", NULL, NULL, "config.hidden: missing"},
        {"seed", NULL, NULL, "config.seed: missing"},
        {"vocab", "65", NULL, "config.vocab: expected 64"},
        {"vocab", "64", "colour", "config.colour: unknown field (expected one of: name, vocab"},
        {"lr_max", "\"fast\"", NULL, "config.lr_max: expected a finite number"},
        {"beta1", "true", NULL, "config.beta1: expected a finite number"},
        {"weight_decay", "-1", NULL, "config.weight_decay: expected a value >= 0"},
        {"name", "\"a name far too long\"", NULL, "config.name: expected a string of 1 to 15"},
        {"name", "7", NULL, "config.name: expected a string"},
        {"seed", "\"12x\"", NULL, "config.seed: expected an integer"},
        {"seed", "1.5", NULL, "config.seed: expected an integer"},
        {"total_steps", "-3", NULL, "config.total_steps: expected an integer"},
        {"warmup_steps", "201", NULL, "config.warmup_steps: expected at most total_steps"},
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        json_t *obj = train_config_to_json_value(&tiny);
        if (cases[i].value == NULL) {
            json_object_del(obj, cases[i].field);
        } else {
            json_t *v = json_loads(cases[i].value, JSON_DECODE_ANY, NULL);
            CU_ASSERT_PTR_NOT_NULL_FATAL(v);
            json_object_set_new(obj, cases[i].field, v);
        }
        if (cases[i].extra != NULL)
            json_object_set_new(obj, cases[i].extra, json_integer(1));
        char *text = json_dumps(obj, JSON_INDENT(2));
        json_decref(obj);
        TrainConfig cfg = tiny;
        g_autoptr(GError) error = NULL;
        CU_ASSERT_FALSE(train_config_from_json(text, -1, &cfg, &error));
        free(text);
        CU_ASSERT_PTR_NOT_NULL_FATAL(error);
        if (strstr(error->message, cases[i].expect) == NULL)
            fprintf(stderr, "case %" G_GSIZE_FORMAT ": expected \"%s\" in \"%s\"\n", i,
                    cases[i].expect, error->message);
        CU_ASSERT_PTR_NOT_NULL(strstr(error->message, cases[i].expect));
        CU_ASSERT_TRUE(config_equal(&cfg, &tiny)); /* left alone */
    }
    /* Parse errors name line and column; duplicates are parse errors; a non-object is
     * refused. */
    static const struct {
        const char *text, *expect;
    } texts[] = {
        {"{\n  \"name\": }", "config:2:"},
        {"{\"vocab\": 64, \"vocab\": 64}", "config:1:"},
        {"[1]", "config: expected a JSON object"},
    };
    for (gsize i = 0; i < G_N_ELEMENTS(texts); i++) {
        TrainConfig cfg;
        g_autoptr(GError) error = NULL;
        CU_ASSERT_FALSE(train_config_from_json(texts[i].text, -1, &cfg, &error));
        CU_ASSERT_TRUE(g_error_matches(error, TRAIN_CONFIG_ERROR, TRAIN_CONFIG_ERROR_PARSE));
        CU_ASSERT_PTR_NOT_NULL(error != NULL ? strstr(error->message, texts[i].expect) : NULL);
    }
}

static void
test_config_set_and_validate(void)
{
    TrainConfig cfg = preset("tiny");
    g_autoptr(GError) error = NULL;
    CU_ASSERT_TRUE(train_config_set(&cfg, "hidden", "512", &error));
    CU_ASSERT_EQUAL(cfg.hidden, 512);
    CU_ASSERT_TRUE(train_config_set(&cfg, "total-steps", "5000", &error));
    CU_ASSERT_EQUAL(cfg.total_steps, 5000);
    CU_ASSERT_TRUE(train_config_set(&cfg, "lr_max", "1e-3", &error));
    CU_ASSERT_EQUAL(cfg.lr_max, 1e-3f);
    CU_ASSERT_TRUE(train_config_set(&cfg, "seed", "18446744073709551615", &error));
    CU_ASSERT_EQUAL(cfg.seed, G_MAXUINT64);
    CU_ASSERT_TRUE(train_config_set(&cfg, "name", "mine", &error));
    CU_ASSERT_STRING_EQUAL(cfg.name, "mine");
    CU_ASSERT_TRUE(train_config_validate(&cfg, &error));

    static const struct {
        const char *field, *value, *expect;
    } bad[] = {
        {"hidden", "abc", "hidden: expected an integer in 0..4294967295, got \"abc\""},
        {"hidden", "-5", "hidden: expected an integer"},
        {"hidden", "4294967296", "hidden: expected an integer"},
        {"lr_max", "fast", "lr_max: expected a finite number like 3e-4, got \"fast\""},
        {"lr_max", "1e39", "lr_max: expected a finite number"},
        {"lr_max", "", "lr_max: expected a finite number"},
        {"seed", "1.5", "seed: expected an integer"},
        {"name", "", "name: expected a name"},
        {"colour", "red", "unknown config field \"colour\""},
    };
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        TrainConfig before = cfg;
        g_clear_error(&error);
        CU_ASSERT_FALSE(train_config_set(&cfg, bad[i].field, bad[i].value, &error));
        CU_ASSERT_TRUE(g_error_matches(error, TRAIN_CONFIG_ERROR, TRAIN_CONFIG_ERROR_FIELD));
        CU_ASSERT_PTR_NOT_NULL(error != NULL ? strstr(error->message, bad[i].expect) : NULL);
        CU_ASSERT_TRUE(config_equal(&cfg, &before));
    }

    /* Validation names the field. [field, value, expected fragment] */
    static const struct {
        const char *field, *value, *expect;
    } invalid[] = {
        {"vocab", "63", "vocab: expected 64"},
        {"context", "0", "context: expected a size in 1..4096, got 0"},
        {"embed", "0", "embed:"},
        {"layers", "0", "layers:"},
        {"batch", "0", "batch:"},
        {"hidden", "65537", "hidden:"},
        {"total_steps", "0", "total_steps: expected at least 1"},
        {"warmup_steps", "6000", "warmup_steps: expected at most total_steps"},
        {"lr_max", "0", "lr_max:"},
        {"lr_min", "0.5", "lr_min: expected a rate in [0, lr_max"},
        {"lr_min", "-1e-5", "lr_min:"},
        {"beta1", "1", "beta1: expected a value in [0, 1)"},
        {"beta2", "-0.1", "beta2:"},
        {"eps", "0", "eps:"},
        {"weight_decay", "-0.1", "weight_decay:"},
    };
    for (gsize i = 0; i < G_N_ELEMENTS(invalid); i++) {
        TrainConfig c = cfg;
        g_clear_error(&error);
        CU_ASSERT_TRUE(train_config_set(&c, invalid[i].field, invalid[i].value, &error));
        CU_ASSERT_FALSE(train_config_validate(&c, &error));
        CU_ASSERT_TRUE(g_error_matches(error, TRAIN_CONFIG_ERROR, TRAIN_CONFIG_ERROR_INVALID));
        if (error != NULL && strstr(error->message, invalid[i].expect) == NULL)
            fprintf(stderr, "expected \"%s\" in \"%s\"\n", invalid[i].expect, error->message);
        CU_ASSERT_PTR_NOT_NULL(error != NULL ? strstr(error->message, invalid[i].expect) : NULL);
    }
    /* Too many parameters for the limit. */
    TrainConfig big = cfg;
    big.hidden = 65536;
    big.layers = 2;
    g_clear_error(&error);
    CU_ASSERT_FALSE(train_config_validate(&big, &error));
    CU_ASSERT_PTR_NOT_NULL(error != NULL ? strstr(error->message, "more than 2^32") : NULL);
}

/* ---- Position ---- */

static void
test_position(void)
{
    TrainPosition pos = {.step = 1234, .adam_t = 1234, .tokens_seen = G_GUINT64_CONSTANT(1) << 40};
    sim_rng_init(&pos.rng, 77);
    sim_rng_next(&pos.rng);
    guint8 bytes[TRAIN_POSITION_SIZE];
    train_position_encode(&pos, bytes);
    /* Little-endian at the documented offsets. */
    CU_ASSERT_EQUAL(bytes[0], 1234 & 0xff);
    CU_ASSERT_EQUAL(bytes[1], 1234 >> 8);
    CU_ASSERT_EQUAL(bytes[16 + 5], 1);
    CU_ASSERT_EQUAL(bytes[24], pos.rng.s[0] & 0xff);
    CU_ASSERT_EQUAL(bytes[63], pos.rng.key >> 56);
    TrainPosition back;
    g_autoptr(GError) error = NULL;
    CU_ASSERT_TRUE(train_position_decode(bytes, sizeof bytes, &back, &error));
    CU_ASSERT_EQUAL(memcmp(&pos, &back, sizeof pos), 0);
    /* The sampler goes on where it was. */
    CU_ASSERT_EQUAL(sim_rng_next(&pos.rng), sim_rng_next(&back.rng));

    CU_ASSERT_FALSE(train_position_decode(bytes, sizeof bytes - 1, &back, &error));
    CU_ASSERT_TRUE(g_error_matches(error, TRAIN_CONFIG_ERROR, TRAIN_CONFIG_ERROR_POSITION));
    CU_ASSERT_PTR_NOT_NULL(error != NULL ? strstr(error->message, "expected 64 bytes, got 63")
                                         : NULL);
    g_clear_error(&error);
    memset(bytes + 24, 0, 32);
    CU_ASSERT_FALSE(train_position_decode(bytes, sizeof bytes, &back, &error));
    CU_ASSERT_PTR_NOT_NULL(error != NULL ? strstr(error->message, "all zero") : NULL);
}

/* ---- Schedule ---- */

static void
test_lr_schedule(void)
{
    TrainConfig cfg = preset("tiny");
    cfg.warmup_steps = 10;
    cfg.total_steps = 110;
    cfg.lr_max = 1e-3f;
    cfg.lr_min = 1e-4f;
    /* Warmup: linear from lr_max / warmup to lr_max. */
    TEST_ASSERT_REL(train_lr_at(&cfg, 0), 1e-4, 1e-6);
    TEST_ASSERT_REL(train_lr_at(&cfg, 4), 5e-4, 1e-6);
    for (guint64 s = 1; s < 10; s++)
        CU_ASSERT(train_lr_at(&cfg, s) > train_lr_at(&cfg, s - 1));
    CU_ASSERT_EQUAL(train_lr_at(&cfg, 9), cfg.lr_max);
    /* Peak, then cosine, never rising, to lr_min at the last step and beyond. */
    CU_ASSERT_EQUAL(train_lr_at(&cfg, 10), cfg.lr_max);
    for (guint64 s = 11; s < 110; s++)
        CU_ASSERT(train_lr_at(&cfg, s) <= train_lr_at(&cfg, s - 1));
    CU_ASSERT(train_lr_at(&cfg, 108) > cfg.lr_min);
    CU_ASSERT_EQUAL(train_lr_at(&cfg, 109), cfg.lr_min);
    CU_ASSERT_EQUAL(train_lr_at(&cfg, 5000), cfg.lr_min);
    /* Half way through the decay (step 10 + 99/2): the mean of the two. */
    TEST_ASSERT_REL((train_lr_at(&cfg, 59) + train_lr_at(&cfg, 60)) / 2, 5.5e-4, 1e-3);
    /* No warmup. */
    cfg.warmup_steps = 0;
    CU_ASSERT_EQUAL(train_lr_at(&cfg, 0), cfg.lr_max);
}

int
main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite s = CU_add_suite("model", NULL, NULL);
    CU_add_test(s, "layout, presets, FLOPs", test_layout_and_presets);
    CU_add_test(s, "initial parameters", test_init);
    CU_add_test(s, "gradients against finite differences", test_gradient_check);
    CU_add_test(s, "AdamW update, decay on weights only", test_adamw);
    CU_add_test(s, "tiny: the loss falls", test_loss_falls);
    CU_add_test(s, "two runs bit-identical", test_bit_identical);
    CU_add_test(s, "get_state / set_state round trip", test_state_round_trip);
    CU_add_test(s, "predict agrees with the loss", test_predict);
    CU_add_test(s, "step and create errors", test_step_errors);
    CU_pSuite c = CU_add_suite("corpus", NULL, NULL);
    CU_add_test(c, "generate, decode, encode", test_corpus);
    CU_add_test(c, "batch sampling", test_sample_batch);
    CU_pSuite j = CU_add_suite("config", NULL, NULL);
    CU_add_test(j, "JSON round trip", test_config_json);
    CU_add_test(j, "JSON errors name the field", test_config_json_errors);
    CU_add_test(j, "overrides and validation", test_config_set_and_validate);
    CU_add_test(j, "position bytes", test_position);
    CU_add_test(j, "learning-rate schedule", test_lr_schedule);
    return test_run_all();
}
