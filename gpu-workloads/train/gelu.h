/* spotlab workloads: GELU (tanh form) and its derivative, written once for both paths: the C
 * reference path (model-cpu.c) and the CUDA kernels (model-cuda.cu, compiled without
 * contraction) evaluate the same expressions in the same order, so only tanhf's last bits may
 * differ between them. Plain C and CUDA: no GLib. */
#pragma once

#include <math.h>

#ifdef __CUDACC__
#define TRAIN_GELU_FN static __host__ __device__ __forceinline__
#else
#define TRAIN_GELU_FN static inline
#endif

#define TRAIN_GELU_K0 0.7978845608028654f /* sqrt(2 / pi) */
#define TRAIN_GELU_K1 0.044715f
#define TRAIN_GELU_K3 0.134145f /* 3 * TRAIN_GELU_K1 */

TRAIN_GELU_FN float
train_gelu(float x)
{
    const float u = TRAIN_GELU_K0 * (x + TRAIN_GELU_K1 * x * x * x);
    return 0.5f * x * (1.0f + tanhf(u));
}

TRAIN_GELU_FN float
train_gelu_grad(float x)
{
    const float x2 = x * x;
    const float t = tanhf(TRAIN_GELU_K0 * (x + TRAIN_GELU_K1 * x2 * x));
    return 0.5f * (1.0f + t) +
           0.5f * x * (1.0f - t * t) * TRAIN_GELU_K0 * (1.0f + TRAIN_GELU_K3 * x2);
}
