/* spotlab-gpu-check: checks the CUDA path of the training model against the C reference path
 * and measures the GPU.
 *
 *   (a) compare: N steps (--steps, 20) of a preset (--compare-preset, "small") on both
 *       backends from the same initial parameters and the same batches; prints the relative
 *       difference of the loss at every step and the relative max-norm difference of the
 *       parameters (and moments, per tensor) at the end; fails beyond the tolerances below.
 *   (b) train: throughput of a preset (--preset, "large") on the GPU in TFLOP/s, from
 *       train_step_flops() and CUDA events around --bench-steps steps (after 3 warm-up steps);
 *       each step includes its token upload and loss download, as in spotlab-train.
 *   (c) sgemm: a plain cublasSgemm of the preset's hidden x hidden x batch shape (the shape of
 *       a hidden layer's forward product) and of a square 8192^3, in TFLOP/s, and the ratio of
 *       (b) to the first.
 *   (d) d2h: device-to-host copy bandwidth into pinned memory, in GB/s (1e9 bytes), for the
 *       preset's checkpoint state (parameters and both moments).
 * Output: human lines, then one JSON object on the last line with every figure.
 * Exit status: 0 ok, 1 beyond tolerance or a CUDA failure, 2 bad usage, 77 no GPU or under
 * the valgrind test setup (meson: skipped).
 *
 * Tolerances. Both paths use the same formulas; they differ in the order of the sums inside
 * cuBLAS (against ascending order in C) and in the last bits of tanhf/expf/logf, which is
 * about 1e-6 relative in one step. Over 20 steps the trajectories drift apart slowly; the loss
 * is held to 1e-4 relative at every step. Parameters are held to 1e-3 relative in max-norm
 * over the whole array, max|cpu - cuda| / max|cpu|, not per element: Adam's first update is
 * lr * g / |g| for every weight, so a gradient that cancels to within rounding (|g| ~ 1e-6 of
 * its terms) may get opposite signs on the two paths and differ by 2 lr, which is correct
 * behaviour that a per-element test would flag. Per-tensor figures are printed for diagnosis.
 */
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <glib.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corpus.h"
#include "model.h"
#include "train-config.h"

#define EXIT_SKIP        77
#define LOSS_TOLERANCE   1e-4
#define PARAM_TOLERANCE  1e-3
#define LOGITS_TOLERANCE 1e-3

/* The batch sampler's stream of the seed and the corpus length, as in train-main.c. */
enum { SAMPLER_STREAM = 7, CORPUS_TOKENS = 1 << 20 };

static char errbuf[512];

#define GPU_CHECK_ERROR (gpu_check_error_quark())
static G_DEFINE_QUARK(spotlab - gpu - check - error - quark, gpu_check_error)

    /* ---- Small helpers ---- */

    static gboolean cuda_ok(cudaError_t e, const char *what, GError **error)
{
    if (e == cudaSuccess)
        return TRUE;
    g_set_error(error, GPU_CHECK_ERROR, 0, "%s: %s (%s)", what, cudaGetErrorString(e),
                cudaGetErrorName(e));
    return FALSE;
}

static gboolean
blas_ok(cublasStatus_t s, const char *what, GError **error)
{
    if (s == CUBLAS_STATUS_SUCCESS)
        return TRUE;
    g_set_error(error, GPU_CHECK_ERROR, 0, "%s: %s (%s)", what, cublasGetStatusString(s),
                cublasGetStatusName(s));
    return FALSE;
}

static gboolean
load_preset(const char *name, TrainConfig *cfg, GError **error)
{
    if (train_config_preset(name, cfg) != 0) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "unknown preset \"%s\" (tiny, small, 1g, large)", name);
        return FALSE;
    }
    return train_config_validate(cfg, error);
}

/* max |a - b| / max |a| over @n floats. */
static double
rel_max_norm(const float *a, const float *b, uint64_t n)
{
    double diff = 0.0, norm = 0.0;
    for (uint64_t i = 0; i < n; i++) {
        diff = fmax(diff, fabs((double)a[i] - (double)b[i]));
        norm = fmax(norm, fabs((double)a[i]));
    }
    return norm > 0.0 ? diff / norm : diff;
}

/* The model's batches: a corpus and a sampler from the config's seed. */
typedef struct {
    guint8 *corpus;
    SimRng rng;
} Batches;

static void
batches_init(Batches *b, const TrainConfig *cfg)
{
    b->corpus = train_corpus_generate(cfg->seed, CORPUS_TOKENS);
    SimRng root;
    sim_rng_init(&root, cfg->seed);
    sim_rng_split(&root, SAMPLER_STREAM, &b->rng);
}

/* ---- (a) compare ---- */

typedef struct {
    const TrainBackend *backend;
    TrainModel *model;
} Holder;

static void
holder_clear(Holder *h)
{
    if (h->model != NULL)
        h->backend->destroy(h->model);
    h->model = NULL;
}

/* The relative differences of the two trained models: per tensor (printed and in @tensors),
 * of the whole parameter array, and of the predictions of 2 batches + 3 rows (chunking). */
static int
compare_states(const TrainConfig *cfg, Holder *cpu, Holder *gpu, const guint8 *corpus,
               json_t *tensors, double *params_rel, double *logits_rel)
{
    const uint64_t n = train_param_count(cfg);
    g_autofree float *pc = g_new(float, n), *pg = g_new(float, n);
    g_autofree float *mc = g_new(float, n), *mg = g_new(float, n);
    g_autofree float *vc = g_new(float, n), *vg = g_new(float, n);
    if (cpu->backend->get_state(cpu->model, pc, mc, vc, errbuf, sizeof errbuf) != 0 ||
        gpu->backend->get_state(gpu->model, pg, mg, vg, errbuf, sizeof errbuf) != 0)
        return -1;
    g_autofree TrainParamGroup *groups = g_new(TrainParamGroup, TRAIN_PARAM_GROUPS(cfg->layers));
    const uint32_t n_groups = train_param_groups(cfg, groups);
    for (uint32_t i = 0; i < n_groups; i++) {
        const TrainParamGroup *g = &groups[i];
        const double p = rel_max_norm(pc + g->offset, pg + g->offset, g->count);
        const double m = rel_max_norm(mc + g->offset, mg + g->offset, g->count);
        const double v = rel_max_norm(vc + g->offset, vg + g->offset, g->count);
        printf("  %-14s params %.2e  m %.2e  v %.2e\n", g->name, p, m, v);
        json_object_set_new(tensors, g->name,
                            json_pack("{s:f, s:f, s:f}", "params", p, "m", m, "v", v));
    }
    *params_rel = rel_max_norm(pc, pg, n);

    const uint32_t rows = 2 * cfg->batch + 3;
    g_autofree guint8 *contexts = g_malloc((size_t)rows * cfg->context);
    for (uint32_t r = 0; r < rows; r++)
        memcpy(contexts + (size_t)r * cfg->context,
               corpus + (size_t)r * 7 % (CORPUS_TOKENS - cfg->context), cfg->context);
    g_autofree float *lc = g_new(float, (size_t)rows * cfg->vocab);
    g_autofree float *lg = g_new(float, (size_t)rows * cfg->vocab);
    if (cpu->backend->predict(cpu->model, contexts, rows, lc, errbuf, sizeof errbuf) != 0 ||
        gpu->backend->predict(gpu->model, contexts, rows, lg, errbuf, sizeof errbuf) != 0)
        return -1;
    *logits_rel = rel_max_norm(lc, lg, (uint64_t)rows * cfg->vocab);
    return 0;
}

static gboolean
run_compare(const char *preset, int steps, json_t *report, gboolean *passed, GError **error)
{
    TrainConfig cfg;
    if (!load_preset(preset, &cfg, error))
        return FALSE;
    const uint64_t n = train_param_count(&cfg);
    g_autofree float *init = g_new(float, n);
    train_init_params(&cfg, init);
    Holder cpu = {&train_backend_cpu, NULL}, gpu = {train_backend_cuda(), NULL};
    gboolean ok = FALSE;
    Batches batches;
    batches_init(&batches, &cfg);
    g_autofree guint8 *tokens = g_malloc((size_t)cfg.batch * (cfg.context + 1));
    json_t *losses = json_array(), *tensors = json_object();
    double max_loss_rel = 0.0, params_rel = 0.0, logits_rel = 0.0;

    printf("compare: preset %s, %" G_GUINT64_FORMAT " parameters, %d steps, cpu and cuda\n", preset,
           n, steps);
    cpu.model = cpu.backend->create(&cfg, init, errbuf, sizeof errbuf);
    if (cpu.model == NULL)
        goto fail;
    gpu.model = gpu.backend->create(&cfg, init, errbuf, sizeof errbuf);
    if (gpu.model == NULL)
        goto fail;
    for (int s = 0; s < steps; s++) {
        if (!train_corpus_sample_batch(batches.corpus, CORPUS_TOKENS, &cfg, &batches.rng, tokens,
                                       error))
            goto out;
        const float lr = train_lr_at(&cfg, (uint64_t)s);
        float lc, lg;
        if (cpu.backend->step(cpu.model, tokens, (uint64_t)s + 1, lr, &lc, errbuf, sizeof errbuf) !=
                0 ||
            gpu.backend->step(gpu.model, tokens, (uint64_t)s + 1, lr, &lg, errbuf, sizeof errbuf) !=
                0)
            goto fail;
        const double rel = fabs((double)lc - (double)lg) / fmax(fabs((double)lc), 1e-30);
        max_loss_rel = fmax(max_loss_rel, rel);
        printf("  step %3d  lr %.3g  loss cpu %.7f cuda %.7f  rel %.2e\n", s + 1, (double)lr,
               (double)lc, (double)lg, rel);
        json_array_append_new(losses, json_pack("{s:f, s:f, s:f}", "cpu", (double)lc, "cuda",
                                                (double)lg, "rel", rel));
    }
    if (compare_states(&cfg, &cpu, &gpu, batches.corpus, tensors, &params_rel, &logits_rel) != 0)
        goto fail;
    *passed = max_loss_rel <= LOSS_TOLERANCE && params_rel <= PARAM_TOLERANCE &&
              logits_rel <= LOGITS_TOLERANCE;
    printf("compare: max loss rel %.2e (tolerance %.0e), params rel max-norm %.2e (%.0e), "
           "logits rel max-norm %.2e (%.0e): %s\n",
           max_loss_rel, LOSS_TOLERANCE, params_rel, PARAM_TOLERANCE, logits_rel, LOGITS_TOLERANCE,
           *passed ? "PASS" : "FAIL");
    json_object_set_new(
        report, "compare",
        json_pack("{s:s, s:I, s:i, s:f, s:f, s:f, s:{s:f, s:f, s:f}, s:b, s:O, s:O}", "preset",
                  preset, "params", (json_int_t)n, "steps", steps, "max_loss_rel", max_loss_rel,
                  "params_rel", params_rel, "logits_rel", logits_rel, "tolerance", "loss",
                  LOSS_TOLERANCE, "params", PARAM_TOLERANCE, "logits", LOGITS_TOLERANCE, "pass",
                  *passed, "losses", losses, "tensors", tensors));
    ok = TRUE;
    goto out;
fail:
    g_set_error(error, GPU_CHECK_ERROR, 0, "compare: %s", errbuf);
out:
    json_decref(losses);
    json_decref(tensors);
    holder_clear(&gpu);
    holder_clear(&cpu);
    g_free(batches.corpus);
    return ok;
}

/* ---- (b) train throughput ---- */

static gboolean
run_train(const char *preset, int steps, json_t *report, double *tflops_out, GError **error)
{
    TrainConfig cfg;
    if (!load_preset(preset, &cfg, error))
        return FALSE;
    const uint64_t n = train_param_count(&cfg);
    const double flops = train_step_flops(&cfg);
    printf("train: preset %s, %" G_GUINT64_FORMAT " parameters, batch %u, %.3g GFLOP a step\n",
           preset, n, cfg.batch, flops / 1e9);
    const TrainBackend *be = train_backend_cuda();
    TrainModel *model;
    {
        g_autofree float *init = g_try_new(float, n);
        if (init == NULL) {
            g_set_error(error, GPU_CHECK_ERROR, 0,
                        "train: out of host memory for %" G_GUINT64_FORMAT " parameters", n);
            return FALSE;
        }
        train_init_params(&cfg, init);
        model = be->create(&cfg, init, errbuf, sizeof errbuf);
    }
    if (model == NULL) {
        g_set_error(error, GPU_CHECK_ERROR, 0, "train: %s", errbuf);
        return FALSE;
    }
    enum { WARMUP = 3 };
    const int total = WARMUP + steps;
    const size_t window = (size_t)cfg.context + 1, batch_bytes = (size_t)cfg.batch * window;
    Batches batches;
    batches_init(&batches, &cfg);
    g_autofree guint8 *tokens = g_malloc(batch_bytes * (size_t)total);
    gboolean ok = FALSE;
    cudaEvent_t start = NULL, stop = NULL;
    float first = 0.0f, last = 0.0f, ms = 0.0f;
    for (int s = 0; s < total; s++) {
        if (!train_corpus_sample_batch(batches.corpus, CORPUS_TOKENS, &cfg, &batches.rng,
                                       tokens + (size_t)s * batch_bytes, error))
            goto out;
    }
    if (!cuda_ok(cudaEventCreate(&start), "cudaEventCreate", error) ||
        !cuda_ok(cudaEventCreate(&stop), "cudaEventCreate", error))
        goto out;
    for (int s = 0; s < total; s++) {
        if (s == WARMUP && !cuda_ok(cudaEventRecord(start, 0), "cudaEventRecord", error))
            goto out;
        float loss;
        if (be->step(model, tokens + (size_t)s * batch_bytes, (uint64_t)s + 1,
                     train_lr_at(&cfg, (uint64_t)s), &loss, errbuf, sizeof errbuf) != 0) {
            g_set_error(error, GPU_CHECK_ERROR, 0, "train: %s", errbuf);
            goto out;
        }
        if (s == 0)
            first = loss;
        last = loss;
    }
    if (!cuda_ok(cudaEventRecord(stop, 0), "cudaEventRecord", error) ||
        !cuda_ok(cudaEventSynchronize(stop), "cudaEventSynchronize", error) ||
        !cuda_ok(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime", error))
        goto out;
    const double step_s = (double)ms / 1e3 / steps;
    *tflops_out = flops / step_s / 1e12;
    printf("train: %.2f ms a step, %.2f TFLOP/s; loss %.4f at step 1, %.4f at step %d\n",
           step_s * 1e3, *tflops_out, (double)first, (double)last, total);
    json_object_set_new(report, "train",
                        json_pack("{s:s, s:I, s:i, s:f, s:i, s:f, s:f, s:f, s:f}", "preset", preset,
                                  "params", (json_int_t)n, "batch", (int)cfg.batch, "step_flops",
                                  flops, "steps", steps, "step_ms", step_s * 1e3, "tflops",
                                  *tflops_out, "loss_first", (double)first, "loss_last",
                                  (double)last));
    ok = TRUE;
out:
    if (start != NULL)
        cudaEventDestroy(start);
    if (stop != NULL)
        cudaEventDestroy(stop);
    be->destroy(model);
    g_free(batches.corpus);
    return ok;
}

/* ---- (c) sgemm ---- */

/* TFLOP/s of C (m x n) = op_T(A) B with A k x m, as the forward product of model-cuda.cu. */
static gboolean
time_sgemm(int m, int n, int k, int reps, double *tflops, GError **error)
{
    cublasHandle_t blas = NULL;
    float *a = NULL, *b = NULL, *c = NULL;
    cudaEvent_t start = NULL, stop = NULL;
    gboolean ok = FALSE;
    const size_t na = (size_t)k * m, nb = (size_t)k * n, nc = (size_t)m * n;
    g_autofree float *host = g_new(float, MAX(na, nb));
    for (size_t i = 0; i < MAX(na, nb); i++)
        host[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
    const float one = 1.0f, zero = 0.0f;
    float ms = 0.0f;
    if (!blas_ok(cublasCreate(&blas), "cublasCreate", error) ||
        !blas_ok(cublasSetMathMode(blas, CUBLAS_DEFAULT_MATH), "cublasSetMathMode", error) ||
        !cuda_ok(cudaMalloc((void **)&a, na * sizeof(float)), "cudaMalloc", error) ||
        !cuda_ok(cudaMalloc((void **)&b, nb * sizeof(float)), "cudaMalloc", error) ||
        !cuda_ok(cudaMalloc((void **)&c, nc * sizeof(float)), "cudaMalloc", error) ||
        !cuda_ok(cudaMemcpy(a, host, na * sizeof(float), cudaMemcpyHostToDevice), "cudaMemcpy",
                 error) ||
        !cuda_ok(cudaMemcpy(b, host, nb * sizeof(float), cudaMemcpyHostToDevice), "cudaMemcpy",
                 error) ||
        !cuda_ok(cudaEventCreate(&start), "cudaEventCreate", error) ||
        !cuda_ok(cudaEventCreate(&stop), "cudaEventCreate", error))
        goto out;
    for (int r = 0; r < 3 + reps; r++) {
        if (r == 3 && !cuda_ok(cudaEventRecord(start, 0), "cudaEventRecord", error))
            goto out;
        if (!blas_ok(
                cublasSgemm(blas, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &one, a, k, b, k, &zero, c, m),
                "cublasSgemm", error))
            goto out;
    }
    if (!cuda_ok(cudaEventRecord(stop, 0), "cudaEventRecord", error) ||
        !cuda_ok(cudaEventSynchronize(stop), "cudaEventSynchronize", error) ||
        !cuda_ok(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime", error))
        goto out;
    *tflops = 2.0 * m * n * (double)k * reps / ((double)ms / 1e3) / 1e12;
    ok = TRUE;
out:
    if (start != NULL)
        cudaEventDestroy(start);
    if (stop != NULL)
        cudaEventDestroy(stop);
    cudaFree(a);
    cudaFree(b);
    cudaFree(c);
    if (blas != NULL)
        cublasDestroy(blas);
    return ok;
}

static gboolean
run_sgemm(const char *preset, double train_tflops, json_t *report, GError **error)
{
    TrainConfig cfg;
    if (!load_preset(preset, &cfg, error))
        return FALSE;
    const int h = (int)cfg.hidden, b = (int)cfg.batch;
    double shape = 0.0, square = 0.0;
    if (!time_sgemm(h, b, h, 50, &shape, error) ||
        !time_sgemm(8192, 8192, 8192, 10, &square, error)) {
        g_prefix_error(error, "sgemm: ");
        return FALSE;
    }
    const double ratio = train_tflops > 0.0 ? train_tflops / shape : 0.0;
    printf("sgemm: %d x %d x %d %.2f TFLOP/s, 8192^3 %.2f TFLOP/s; training reaches %.0f%% of "
           "the first\n",
           h, h, b, shape, square, 100.0 * ratio);
    json_object_set_new(report, "sgemm",
                        json_pack("{s:[i,i,i], s:f, s:f, s:f}", "shape", h, b, h, "tflops", shape,
                                  "square_8192_tflops", square, "train_over_sgemm", ratio));
    return TRUE;
}

/* ---- (d) device-to-host bandwidth ---- */

static gboolean
run_d2h(const char *preset, json_t *report, GError **error)
{
    TrainConfig cfg;
    if (!load_preset(preset, &cfg, error))
        return FALSE;
    const size_t bytes = (size_t)train_param_count(&cfg) * sizeof(float) * 3;
    void *dev = NULL, *host = NULL;
    cudaEvent_t start = NULL, stop = NULL;
    gboolean ok = FALSE;
    enum { REPS = 3 };
    double best = 0.0, sum = 0.0;
    if (!cuda_ok(cudaMalloc(&dev, bytes), "d2h: cudaMalloc", error) ||
        !cuda_ok(cudaMallocHost(&host, bytes), "d2h: cudaMallocHost (pinned)", error) ||
        !cuda_ok(cudaMemset(dev, 1, bytes), "d2h: cudaMemset", error) ||
        !cuda_ok(cudaEventCreate(&start), "cudaEventCreate", error) ||
        !cuda_ok(cudaEventCreate(&stop), "cudaEventCreate", error))
        goto out;
    for (int r = 0; r < REPS; r++) {
        float ms = 0.0f;
        if (!cuda_ok(cudaEventRecord(start, 0), "cudaEventRecord", error) ||
            !cuda_ok(cudaMemcpyAsync(host, dev, bytes, cudaMemcpyDeviceToHost, 0),
                     "d2h: cudaMemcpyAsync", error) ||
            !cuda_ok(cudaEventRecord(stop, 0), "cudaEventRecord", error) ||
            !cuda_ok(cudaEventSynchronize(stop), "cudaEventSynchronize", error) ||
            !cuda_ok(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime", error))
            goto out;
        const double gbps = (double)bytes / ((double)ms / 1e3) / 1e9;
        best = fmax(best, gbps);
        sum += gbps;
    }
    printf("d2h: %.2f GB of state (params, m, v of %s) into pinned memory: best %.1f GB/s, mean "
           "%.1f GB/s\n",
           (double)bytes / 1e9, preset, best, sum / REPS);
    json_object_set_new(report, "d2h",
                        json_pack("{s:s, s:I, s:f, s:f}", "preset", preset, "bytes",
                                  (json_int_t)bytes, "best_gbps", best, "mean_gbps", sum / REPS));
    ok = TRUE;
out:
    if (start != NULL)
        cudaEventDestroy(start);
    if (stop != NULL)
        cudaEventDestroy(stop);
    if (host != NULL)
        cudaFreeHost(host);
    cudaFree(dev);
    return ok;
}

int
main(int argc, char **argv)
{
    /* GOption does not free a default it replaces: defaults are applied after parsing. */
    g_autofree char *compare_preset = NULL, *preset = NULL;
    int steps = 20, bench_steps = 10;
    gboolean compare_only = FALSE, bench_only = FALSE;
    const GOptionEntry entries[] = {
        {"compare-preset", 0, 0, G_OPTION_ARG_STRING, &compare_preset,
         "Preset of the comparison (default small)", "NAME"},
        {"steps", 0, 0, G_OPTION_ARG_INT, &steps, "Steps of the comparison (default 20)", "N"},
        {"preset", 0, 0, G_OPTION_ARG_STRING, &preset, "Preset of the measurements (default large)",
         "NAME"},
        {"bench-steps", 0, 0, G_OPTION_ARG_INT, &bench_steps, "Timed training steps (default 10)",
         "N"},
        {"compare-only", 0, 0, G_OPTION_ARG_NONE, &compare_only, "Only compare the two paths",
         NULL},
        {"bench-only", 0, 0, G_OPTION_ARG_NONE, &bench_only, "Only measure", NULL},
        G_OPTION_ENTRY_NULL,
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("- check and measure the CUDA path");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_autoptr(GError) error = NULL;
    if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
        fprintf(stderr, "spotlab-gpu-check: %s\n", error->message);
        return 2;
    }
    if (steps < 1 || bench_steps < 1 || (compare_only && bench_only)) {
        fprintf(stderr, "spotlab-gpu-check: --steps and --bench-steps must be at least 1, and "
                        "--compare-only and --bench-only exclude each other\n");
        return 2;
    }
    if (compare_preset == NULL)
        compare_preset = g_strdup("small");
    if (preset == NULL)
        preset = g_strdup("large");
    TrainConfig probe;
    if (train_config_preset(compare_preset, &probe) != 0 ||
        train_config_preset(preset, &probe) != 0) {
        fprintf(stderr, "spotlab-gpu-check: unknown preset \"%s\" (tiny, small, 1g, large)\n",
                train_config_preset(preset, &probe) != 0 ? preset : compare_preset);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* The valgrind test setup says so in SPOTLAB_TEST_WRAPPER. memcheck cannot follow the CUDA
     * driver (and reports the dynamic loader's reads as it loads it), so there is nothing to
     * check under it. */
    const char *wrapper = g_getenv("SPOTLAB_TEST_WRAPPER");
    if (wrapper != NULL && strstr(wrapper, "valgrind") != NULL) {
        printf("spotlab-gpu-check: skipped: running under valgrind, which cannot follow the CUDA "
               "driver\n");
        return EXIT_SKIP;
    }
    int count = 0;
    const cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess || count == 0) {
        printf("spotlab-gpu-check: skipped: no CUDA device (%s)\n",
               e != cudaSuccess ? cudaGetErrorString(e) : "cudaGetDeviceCount found none");
        return EXIT_SKIP;
    }
    int dev = 0;
    struct cudaDeviceProp prop;
    if (!cuda_ok(cudaGetDevice(&dev), "cudaGetDevice", &error) ||
        !cuda_ok(cudaGetDeviceProperties(&prop, dev), "cudaGetDeviceProperties", &error)) {
        fprintf(stderr, "spotlab-gpu-check: %s\n", error->message);
        return 1;
    }
    printf("device %d: %s, compute capability %d.%d, %.1f GiB\n", dev, prop.name, prop.major,
           prop.minor, (double)prop.totalGlobalMem / (1024.0 * 1024.0 * 1024.0));

    char cc[16];
    g_snprintf(cc, sizeof cc, "%d.%d", prop.major, prop.minor);
    json_t *report = json_pack("{s:s, s:s}", "device", prop.name, "compute_capability", cc);
    gboolean passed = TRUE, ok = TRUE;
    double train_tflops = 0.0;
    if (!bench_only)
        ok = run_compare(compare_preset, steps, report, &passed, &error);
    if (ok && !compare_only) {
        ok = run_train(preset, bench_steps, report, &train_tflops, &error) &&
             run_sgemm(preset, train_tflops, report, &error) && run_d2h(preset, report, &error);
    }
    if (!ok)
        fprintf(stderr, "spotlab-gpu-check: %s\n", error->message);
    json_object_set_new(report, "pass", json_boolean(ok && passed));
    char *line = json_dumps(report, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
    printf("%s\n", line);
    free(line);
    json_decref(report);
    return ok && passed ? 0 : 1;
}
