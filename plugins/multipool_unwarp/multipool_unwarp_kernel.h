// Launcher of the EdgeMultiPoolUnwarp gather: no TensorRT types (STYLE.md: plugins/<op>/<op>_kernel.cu).
#pragma once

#include "multipool_unwarp_kernel.cuh"

#include <cuda_runtime_api.h>

namespace edge
{
namespace unwarp
{

//! Y (B, C, outH, outW) <- X (B*M, C, h, w) on `stream`; T is float or __half. Returns the launch error.
template <typename T>
cudaError_t launch(Params const& p, T const* x, T* y, cudaStream_t stream);

//! dtype-dispatching form used by the plugin (pointers are device pointers of `dtype`).
cudaError_t launch(Params const& p, DType dtype, void const* x, void* y, cudaStream_t stream);

} // namespace unwarp
} // namespace edge
