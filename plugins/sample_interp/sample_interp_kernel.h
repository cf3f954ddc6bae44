// Launcher of EdgeSampleInterp: no TensorRT types (STYLE.md: plugins/<op>/<op>_kernel.cu).
#pragma once

#include "sample_interp_kernel.cuh"

#include <cstddef>
#include <cuda_runtime_api.h>

namespace edge
{
namespace sinterp
{

//! Y (B, Cout, Ho, Wo) from X, mask, W, bias (device pointers of type T = float or __half) on `stream`:
//! compaction -> sparse implicit GEMM at sampled positions -> interpolation. Returns the first CUDA error.
template <typename T>
cudaError_t launch(Params const& p, T const* x, T const* mask, T const* w, T const* bias, T* y, void* workspace,
    cudaStream_t stream);

//! dtype-dispatching form used by the plugin.
cudaError_t launch(Params const& p, DType dtype, void const* x, void const* mask, void const* w, void const* bias,
    void* y, void* workspace, cudaStream_t stream);

} // namespace sinterp
} // namespace edge
