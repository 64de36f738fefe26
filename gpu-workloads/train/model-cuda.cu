/* spotlab workloads: the CUDA path of the training model (train_backend_cuda, model.h).
 *
 * The same arithmetic as the C reference path (model-cpu.c), on the GPU:
 *   - matrix products with cublasSgemm in FP32 (CUBLAS_DEFAULT_MATH: no TF32 tensor-op
 *     downconversion); row-major arrays are handed to column-major cuBLAS as their transposes;
 *   - small kernels for the rest, written with the same expressions in the same order as the C
 *     path and compiled with -fmad=false (meson.build), so that they round as it does: bias and
 *     GELU, the GELU derivative, a softmax cross-entropy with the row maximum subtracted, column
 *     sums for the bias gradients, the embedding gather and scatter-add, and a fused AdamW;
 *   - no float atomics: every sum has one thread that adds its terms in the C path's order
 *     (bias gradients and embedding gradients over the batch in ascending order, the batch
 *     loss over its rows), so a run is deterministic on a given GPU, toolkit and library.
 * What differs from the C path is the order of the sums inside cuBLAS and the last bits of
 * tanhf, expf and logf; spotlab-gpu-check measures the effect (gpu-check.c).
 *
 * Errors are converted here, at the border, with cudaGetErrorString and the cuBLAS status name
 * and string, into the caller's err buffer. A kernel fault surfaces at the next synchronising
 * call (the loss copy of the same step) and leaves the CUDA context unusable: destroy the model.
 *
 * Every step synchronises once, to copy the loss back; everything else is queued on the
 * model's own stream.
 */
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gelu.h"
#include "model.h"

struct TrainModel {
    TrainConfig cfg;
    TrainParamGroup *groups; /* host: TRAIN_PARAM_GROUPS(layers) */
    uint32_t n_groups;
    uint64_t n_params;
    size_t in0; /* context * embed */
    cudaStream_t stream;
    cublasHandle_t blas;
    /* Device memory, as in model-cpu.c. */
    float *params, *grads, *m, *v;
    float *x0;       /* batch x in0 */
    float *z;        /* layers x batch x hidden */
    float *h;        /* layers x batch x hidden */
    float *logits;   /* batch x vocab; their gradient after the loss */
    float *dh;       /* batch x hidden */
    float *dz;       /* batch x hidden */
    float *tmp;      /* batch x hidden */
    float *dx0;      /* batch x in0 */
    float *row_loss; /* batch */
    float *loss;     /* 1 */
    uint8_t *tokens; /* batch x (context + 1) */
};

/* ---- Errors ---- */

static int
fail_cuda(char *err, size_t errlen, const char *what, cudaError_t e)
{
    snprintf(err, errlen, "cuda: %s: %s (%s)", what, cudaGetErrorString(e), cudaGetErrorName(e));
    return -1;
}

static int
fail_blas(char *err, size_t errlen, const char *what, cublasStatus_t s)
{
    snprintf(err, errlen, "cuda: %s: %s (%s)", what, cublasGetStatusString(s),
             cublasGetStatusName(s));
    return -1;
}

#define CUDA_TRY(call, what)                                                                       \
    do {                                                                                           \
        const cudaError_t e_ = (call);                                                             \
        if (e_ != cudaSuccess)                                                                     \
            return fail_cuda(err, errlen, what, e_);                                               \
    } while (0)

#define BLAS_TRY(call, what)                                                                       \
    do {                                                                                           \
        const cublasStatus_t s_ = (call);                                                          \
        if (s_ != CUBLAS_STATUS_SUCCESS)                                                           \
            return fail_blas(err, errlen, what, s_);                                               \
    } while (0)

/* After a kernel launch: a bad launch configuration is reported at once. */
#define LAUNCHED(what) CUDA_TRY(cudaGetLastError(), what)

/* ---- Kernels ---- */

enum { THREADS = 256 };

/* Blocks for @n elements at THREADS a block; the kernels stride over the grid, so a cap only
 * trades blocks for iterations. */
static unsigned int
blocks_for(size_t n)
{
    size_t b = (n + THREADS - 1) / THREADS;
    if (b > (size_t)1 << 20)
        b = (size_t)1 << 20;
    return b == 0 ? 1u : (unsigned int)b;
}

#define GRID_STRIDE(i, n)                                                                          \
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n);                        \
         i += (size_t)gridDim.x * blockDim.x)

/* x0[r][c * embed + e] = emb[tokens[r * stride + c]][e] */
static __global__ void
k_embed_gather(const uint8_t *__restrict__ tokens, size_t stride, uint32_t n, uint32_t context,
               uint32_t embed, const float *__restrict__ emb, float *__restrict__ x0)
{
    const size_t total = (size_t)n * context * embed;
    GRID_STRIDE(i, total)
    {
        const size_t e = i % embed, rc = i / embed;
        const size_t c = rc % context, r = rc / context;
        x0[i] = emb[(size_t)tokens[r * stride + c] * embed + e];
    }
}

/* demb[t][e] = sum of dx0[r][c * embed + e] over the positions (r, c) holding token t, in
 * ascending (r, c) order: one thread per (t, e), no atomics. */
static __global__ void
k_embed_scatter(const uint8_t *__restrict__ tokens, size_t stride, uint32_t n, uint32_t context,
                uint32_t embed, uint32_t vocab, const float *__restrict__ dx0,
                float *__restrict__ demb)
{
    const size_t total = (size_t)vocab * embed;
    GRID_STRIDE(i, total)
    {
        const uint32_t t = (uint32_t)(i / embed);
        const size_t e = i % embed;
        float acc = 0.0f;
        for (size_t r = 0; r < n; r++) {
            for (size_t c = 0; c < context; c++) {
                if (tokens[r * stride + c] == t)
                    acc += dx0[(r * context + c) * embed + e];
            }
        }
        demb[i] = acc;
    }
}

/* z += bias (per column); h = gelu(z), plus h_prev for a residual layer. */
static __global__ void
k_bias_gelu(uint32_t n, uint32_t width, const float *__restrict__ bias, float *__restrict__ z,
            const float *__restrict__ h_prev, float *__restrict__ h)
{
    const size_t total = (size_t)n * width;
    GRID_STRIDE(i, total)
    {
        const float zi = z[i] + bias[i % width];
        z[i] = zi;
        h[i] = h_prev != NULL ? h_prev[i] + train_gelu(zi) : train_gelu(zi);
    }
}

static __global__ void
k_bias_add(uint32_t n, uint32_t width, const float *__restrict__ bias, float *__restrict__ y)
{
    const size_t total = (size_t)n * width;
    GRID_STRIDE(i, total)
    {
        y[i] = y[i] + bias[i % width];
    }
}

/* One thread per row: the row's loss, and the logits replaced by the gradient of the mean. */
static __global__ void
k_softmax_xent(uint32_t n, uint32_t vocab, const uint8_t *__restrict__ tokens, size_t stride,
               uint32_t context, float *__restrict__ logits, float *__restrict__ row_loss)
{
    const size_t r = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= n)
        return;
    float *row = logits + r * vocab;
    const uint32_t target = tokens[r * stride + context];
    float mx = row[0];
    for (uint32_t j = 1; j < vocab; j++)
        mx = row[j] > mx ? row[j] : mx;
    const float x_target = row[target];
    float sum = 0.0f;
    for (uint32_t j = 0; j < vocab; j++) {
        row[j] = expf(row[j] - mx);
        sum += row[j];
    }
    row_loss[r] = (mx + logf(sum)) - x_target;
    const float rows = (float)n;
    for (uint32_t j = 0; j < vocab; j++)
        row[j] = (row[j] / sum - (j == target ? 1.0f : 0.0f)) / rows;
}

/* The batch mean, rows added in order by one thread. */
static __global__ void
k_mean_loss(uint32_t n, const float *__restrict__ row_loss, float *__restrict__ loss)
{
    if (blockIdx.x != 0 || threadIdx.x != 0)
        return;
    float total = 0.0f;
    for (uint32_t r = 0; r < n; r++)
        total += row_loss[r];
    *loss = total / (float)n;
}

/* db[j] = sum over rows r (ascending) of dy[r][j]. */
static __global__ void
k_colsum(uint32_t n, uint32_t width, const float *__restrict__ dy, float *__restrict__ db)
{
    GRID_STRIDE(j, (size_t)width)
    {
        float acc = 0.0f;
        for (size_t r = 0; r < n; r++)
            acc += dy[r * width + j];
        db[j] = acc;
    }
}

static __global__ void
k_gelu_backward(size_t total, const float *__restrict__ dh, const float *__restrict__ z,
                float *__restrict__ dz)
{
    GRID_STRIDE(i, total)
    {
        dz[i] = dh[i] * train_gelu_grad(z[i]);
    }
}

static __global__ void
k_add(size_t total, float *__restrict__ y, const float *__restrict__ x)
{
    GRID_STRIDE(i, total)
    {
        y[i] += x[i];
    }
}

static __global__ void
k_adamw(size_t n, float *__restrict__ p, const float *__restrict__ g, float *__restrict__ m,
        float *__restrict__ v, float lr, float b1, float b2, float bc1, float bc2, float eps,
        float wd)
{
    GRID_STRIDE(i, n)
    {
        const float gr = g[i];
        const float mi = b1 * m[i] + (1.0f - b1) * gr;
        const float vi = b2 * v[i] + (1.0f - b2) * gr * gr;
        m[i] = mi;
        v[i] = vi;
        const float mhat = mi / bc1, vhat = vi / bc2;
        p[i] -= lr * (mhat / (sqrtf(vhat) + eps) + wd * p[i]);
    }
}

/* ---- Matrix products ----
 *
 * A row-major r x c array is, to column-major cuBLAS, its c x r transpose with leading
 * dimension c. With x (n x in), W (out x in), y and dy (n x out), all row-major:
 *   y  = x W^T   is  y^T (out x n)  = op_T(W as in x out) * (x^T as in x n)
 *   dW = dy^T x  is  dW^T (in x out) = (x^T as in x n) * op_T(dy^T as out x n)
 *   dx = dy W    is  dx^T (in x n)  = (W^T as in x out) * (dy^T as out x n)
 */

static const float one_f = 1.0f, zero_f = 0.0f;

static cublasStatus_t
gemm_forward(TrainModel *model, int n, int in, int out, const float *x, const float *w, float *y)
{
    return cublasSgemm(model->blas, CUBLAS_OP_T, CUBLAS_OP_N, out, n, in, &one_f, w, in, x, in,
                       &zero_f, y, out);
}

static cublasStatus_t
gemm_weight_grad(TrainModel *model, int n, int in, int out, const float *x, const float *dy,
                 float *dw)
{
    return cublasSgemm(model->blas, CUBLAS_OP_N, CUBLAS_OP_T, in, out, n, &one_f, x, in, dy, out,
                       &zero_f, dw, in);
}

static cublasStatus_t
gemm_input_grad(TrainModel *model, int n, int in, int out, const float *dy, const float *w,
                float *dx)
{
    return cublasSgemm(model->blas, CUBLAS_OP_N, CUBLAS_OP_N, in, n, out, &one_f, w, in, dy, out,
                       &zero_f, dx, in);
}

/* ---- The model ---- */

static float *
param_of(const TrainModel *model, float *base, uint32_t group)
{
    return base + model->groups[group].offset;
}

/* Forward pass of @n (<= batch) windows already in model->tokens, @stride bytes apart. */
static int
forward(TrainModel *model, size_t stride, uint32_t n, char *err, size_t errlen)
{
    const TrainConfig *cfg = &model->cfg;
    const int hid = (int)cfg->hidden, vocab = (int)cfg->vocab;
    cudaStream_t s = model->stream;
    k_embed_gather<<<blocks_for((size_t)n * model->in0), THREADS, 0, s>>>(
        model->tokens, stride, n, cfg->context, cfg->embed, param_of(model, model->params, 0),
        model->x0);
    LAUNCHED("embedding gather");
    const float *in = model->x0;
    int width = (int)model->in0;
    for (uint32_t l = 0; l < cfg->layers; l++) {
        float *z = model->z + (size_t)l * cfg->batch * cfg->hidden;
        float *h = model->h + (size_t)l * cfg->batch * cfg->hidden;
        BLAS_TRY(gemm_forward(model, (int)n, width, hid, in,
                              param_of(model, model->params, 1 + 2 * l), z),
                 "cublasSgemm (forward)");
        k_bias_gelu<<<blocks_for((size_t)n * cfg->hidden), THREADS, 0, s>>>(
            n, cfg->hidden, param_of(model, model->params, 2 + 2 * l), z, l == 0 ? NULL : in, h);
        LAUNCHED("bias and GELU");
        in = h;
        width = hid;
    }
    const uint32_t out = model->n_groups - 2;
    BLAS_TRY(gemm_forward(model, (int)n, hid, vocab, in, param_of(model, model->params, out),
                          model->logits),
             "cublasSgemm (output layer)");
    k_bias_add<<<blocks_for((size_t)n * cfg->vocab), THREADS, 0, s>>>(
        n, cfg->vocab, param_of(model, model->params, out + 1), model->logits);
    LAUNCHED("output bias");
    return 0;
}

static int
backward(TrainModel *model, char *err, size_t errlen)
{
    const TrainConfig *cfg = &model->cfg;
    const uint32_t n = cfg->batch;
    const int hid = (int)cfg->hidden, vocab = (int)cfg->vocab;
    const size_t stride = (size_t)cfg->context + 1, nh = (size_t)n * cfg->hidden;
    cudaStream_t s = model->stream;
    const uint32_t out = model->n_groups - 2;

    k_softmax_xent<<<(n + 127) / 128, 128, 0, s>>>(n, cfg->vocab, model->tokens, stride,
                                                   cfg->context, model->logits, model->row_loss);
    LAUNCHED("softmax cross-entropy");
    k_mean_loss<<<1, 1, 0, s>>>(n, model->row_loss, model->loss);
    LAUNCHED("mean loss");

    const float *h_last = model->h + (size_t)(cfg->layers - 1) * nh;
    BLAS_TRY(gemm_weight_grad(model, (int)n, hid, vocab, h_last, model->logits,
                              param_of(model, model->grads, out)),
             "cublasSgemm (output weight gradient)");
    k_colsum<<<blocks_for(cfg->vocab), THREADS, 0, s>>>(n, cfg->vocab, model->logits,
                                                        param_of(model, model->grads, out + 1));
    LAUNCHED("output bias gradient");
    BLAS_TRY(gemm_input_grad(model, (int)n, hid, vocab, model->logits,
                             param_of(model, model->params, out), model->dh),
             "cublasSgemm (output input gradient)");

    for (uint32_t l = cfg->layers; l-- > 0;) {
        const float *z = model->z + (size_t)l * nh;
        k_gelu_backward<<<blocks_for(nh), THREADS, 0, s>>>(nh, model->dh, z, model->dz);
        LAUNCHED("GELU gradient");
        const float *in = l == 0 ? model->x0 : model->h + (size_t)(l - 1) * nh;
        const int width = l == 0 ? (int)model->in0 : hid;
        BLAS_TRY(gemm_weight_grad(model, (int)n, width, hid, in, model->dz,
                                  param_of(model, model->grads, 1 + 2 * l)),
                 "cublasSgemm (weight gradient)");
        k_colsum<<<blocks_for(cfg->hidden), THREADS, 0, s>>>(
            n, cfg->hidden, model->dz, param_of(model, model->grads, 2 + 2 * l));
        LAUNCHED("bias gradient");
        /* As in model-cpu.c: the branch's share is summed apart and added once. */
        BLAS_TRY(gemm_input_grad(model, (int)n, width, hid, model->dz,
                                 param_of(model, model->params, 1 + 2 * l),
                                 l == 0 ? model->dx0 : model->tmp),
                 "cublasSgemm (input gradient)");
        if (l > 0) {
            k_add<<<blocks_for(nh), THREADS, 0, s>>>(nh, model->dh, model->tmp);
            LAUNCHED("residual gradient");
        }
    }
    k_embed_scatter<<<blocks_for((size_t)cfg->vocab * cfg->embed), THREADS, 0, s>>>(
        model->tokens, stride, n, cfg->context, cfg->embed, cfg->vocab, model->dx0,
        param_of(model, model->grads, 0));
    LAUNCHED("embedding gradient");
    return 0;
}

static int
adamw(TrainModel *model, uint64_t t, float lr, char *err, size_t errlen)
{
    const TrainConfig *cfg = &model->cfg;
    float bc1, bc2;
    train_adam_corrections(cfg, t, &bc1, &bc2);
    for (uint32_t gi = 0; gi < model->n_groups; gi++) {
        const TrainParamGroup *grp = &model->groups[gi];
        const float wd = grp->decay ? cfg->weight_decay : 0.0f;
        k_adamw<<<blocks_for(grp->count), THREADS, 0, model->stream>>>(
            grp->count, model->params + grp->offset, model->grads + grp->offset,
            model->m + grp->offset, model->v + grp->offset, lr, cfg->beta1, cfg->beta2, bc1, bc2,
            cfg->eps, wd);
        LAUNCHED("AdamW");
    }
    return 0;
}

/* ---- The backend table ---- */

static void
cuda_destroy(TrainModel *model)
{
    if (model == NULL)
        return;
    /* Errors are ignored: there is nothing left to do with them. */
    if (model->stream != NULL)
        (void)cudaStreamSynchronize(model->stream);
    float *bufs[] = {model->params, model->grads, model->m,        model->v,   model->x0,
                     model->z,      model->h,     model->logits,   model->dh,  model->dz,
                     model->tmp,    model->dx0,   model->row_loss, model->loss};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) {
        if (bufs[i] != NULL)
            (void)cudaFree(bufs[i]);
    }
    if (model->tokens != NULL)
        (void)cudaFree(model->tokens);
    if (model->blas != NULL)
        (void)cublasDestroy(model->blas);
    if (model->stream != NULL)
        (void)cudaStreamDestroy(model->stream);
    free(model->groups);
    free(model);
}

static int
alloc_device(void **out, size_t bytes, const char *what, char *err, size_t errlen)
{
    const cudaError_t e = cudaMalloc(out, bytes > 0 ? bytes : 1);
    if (e != cudaSuccess) {
        *out = NULL;
        char where[96];
        snprintf(where, sizeof where, "cudaMalloc of %s (%zu bytes)", what, bytes);
        return fail_cuda(err, errlen, where, e);
    }
    return 0;
}

static int
alloc_floats(float **out, uint64_t count, const char *what, char *err, size_t errlen)
{
    return alloc_device((void **)out, (size_t)count * sizeof(float), what, err, errlen);
}

static int
cuda_setup(TrainModel *model, const float *params, char *err, size_t errlen)
{
    const TrainConfig *cfg = &model->cfg;
    int count = 0;
    const cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess)
        return fail_cuda(err, errlen, "no usable CUDA device: cudaGetDeviceCount", e);
    if (count == 0) {
        snprintf(err, errlen, "cuda: no CUDA device (cudaGetDeviceCount found none)");
        return -1;
    }
    CUDA_TRY(cudaStreamCreate(&model->stream), "cudaStreamCreate");
    BLAS_TRY(cublasCreate(&model->blas), "cublasCreate");
    BLAS_TRY(cublasSetStream(model->blas, model->stream), "cublasSetStream");
    /* FP32 products in FP32: no TF32 tensor-op math, the tolerance of gpu-check.c rests on it. */
    BLAS_TRY(cublasSetMathMode(model->blas, CUBLAS_DEFAULT_MATH), "cublasSetMathMode");

    const uint64_t n = cfg->batch, hid = cfg->hidden, v = cfg->vocab, in0 = model->in0;
    if (alloc_floats(&model->params, model->n_params, "parameters", err, errlen) != 0 ||
        alloc_floats(&model->grads, model->n_params, "gradients", err, errlen) != 0 ||
        alloc_floats(&model->m, model->n_params, "first moments", err, errlen) != 0 ||
        alloc_floats(&model->v, model->n_params, "second moments", err, errlen) != 0 ||
        alloc_floats(&model->x0, n * in0, "activations", err, errlen) != 0 ||
        alloc_floats(&model->z, cfg->layers * n * hid, "activations", err, errlen) != 0 ||
        alloc_floats(&model->h, cfg->layers * n * hid, "activations", err, errlen) != 0 ||
        alloc_floats(&model->logits, n * v, "activations", err, errlen) != 0 ||
        alloc_floats(&model->dh, n * hid, "activations", err, errlen) != 0 ||
        alloc_floats(&model->dz, n * hid, "activations", err, errlen) != 0 ||
        alloc_floats(&model->tmp, n * hid, "activations", err, errlen) != 0 ||
        alloc_floats(&model->dx0, n * in0, "activations", err, errlen) != 0 ||
        alloc_floats(&model->row_loss, n, "losses", err, errlen) != 0 ||
        alloc_floats(&model->loss, 1, "loss", err, errlen) != 0 ||
        alloc_device((void **)&model->tokens, n * (cfg->context + 1), "tokens", err, errlen) != 0)
        return -1;
    const size_t bytes = model->n_params * sizeof(float);
    CUDA_TRY(cudaMemcpyAsync(model->params, params, bytes, cudaMemcpyHostToDevice, model->stream),
             "cudaMemcpy (parameters to the device)");
    CUDA_TRY(cudaMemsetAsync(model->m, 0, bytes, model->stream), "cudaMemset (moments)");
    CUDA_TRY(cudaMemsetAsync(model->v, 0, bytes, model->stream), "cudaMemset (moments)");
    CUDA_TRY(cudaStreamSynchronize(model->stream), "cudaStreamSynchronize (create)");
    return 0;
}

static TrainModel *
cuda_create(const TrainConfig *cfg, const float *params, char *err, size_t errlen)
{
    if (cfg->vocab != TRAIN_VOCAB || cfg->context == 0 || cfg->embed == 0 || cfg->hidden == 0 ||
        cfg->layers == 0 || cfg->batch == 0) {
        snprintf(err, errlen,
                 "cuda: config %s is not a model (vocab must be %d, sizes positive; "
                 "train_config_validate says which field)",
                 cfg->name, TRAIN_VOCAB);
        return NULL;
    }
    TrainModel *model = (TrainModel *)calloc(1, sizeof *model);
    TrainParamGroup *groups =
        (TrainParamGroup *)calloc(TRAIN_PARAM_GROUPS(cfg->layers), sizeof *groups);
    if (model == NULL || groups == NULL) {
        free(model);
        free(groups);
        snprintf(err, errlen, "cuda: out of host memory");
        return NULL;
    }
    model->cfg = *cfg;
    model->groups = groups;
    model->n_groups = train_param_groups(cfg, groups);
    model->n_params = train_param_count(cfg);
    model->in0 = (size_t)cfg->context * cfg->embed;
    if (cuda_setup(model, params, err, errlen) != 0) {
        cuda_destroy(model);
        return NULL;
    }
    return model;
}

static int
cuda_step(TrainModel *model, const uint8_t *tokens, uint64_t t, float lr, float *loss, char *err,
          size_t errlen)
{
    const TrainConfig *cfg = &model->cfg;
    if (train_check_step(cfg, "cuda", tokens, t, err, errlen) != 0)
        return -1;
    const size_t stride = (size_t)cfg->context + 1;
    CUDA_TRY(cudaMemcpyAsync(model->tokens, tokens, (size_t)cfg->batch * stride,
                             cudaMemcpyHostToDevice, model->stream),
             "cudaMemcpy (tokens to the device)");
    if (forward(model, stride, cfg->batch, err, errlen) != 0 || backward(model, err, errlen) != 0 ||
        adamw(model, t, lr, err, errlen) != 0)
        return -1;
    float host_loss = 0.0f;
    CUDA_TRY(cudaMemcpyAsync(&host_loss, model->loss, sizeof host_loss, cudaMemcpyDeviceToHost,
                             model->stream),
             "cudaMemcpy (loss to the host)");
    CUDA_TRY(cudaStreamSynchronize(model->stream), "training step");
    *loss = host_loss;
    return 0;
}

static int
cuda_get_state(TrainModel *model, float *params, float *m, float *v, char *err, size_t errlen)
{
    const size_t bytes = model->n_params * sizeof(float);
    float *dst[] = {params, m, v};
    const float *src[] = {model->params, model->m, model->v};
    for (int i = 0; i < 3; i++) {
        if (dst[i] != NULL)
            CUDA_TRY(cudaMemcpyAsync(dst[i], src[i], bytes, cudaMemcpyDeviceToHost, model->stream),
                     "cudaMemcpy (state to the host)");
    }
    CUDA_TRY(cudaStreamSynchronize(model->stream), "cudaStreamSynchronize (get state)");
    return 0;
}

static int
cuda_set_state(TrainModel *model, const float *params, const float *m, const float *v, char *err,
               size_t errlen)
{
    const size_t bytes = model->n_params * sizeof(float);
    const float *src[] = {params, m, v};
    float *dst[] = {model->params, model->m, model->v};
    for (int i = 0; i < 3; i++) {
        if (src[i] != NULL)
            CUDA_TRY(cudaMemcpyAsync(dst[i], src[i], bytes, cudaMemcpyHostToDevice, model->stream),
                     "cudaMemcpy (state to the device)");
        else
            CUDA_TRY(cudaMemsetAsync(dst[i], 0, bytes, model->stream), "cudaMemset (state)");
    }
    CUDA_TRY(cudaStreamSynchronize(model->stream), "cudaStreamSynchronize (set state)");
    return 0;
}

static int
cuda_predict(TrainModel *model, const uint8_t *contexts, uint32_t n, float *logits, char *err,
             size_t errlen)
{
    const TrainConfig *cfg = &model->cfg;
    if (train_check_tokens(cfg, contexts, n, cfg->context, cfg->context, err, errlen) != 0)
        return -1;
    for (uint32_t r0 = 0; r0 < n; r0 += cfg->batch) {
        const uint32_t rows = n - r0 < cfg->batch ? n - r0 : cfg->batch;
        CUDA_TRY(cudaMemcpyAsync(model->tokens, contexts + (size_t)r0 * cfg->context,
                                 (size_t)rows * cfg->context, cudaMemcpyHostToDevice,
                                 model->stream),
                 "cudaMemcpy (contexts to the device)");
        if (forward(model, cfg->context, rows, err, errlen) != 0)
            return -1;
        CUDA_TRY(cudaMemcpyAsync(logits + (size_t)r0 * cfg->vocab, model->logits,
                                 (size_t)rows * cfg->vocab * sizeof(float), cudaMemcpyDeviceToHost,
                                 model->stream),
                 "cudaMemcpy (logits to the host)");
        /* The next chunk overwrites the tokens and logits. */
        CUDA_TRY(cudaStreamSynchronize(model->stream), "prediction");
    }
    return 0;
}

/* Positional: designated initialisers are not C++17. */
static const TrainBackend cuda_backend = {
    "cuda", cuda_create, cuda_destroy, cuda_step, cuda_get_state, cuda_set_state, cuda_predict,
};

const TrainBackend *
train_backend_cuda(void)
{
    return &cuda_backend;
}
