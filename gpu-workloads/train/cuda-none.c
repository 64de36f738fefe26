/* spotlab workloads: the CUDA backend of a build without CUDA (model.h). Programs that may
 * run on either path link this file or the CUDA library (model-cuda.cu), never both.
 */
#include "model.h"

const TrainBackend *
train_backend_cuda(void)
{
    return NULL;
}
