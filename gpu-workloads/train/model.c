/* spotlab workloads: what every backend of the training model shares: the presets, the layout
 * of the parameter array, the step's FLOP count, the learning-rate schedule and the initial
 * parameters. Everything here is plain host arithmetic, bit-identical on every machine (no
 * transcendental functions in the initialisation), so a run is a pure function of its config.
 */
#include "model.h"

#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rng.h"

/* The presets. The learning rates shrink with the width, as Adam on a wider layer moves each
 * output by more for the same per-weight step (lr x hidden stays between 0.4 and 1.2).
 * Parameters and checkpoint sizes (3 arrays of 4-byte floats):
 *   tiny     42,304 parameters       507,648 bytes   CI, ~1 ms a step on one core
 *   small    469,696                 5.6 MB          ~10 ms a step on one core
 *   1g       84,172,864              1.01 GB         ~1 s a step on one core
 *   large    537,468,992             6.45 GB         GPU
 * On the C path the loss falls from log(64) = 4.16 to about 2.0 in tiny's 200 steps, to about
 * 1.0 in 300 steps of small, and (held-out loss) to about 3.0 in 50 steps of 1g and 3.3 in 24
 * steps of large at batch 16. */
static const TrainConfig train_presets[] = {
    /* CI. */
    {.name = "tiny",
     .vocab = TRAIN_VOCAB,
     .context = 8,
     .embed = 16,
     .hidden = 128,
     .layers = 2,
     .batch = 32,
     .warmup_steps = 20,
     .total_steps = 200,
     .lr_max = 3e-3f,
     .lr_min = 3e-4f,
     .beta1 = 0.9f,
     .beta2 = 0.95f,
     .eps = 1e-8f,
     .weight_decay = 0.01f,
     .seed = 1},
    {.name = "small",
     .vocab = TRAIN_VOCAB,
     .context = 16,
     .embed = 24,
     .hidden = 384,
     .layers = 3,
     .batch = 64,
     .warmup_steps = 50,
     .total_steps = 2000,
     .lr_max = 2e-3f,
     .lr_min = 2e-4f,
     .beta1 = 0.9f,
     .beta2 = 0.95f,
     .eps = 1e-8f,
     .weight_decay = 0.05f,
     .seed = 1},
    {.name = "1g",
     .vocab = TRAIN_VOCAB,
     .context = 64,
     .embed = 64,
     .hidden = 4096,
     .layers = 5,
     .batch = 32,
     .warmup_steps = 20,
     .total_steps = 1000,
     .lr_max = 3e-4f,
     .lr_min = 3e-5f,
     .beta1 = 0.9f,
     .beta2 = 0.95f,
     .eps = 1e-8f,
     .weight_decay = 0.1f,
     .seed = 1},
    {.name = "large",
     .vocab = TRAIN_VOCAB,
     .context = 64,
     .embed = 128,
     .hidden = 8192,
     .layers = 8,
     .batch = 256,
     .warmup_steps = 30,
     .total_steps = 1000,
     .lr_max = 1e-4f,
     .lr_min = 1e-5f,
     .beta1 = 0.9f,
     .beta2 = 0.95f,
     .eps = 1e-8f,
     .weight_decay = 0.1f,
     .seed = 1},
};

int
train_config_preset(const char *name, TrainConfig *cfg)
{
    if (name == NULL || cfg == NULL)
        return -1;
    for (size_t i = 0; i < sizeof train_presets / sizeof train_presets[0]; i++) {
        if (strcmp(train_presets[i].name, name) == 0) {
            *cfg = train_presets[i];
            return 0;
        }
    }
    return -1;
}

uint32_t
train_param_groups(const TrainConfig *cfg, TrainParamGroup *groups)
{
    uint32_t n = 0;
    uint64_t offset = 0;
    const uint32_t in0 = cfg->context * cfg->embed;

#define ADD_GROUP(ROWS, COLS, DECAY, ...)                                                          \
    do {                                                                                           \
        TrainParamGroup *g_ = &groups[n++];                                                        \
        memset(g_, 0, sizeof *g_);                                                                 \
        snprintf(g_->name, sizeof g_->name, __VA_ARGS__);                                          \
        g_->rows = (ROWS);                                                                         \
        g_->cols = (COLS);                                                                         \
        g_->count = (uint64_t)(ROWS) * (uint64_t)(COLS);                                           \
        g_->offset = offset;                                                                       \
        g_->decay = (DECAY);                                                                       \
        offset += g_->count;                                                                       \
    } while (0)

    ADD_GROUP(cfg->vocab, cfg->embed, 0, "embed");
    for (uint32_t l = 0; l < cfg->layers; l++) {
        ADD_GROUP(cfg->hidden, l == 0 ? in0 : cfg->hidden, 1, "layer%u.weight", l);
        ADD_GROUP(1, cfg->hidden, 0, "layer%u.bias", l);
    }
    ADD_GROUP(cfg->vocab, cfg->hidden, 1, "out.weight");
    ADD_GROUP(1, cfg->vocab, 0, "out.bias");
#undef ADD_GROUP
    return n;
}

uint64_t
train_param_count(const TrainConfig *cfg)
{
    const uint64_t v = cfg->vocab, e = cfg->embed, h = cfg->hidden;
    const uint64_t in0 = (uint64_t)cfg->context * e;
    uint64_t n = v * e + in0 * h + h + v * h + v;
    if (cfg->layers > 1)
        n += (uint64_t)(cfg->layers - 1) * (h * h + h);
    return n;
}

double
train_step_flops(const TrainConfig *cfg)
{
    /* Each linear layer of i inputs and o outputs costs b*i*o multiply-adds forwards, and as
     * many twice backwards (input gradient, weight gradient); the first layer's input gradient
     * is computed too, as it feeds the embeddings. Element-wise work is not counted. */
    const double b = cfg->batch, h = cfg->hidden, v = cfg->vocab;
    const double in0 = (double)cfg->context * (double)cfg->embed;
    const double macs = in0 * h + (double)(cfg->layers - 1) * h * h + h * v;
    return 6.0 * b * macs;
}

float
train_lr_at(const TrainConfig *cfg, uint64_t step)
{
    const double lr_max = cfg->lr_max, lr_min = cfg->lr_min;
    if (step < cfg->warmup_steps)
        return (float)(lr_max * (double)(step + 1) / (double)cfg->warmup_steps);
    /* Cosine from lr_max at the first step after the warmup to lr_min at the last step of the
     * schedule (total_steps - 1), and lr_min beyond it. */
    const uint64_t last = cfg->total_steps > 0 ? cfg->total_steps - 1 : 0;
    if (step >= last)
        return cfg->lr_min;
    /* Here warmup_steps <= step < last. */
    const double p = (double)(step - cfg->warmup_steps) / (double)(last - cfg->warmup_steps);
    return (float)(lr_min + 0.5 * (lr_max - lr_min) * (1.0 + cos(G_PI * p)));
}

void
train_adam_corrections(const TrainConfig *cfg, uint64_t t, float *bc1, float *bc2)
{
    *bc1 = (float)(1.0 - pow((double)cfg->beta1, (double)t));
    *bc2 = (float)(1.0 - pow((double)cfg->beta2, (double)t));
}

/* Uniform values with standard deviation @std: (2u - 1) * sqrt(3) * std. Uniform rather than
 * normal so that no libm function (log, cos) enters: sqrt is correctly rounded everywhere, so
 * the initial parameters are bit-identical on every machine. */
static void
fill_uniform(SimRng *rng, float *out, uint64_t n, double std)
{
    const double a = sqrt(3.0) * std;
    for (uint64_t i = 0; i < n; i++)
        out[i] = (float)((2.0 * sim_rng_double(rng) - 1.0) * a);
}

void
train_init_params(const TrainConfig *cfg, float *params)
{
    g_autofree TrainParamGroup *groups = g_new(TrainParamGroup, TRAIN_PARAM_GROUPS(cfg->layers));
    const uint32_t n = train_param_groups(cfg, groups);
    SimRng root;
    sim_rng_init(&root, cfg->seed);
    for (uint32_t i = 0; i < n; i++) {
        const TrainParamGroup *g = &groups[i];
        float *p = params + g->offset;
        /* Each tensor draws from its own stream (its index + 1), so that its values depend on
         * the seed and its own shape only. */
        SimRng rng;
        sim_rng_split(&root, i + 1, &rng);
        if (g->rows == 1) {
            memset(p, 0, g->count * sizeof *p); /* biases */
        } else if (i == 0) {
            fill_uniform(&rng, p, g->count, 1.0); /* embeddings: unit variance inputs */
        } else if (i == n - 2) {
            /* The output layer starts small, so the first loss is close to log(vocab). */
            fill_uniform(&rng, p, g->count, 0.1 / sqrt((double)g->cols));
        } else if (i == 1) {
            fill_uniform(&rng, p, g->count, 1.0 / sqrt((double)g->cols));
        } else {
            /* Residual branches are scaled by 1/sqrt(layers) so that the hidden state grows by
             * a bounded factor over the depth rather than geometrically. */
            fill_uniform(&rng, p, g->count,
                         1.0 / sqrt((double)g->cols) / sqrt((double)cfg->layers));
        }
    }
}

int
train_check_tokens(const TrainConfig *cfg, const uint8_t *tokens, size_t n, size_t width,
                   size_t stride, char *err, size_t errlen)
{
    for (size_t r = 0; r < n; r++) {
        for (size_t c = 0; c < width; c++) {
            if (tokens[r * stride + c] >= cfg->vocab) {
                snprintf(err, errlen, "token %u at row %zu, position %zu is not below vocab %u",
                         (unsigned)tokens[r * stride + c], r, c, cfg->vocab);
                return -1;
            }
        }
    }
    return 0;
}

int
train_check_step(const TrainConfig *cfg, const char *backend, const uint8_t *tokens, uint64_t t,
                 char *err, size_t errlen)
{
    if (t == 0) {
        snprintf(err, errlen, "%s: the Adam step count is 1-based, got 0", backend);
        return -1;
    }
    const size_t stride = (size_t)cfg->context + 1;
    return train_check_tokens(cfg, tokens, cfg->batch, stride, stride, err, errlen);
}
