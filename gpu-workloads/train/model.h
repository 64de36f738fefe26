/* spotlab workloads: the training model, shared by the C reference path and the CUDA path.
 *
 * A character-level multi-layer language model: the previous `context` tokens are embedded
 * (vocab x embed), concatenated, passed through `layers` fully connected layers of width
 * `hidden` with GELU (tanh form), the second and later with a residual connection, and a final
 * linear layer gives the logits over the vocabulary; the loss is the mean cross-entropy of the
 * next token. AdamW with decoupled weight decay (not applied to biases or embeddings), a
 * linear warmup and a cosine decay to lr_min over total_steps.
 *
 * Parameters live in one float array in a fixed order (docs/checkpoints.md lists it), so that
 * a checkpoint is three arrays (params, adam_m, adam_v) of train_param_count() floats.
 * Initial parameters are drawn on the host from the config's seed, the same for every backend.
 *
 * This header is plain data and prototypes: the CUDA sources include it too.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TRAIN_VOCAB 64 /* the corpus alphabet, corpus.h */

typedef struct {
    char name[16];         /* preset it came from, or "custom" */
    uint32_t vocab;        /* TRAIN_VOCAB */
    uint32_t context;      /* tokens of context */
    uint32_t embed;        /* embedding width per token */
    uint32_t hidden;       /* width of the hidden layers */
    uint32_t layers;       /* hidden layers, >= 1 */
    uint32_t batch;        /* windows per step */
    uint32_t warmup_steps; /* linear warmup */
    uint64_t total_steps;  /* schedule length; training stops there */
    float lr_max, lr_min;  /* schedule */
    float beta1, beta2, eps, weight_decay;
    uint64_t seed; /* initial parameters and batch sampling */
} TrainConfig;

/* Fills @cfg with the preset @name: "tiny" (CI: seconds, checkpoint < 1 MB), "small",
 * "1g" (a checkpoint of about 1 GB), "large" (GPU: several GB). Returns 0 on success, -1 for
 * an unknown name. */
int train_config_preset(const char *name, TrainConfig *cfg);

/* Number of float parameters (weights and biases of every layer, embeddings included). */
uint64_t train_param_count(const TrainConfig *cfg);

/* Floating-point operations of one training step (forward + backward + update), counted as
 * 2 per multiply-add of the matrix products; the basis of the TFLOP/s figures. */
double train_step_flops(const TrainConfig *cfg);

/* Learning rate of the update that makes step @step (0-based) of the schedule. */
float train_lr_at(const TrainConfig *cfg, uint64_t step);

/* Writes the initial parameters for @cfg (train_param_count() floats) drawn from cfg->seed. */
void train_init_params(const TrainConfig *cfg, float *params);

/* One tensor of the parameter array. The array holds, in this order (docs/checkpoints.md):
 *   embed            vocab x embed         token embeddings (row t is the vector of token t)
 *   layer0.weight    hidden x (context * embed)
 *   layer0.bias      hidden
 *   layerL.weight    hidden x hidden       for L = 1 .. layers - 1 (residual layers)
 *   layerL.bias      hidden
 *   out.weight       vocab x hidden
 *   out.bias         vocab
 * Matrices are row-major with one row per output (y = W x + b, as in "W h"), so a weight's
 * rows are its outputs and its columns its inputs. Only weights (decay = 1) take weight decay. */
typedef struct {
    char name[24];       /* "embed", "layer0.weight", ..., "out.bias" */
    uint64_t offset;     /* index of the first float in the parameter array */
    uint64_t count;      /* rows * cols */
    uint32_t rows, cols; /* a bias is 1 x n */
    int decay;           /* 1: AdamW weight decay applies (weight matrices) */
} TrainParamGroup;

/* Number of tensors of a model with @layers hidden layers. */
#define TRAIN_PARAM_GROUPS(layers) (2u * (uint32_t)(layers) + 3u)

/* Fills @groups (room for TRAIN_PARAM_GROUPS(cfg->layers)) in array order; returns the count. */
uint32_t train_param_groups(const TrainConfig *cfg, TrainParamGroup *groups);

/* The AdamW bias corrections 1 - beta1^t and 1 - beta2^t of the 1-based step @t, computed in
 * double on the host and rounded to float once, so that every backend uses the same values. */
void train_adam_corrections(const TrainConfig *cfg, uint64_t t, float *bc1, float *bc2);

/* Checks that every token of @n rows of @width tokens (rows @stride apart) is below cfg->vocab;
 * otherwise returns -1 with a message naming the first bad token in @err. Both backends check
 * their input with it. */
int train_check_tokens(const TrainConfig *cfg, const uint8_t *tokens, size_t n, size_t width,
                       size_t stride, char *err, size_t errlen);

/* Checks the input of a backend's step(): @t is 1-based, and the batch's tokens are in the
 * vocabulary. -1 with a message that starts with @backend otherwise. */
int train_check_step(const TrainConfig *cfg, const char *backend, const uint8_t *tokens, uint64_t t,
                     char *err, size_t errlen);

/* A model on one backend: parameters, AdamW moments, gradients and scratch space. */
typedef struct TrainModel TrainModel;

typedef struct {
    const char *name; /* "cpu" or "cuda" */
    /* Creates a model of @cfg with @params (train_param_count floats) and zero moments. On
     * failure returns NULL and writes a message (at most @errlen bytes) into @err. */
    TrainModel *(*create)(const TrainConfig *cfg, const float *params, char *err, size_t errlen);
    void (*destroy)(TrainModel *model);
    /* One AdamW update from cfg->batch windows of (context + 1) tokens each (@tokens, row
     * after row: context then the target); @t is the 1-based Adam step, @lr the rate. Writes
     * the mean loss of the batch before the update into @loss. 0 on success. */
    int (*step)(TrainModel *model, const uint8_t *tokens, uint64_t t, float lr, float *loss,
                char *err, size_t errlen);
    /* Copies parameters and moments to host arrays (@m and @v may be NULL). */
    int (*get_state)(TrainModel *model, float *params, float *m, float *v, char *err,
                     size_t errlen);
    /* Replaces parameters and moments (@m and @v NULL: zero moments). */
    int (*set_state)(TrainModel *model, const float *params, const float *m, const float *v,
                     char *err, size_t errlen);
    /* Logits (@n x vocab, row after row) for @n windows of @context tokens each. */
    int (*predict)(TrainModel *model, const uint8_t *contexts, uint32_t n, float *logits, char *err,
                   size_t errlen);
} TrainBackend;

/* The C reference path: single-threaded, deterministic, bit-identical from run to run. */
extern const TrainBackend train_backend_cpu;

/* The CUDA path (cuBLAS), or NULL when spotlab was built without CUDA. */
const TrainBackend *train_backend_cuda(void);

#ifdef __cplusplus
}
#endif
