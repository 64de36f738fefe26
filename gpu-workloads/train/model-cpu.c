/* spotlab workloads: the C reference path of the training model (train_backend_cpu, model.h).
 *
 * Single-threaded and deterministic: every sum is taken in a fixed order (matrix products over
 * the inner index in ascending order, bias gradients and embedding gradients over the batch
 * in ascending order), the project builds without -ffast-math and, in ISO C mode, without
 * floating-point contraction, so a run is bit-identical from one run to the next. The CUDA path
 * (model-cuda.cu) does the same arithmetic with the same formulas; only the order of the sums
 * inside cuBLAS and the last bits of tanhf/expf/logf differ.
 *
 * Matrix products go through one kernel, C += A B (row-major): blocks of B are packed into
 * 16-column panels and each 16-wide tile of a row of C is kept in four 4-float registers while
 * its products are added in ascending order of the inner index. The vectors only run four
 * columns side by side; no sum is split or reordered, so the result is the one of the plain
 * i-k-j loop, bit for bit, at any blocking. The products of the forward pass and of the weight
 * gradients read a transposed copy of the (small) activations so that they take this form.
 * About 15 GFLOP/s on one core of a recent Xeon (SSE2 as compiled: no FMA, no -march).
 */
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gelu.h"
#include "model.h"

struct TrainModel {
    TrainConfig cfg;
    TrainParamGroup *groups; /* TRAIN_PARAM_GROUPS(layers) */
    uint32_t n_groups;
    uint64_t n_params;
    size_t in0; /* context * embed */
    float *params, *grads, *m, *v;
    /* Activations of one batch (cfg.batch rows). */
    float *x0;     /* batch x in0: the concatenated embeddings */
    float *z;      /* layers x batch x hidden: pre-activations */
    float *h;      /* layers x batch x hidden: hidden states */
    float *logits; /* batch x vocab; holds their gradient after the loss */
    float *dh;     /* batch x hidden: gradient of the current hidden state */
    float *dz;     /* batch x hidden: gradient of a pre-activation */
    float *tmp;    /* batch x hidden: the branch's share of the residual gradient */
    float *dx0;    /* batch x in0: gradient of the embeddings of the batch */
    float *tr_in;  /* max(in0, hidden) x batch: a transposed input */
    float *tr_out; /* max(hidden, vocab) x batch: a transposed output or output gradient */
    float *pack;   /* GEMM_KB x GEMM_NB: a block of a matrix product's right operand */
};

/* ---- Matrix kernels ---- */

enum {
    GEMM_TILE = 16, /* columns of C a tile keeps in registers */
    GEMM_NB = 256,  /* columns of C per block */
    GEMM_KB = 256,  /* inner indices per block: a KB x NB block of B is 256 KiB */
};

/* Four floats, added and multiplied element by element with the IEEE single-precision
 * operations of the scalar code (GCC and Clang vector extension): a tile of C lives in
 * registers over the k products without any change to what is added in which order. */
typedef float Vec4 __attribute__((vector_size(16)));

static inline Vec4
vec4_load(const float *p)
{
    Vec4 v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* c[0..TILE) += sum over p < k, ascending, of a[p] * b[p * TILE + 0..TILE) (a packed panel
 * of B: TILE consecutive floats per p). */
static inline void
gemm_tile(size_t k, const float *restrict a, const float *restrict b, float *restrict c)
{
    Vec4 c0 = vec4_load(c), c1 = vec4_load(c + 4), c2 = vec4_load(c + 8), c3 = vec4_load(c + 12);
    for (size_t p = 0; p < k; p++) {
        const Vec4 ap = {a[p], a[p], a[p], a[p]};
        const float *bp = b + p * GEMM_TILE;
        c0 += ap * vec4_load(bp);
        c1 += ap * vec4_load(bp + 4);
        c2 += ap * vec4_load(bp + 8);
        c3 += ap * vec4_load(bp + 12);
    }
    memcpy(c, &c0, sizeof c0);
    memcpy(c + 4, &c1, sizeof c1);
    memcpy(c + 8, &c2, sizeof c2);
    memcpy(c + 12, &c3, sizeof c3);
}

/* The columns left over after the tiles, the same sums in the same order. */
static inline void
gemm_edge(size_t k, size_t n, const float *restrict a, const float *restrict b, size_t ldb,
          float *restrict c)
{
    for (size_t p = 0; p < k; p++) {
        for (size_t u = 0; u < n; u++)
            c[u] += a[p] * b[p * ldb + u];
    }
}

/* C (m x n, leading dimension ldc) += A (m x k, lda) B (k x n, ldb), all row-major. Each
 * element of C accumulates its k products in ascending order of k, whatever the blocking:
 * blocks of k are taken in ascending order, outside the loops over C. A block of B is first
 * copied into @pack (GEMM_KB x GEMM_NB floats) panel by panel, so that a tile reads
 * consecutive memory rather than rows a power of two apart, which share cache sets. */
static void
gemm_acc(size_t m, size_t n, size_t k, const float *restrict a, size_t lda, const float *restrict b,
         size_t ldb, float *restrict c, size_t ldc, float *restrict pack)
{
    for (size_t j0 = 0; j0 < n; j0 += GEMM_NB) {
        const size_t nb = MIN((size_t)GEMM_NB, n - j0);
        const size_t tiled = nb - nb % GEMM_TILE;
        for (size_t p0 = 0; p0 < k; p0 += GEMM_KB) {
            const size_t kb = MIN((size_t)GEMM_KB, k - p0);
            const float *bblock = b + p0 * ldb + j0;
            for (size_t j = 0; j < tiled; j += GEMM_TILE) {
                for (size_t p = 0; p < kb; p++)
                    memcpy(pack + j * kb + p * GEMM_TILE, bblock + p * ldb + j,
                           GEMM_TILE * sizeof(float));
            }
            for (size_t i = 0; i < m; i++) {
                const float *arow = a + i * lda + p0;
                float *crow = c + i * ldc + j0;
                for (size_t j = 0; j < tiled; j += GEMM_TILE)
                    gemm_tile(kb, arow, pack + j * kb, crow + j);
                if (tiled < nb)
                    gemm_edge(kb, nb - tiled, arow, bblock + tiled, ldb, crow + tiled);
            }
        }
    }
}

/* dst (cols x rows) = src (rows x cols) transposed, in 32 x 32 tiles. */
static void
transpose(size_t rows, size_t cols, const float *restrict src, float *restrict dst)
{
    for (size_t r0 = 0; r0 < rows; r0 += 32) {
        for (size_t c0 = 0; c0 < cols; c0 += 32) {
            const size_t r1 = MIN(rows, r0 + 32), c1 = MIN(cols, c0 + 32);
            for (size_t r = r0; r < r1; r++) {
                for (size_t c = c0; c < c1; c++)
                    dst[c * rows + r] = src[r * cols + c];
            }
        }
    }
}

/* y (n x out) = x (n x in) W^T + bias, with W out x in. */
static void
linear_forward(TrainModel *model, size_t n, size_t in, size_t out, const float *x, const float *w,
               const float *bias, float *y)
{
    float *xt = model->tr_in, *yt = model->tr_out;
    transpose(n, in, x, xt);
    memset(yt, 0, out * n * sizeof *yt);
    gemm_acc(out, n, in, w, in, xt, n, yt, n, model->pack); /* y^T = W x^T */
    for (size_t r = 0; r < n; r++) {
        for (size_t o = 0; o < out; o++)
            y[r * out + o] = yt[o * n + r] + bias[o];
    }
}

/* From dy (n x out): dW = dy^T x, db = column sums of dy, and dx = dy W when @dx is not NULL. */
static void
linear_backward(TrainModel *model, size_t n, size_t in, size_t out, const float *x, const float *w,
                const float *dy, float *dw, float *db, float *dx)
{
    float *dyt = model->tr_out;
    transpose(n, out, dy, dyt);
    memset(dw, 0, out * in * sizeof *dw);
    gemm_acc(out, in, n, dyt, n, x, in, dw, in, model->pack);
    memset(db, 0, out * sizeof *db);
    for (size_t r = 0; r < n; r++) {
        for (size_t o = 0; o < out; o++)
            db[o] += dy[r * out + o];
    }
    if (dx != NULL) {
        memset(dx, 0, n * in * sizeof *dx);
        gemm_acc(n, in, out, dy, out, w, in, dx, in, model->pack);
    }
}

/* ---- The model ---- */

static float *
param_of(const TrainModel *model, float *base, uint32_t group)
{
    return base + model->groups[group].offset;
}

/* Forward pass of @n (<= batch) windows whose tokens start every @stride bytes; leaves the
 * logits in model->logits. */
static void
forward(TrainModel *model, const uint8_t *tokens, size_t stride, size_t n)
{
    const TrainConfig *cfg = &model->cfg;
    const size_t e = cfg->embed, hid = cfg->hidden, v = cfg->vocab, in0 = model->in0;
    const float *emb = param_of(model, model->params, 0);
    for (size_t r = 0; r < n; r++) {
        for (size_t c = 0; c < cfg->context; c++)
            memcpy(model->x0 + r * in0 + c * e, emb + (size_t)tokens[r * stride + c] * e,
                   e * sizeof(float));
    }
    const float *in = model->x0;
    size_t width = in0;
    for (uint32_t l = 0; l < cfg->layers; l++) {
        float *z = model->z + (size_t)l * cfg->batch * hid;
        float *h = model->h + (size_t)l * cfg->batch * hid;
        linear_forward(model, n, width, hid, in, param_of(model, model->params, 1 + 2 * l),
                       param_of(model, model->params, 2 + 2 * l), z);
        for (size_t i = 0; i < n * hid; i++)
            h[i] = l == 0 ? train_gelu(z[i]) : in[i] + train_gelu(z[i]);
        in = h;
        width = hid;
    }
    const uint32_t out = model->n_groups - 2;
    linear_forward(model, n, hid, v, in, param_of(model, model->params, out),
                   param_of(model, model->params, out + 1), model->logits);
}

/* Mean cross-entropy of the batch; replaces the logits by the gradient of that mean. */
static float
softmax_cross_entropy(TrainModel *model, const uint8_t *tokens)
{
    const TrainConfig *cfg = &model->cfg;
    const size_t v = cfg->vocab, stride = (size_t)cfg->context + 1;
    const float rows = (float)cfg->batch;
    float total = 0.0f;
    for (size_t r = 0; r < cfg->batch; r++) {
        float *row = model->logits + r * v;
        const size_t target = tokens[r * stride + cfg->context];
        float mx = row[0];
        for (size_t j = 1; j < v; j++)
            mx = row[j] > mx ? row[j] : mx;
        const float x_target = row[target];
        float sum = 0.0f;
        for (size_t j = 0; j < v; j++) {
            row[j] = expf(row[j] - mx);
            sum += row[j];
        }
        total += (mx + logf(sum)) - x_target;
        for (size_t j = 0; j < v; j++)
            row[j] = (row[j] / sum - (j == target ? 1.0f : 0.0f)) / rows;
    }
    return total / rows;
}

static void
backward(TrainModel *model, const uint8_t *tokens)
{
    const TrainConfig *cfg = &model->cfg;
    const size_t n = cfg->batch, e = cfg->embed, hid = cfg->hidden, v = cfg->vocab;
    const size_t in0 = model->in0, stride = (size_t)cfg->context + 1;
    const uint32_t out = model->n_groups - 2;
    const float *h_last = model->h + (size_t)(cfg->layers - 1) * n * hid;
    linear_backward(model, n, hid, v, h_last, param_of(model, model->params, out), model->logits,
                    param_of(model, model->grads, out), param_of(model, model->grads, out + 1),
                    model->dh);
    for (uint32_t l = cfg->layers; l-- > 0;) {
        const float *z = model->z + (size_t)l * n * hid;
        for (size_t i = 0; i < n * hid; i++)
            model->dz[i] = model->dh[i] * train_gelu_grad(z[i]);
        const float *in = l == 0 ? model->x0 : model->h + (size_t)(l - 1) * n * hid;
        const size_t width = l == 0 ? in0 : hid;
        float *dx = l == 0 ? model->dx0 : model->tmp;
        linear_backward(model, n, width, hid, in, param_of(model, model->params, 1 + 2 * l),
                        model->dz, param_of(model, model->grads, 1 + 2 * l),
                        param_of(model, model->grads, 2 + 2 * l), dx);
        /* The residual: the gradient reaches the layer's input directly and through the
         * branch; the branch's share is summed first and added once, as cuBLAS does with
         * beta = 1. */
        if (l > 0) {
            for (size_t i = 0; i < n * hid; i++)
                model->dh[i] += model->tmp[i];
        }
    }
    /* Embedding gradients: positions in ascending order (row, then context slot). */
    float *demb = param_of(model, model->grads, 0);
    memset(demb, 0, (size_t)v * e * sizeof *demb);
    for (size_t r = 0; r < n; r++) {
        for (size_t c = 0; c < cfg->context; c++) {
            float *dst = demb + (size_t)tokens[r * stride + c] * e;
            const float *src = model->dx0 + r * in0 + c * e;
            for (size_t i = 0; i < e; i++)
                dst[i] += src[i];
        }
    }
}

static void
adamw(TrainModel *model, uint64_t t, float lr)
{
    const TrainConfig *cfg = &model->cfg;
    float bc1, bc2;
    train_adam_corrections(cfg, t, &bc1, &bc2);
    const float b1 = cfg->beta1, b2 = cfg->beta2, eps = cfg->eps;
    for (uint32_t gi = 0; gi < model->n_groups; gi++) {
        const TrainParamGroup *grp = &model->groups[gi];
        const float wd = grp->decay ? cfg->weight_decay : 0.0f;
        float *p = model->params + grp->offset, *m = model->m + grp->offset;
        float *v = model->v + grp->offset;
        const float *g = model->grads + grp->offset;
        for (uint64_t i = 0; i < grp->count; i++) {
            const float gr = g[i];
            const float mi = b1 * m[i] + (1.0f - b1) * gr;
            const float vi = b2 * v[i] + (1.0f - b2) * gr * gr;
            m[i] = mi;
            v[i] = vi;
            const float mhat = mi / bc1, vhat = vi / bc2;
            p[i] -= lr * (mhat / (sqrtf(vhat) + eps) + wd * p[i]);
        }
    }
}

/* ---- The backend table ---- */

static void
cpu_destroy(TrainModel *model)
{
    if (model == NULL)
        return;
    g_free(model->groups);
    g_free(model->params);
    g_free(model->grads);
    g_free(model->m);
    g_free(model->v);
    g_free(model->x0);
    g_free(model->z);
    g_free(model->h);
    g_free(model->logits);
    g_free(model->dh);
    g_free(model->dz);
    g_free(model->tmp);
    g_free(model->dx0);
    g_free(model->tr_in);
    g_free(model->tr_out);
    g_free(model->pack);
    g_free(model);
}

/* Allocates @count floats, zeroed; FALSE (with a message) when the memory is not there. */
static gboolean
alloc_floats(float **out, uint64_t count, const char *what, char *err, size_t errlen)
{
    *out = g_try_malloc0_n((gsize)MAX(count, 1), sizeof(float));
    if (*out == NULL) {
        snprintf(err, errlen, "cpu: out of memory allocating %s (%" G_GUINT64_FORMAT " bytes)",
                 what, count * (uint64_t)sizeof(float));
        return FALSE;
    }
    return TRUE;
}

static TrainModel *
cpu_create(const TrainConfig *cfg, const float *params, char *err, size_t errlen)
{
    if (cfg->vocab != TRAIN_VOCAB || cfg->context == 0 || cfg->embed == 0 || cfg->hidden == 0 ||
        cfg->layers == 0 || cfg->batch == 0) {
        snprintf(err, errlen,
                 "cpu: config %s is not a model (vocab must be %d, sizes positive; "
                 "train_config_validate says which field)",
                 cfg->name, TRAIN_VOCAB);
        return NULL;
    }
    TrainModel *model = g_new0(TrainModel, 1);
    model->cfg = *cfg;
    model->groups = g_new0(TrainParamGroup, TRAIN_PARAM_GROUPS(cfg->layers));
    model->n_groups = train_param_groups(cfg, model->groups);
    model->n_params = train_param_count(cfg);
    model->in0 = (size_t)cfg->context * cfg->embed;
    const uint64_t n = cfg->batch, hid = cfg->hidden, v = cfg->vocab, in0 = model->in0;
    if (!alloc_floats(&model->params, model->n_params, "parameters", err, errlen) ||
        !alloc_floats(&model->grads, model->n_params, "gradients", err, errlen) ||
        !alloc_floats(&model->m, model->n_params, "first moments", err, errlen) ||
        !alloc_floats(&model->v, model->n_params, "second moments", err, errlen) ||
        !alloc_floats(&model->x0, n * in0, "activations", err, errlen) ||
        !alloc_floats(&model->z, cfg->layers * n * hid, "activations", err, errlen) ||
        !alloc_floats(&model->h, cfg->layers * n * hid, "activations", err, errlen) ||
        !alloc_floats(&model->logits, n * v, "activations", err, errlen) ||
        !alloc_floats(&model->dh, n * hid, "activations", err, errlen) ||
        !alloc_floats(&model->dz, n * hid, "activations", err, errlen) ||
        !alloc_floats(&model->tmp, n * hid, "activations", err, errlen) ||
        !alloc_floats(&model->dx0, n * in0, "activations", err, errlen) ||
        !alloc_floats(&model->tr_in, n * MAX(in0, hid), "activations", err, errlen) ||
        !alloc_floats(&model->tr_out, n * MAX(hid, v), "activations", err, errlen) ||
        !alloc_floats(&model->pack, (uint64_t)GEMM_KB * GEMM_NB, "scratch", err, errlen)) {
        cpu_destroy(model);
        return NULL;
    }
    memcpy(model->params, params, model->n_params * sizeof(float));
    return model;
}

static int
cpu_step(TrainModel *model, const uint8_t *tokens, uint64_t t, float lr, float *loss, char *err,
         size_t errlen)
{
    const TrainConfig *cfg = &model->cfg;
    if (train_check_step(cfg, "cpu", tokens, t, err, errlen) != 0)
        return -1;
    const size_t stride = (size_t)cfg->context + 1;
    forward(model, tokens, stride, cfg->batch);
    *loss = softmax_cross_entropy(model, tokens);
    backward(model, tokens);
    adamw(model, t, lr);
    return 0;
}

static int
cpu_get_state(TrainModel *model, float *params, float *m, float *v, char *err, size_t errlen)
{
    const size_t bytes = model->n_params * sizeof(float);
    if (params != NULL)
        memcpy(params, model->params, bytes);
    if (m != NULL)
        memcpy(m, model->m, bytes);
    if (v != NULL)
        memcpy(v, model->v, bytes);
    return 0;
}

static int
cpu_set_state(TrainModel *model, const float *params, const float *m, const float *v, char *err,
              size_t errlen)
{
    const size_t bytes = model->n_params * sizeof(float);
    memcpy(model->params, params, bytes);
    if (m != NULL)
        memcpy(model->m, m, bytes);
    else
        memset(model->m, 0, bytes);
    if (v != NULL)
        memcpy(model->v, v, bytes);
    else
        memset(model->v, 0, bytes);
    return 0;
}

static int
cpu_predict(TrainModel *model, const uint8_t *contexts, uint32_t n, float *logits, char *err,
            size_t errlen)
{
    const TrainConfig *cfg = &model->cfg;
    if (train_check_tokens(cfg, contexts, n, cfg->context, cfg->context, err, errlen) != 0)
        return -1;
    for (uint32_t r0 = 0; r0 < n; r0 += cfg->batch) {
        const size_t rows = MIN(cfg->batch, n - r0);
        forward(model, contexts + (size_t)r0 * cfg->context, cfg->context, rows);
        memcpy(logits + (size_t)r0 * cfg->vocab, model->logits, rows * cfg->vocab * sizeof(float));
    }
    return 0;
}

const TrainBackend train_backend_cpu = {
    .name = "cpu",
    .create = cpu_create,
    .destroy = cpu_destroy,
    .step = cpu_step,
    .get_state = cpu_get_state,
    .set_state = cpu_set_state,
    .predict = cpu_predict,
};
