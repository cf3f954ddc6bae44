// CUDA launcher of EdgeMultiPoolUnwarp: one thread per output element, consecutive threads write
// consecutive x of one row (coalesced writes). The element is defined by sourceOfOutput() only.
#include "multipool_unwarp_kernel.h"

namespace edge
{
namespace unwarp
{
namespace
{

// I = int32_t when fitsInt32(): 32-bit division in the index math (a 64-bit div/mod is a ~70-instruction
// subroutine on the GPU, once per digit per element).
template <typename T, typename I>
__global__ void gatherKernel(Params p, T const* __restrict__ x, T* __restrict__ y, I total)
{
    I const step = static_cast<I>(gridDim.x) * static_cast<I>(blockDim.x);
    for (I idx = static_cast<I>(blockIdx.x) * static_cast<I>(blockDim.x) + static_cast<I>(threadIdx.x); idx < total;
         idx += step)
        y[idx] = x[sourceOfOutput<I>(p, idx)];
}

} // namespace

template <typename T>
cudaError_t launch(Params const& p, T const* x, T* y, cudaStream_t stream)
{
    int64_t const total = outputVolume(p);
    if (total == 0)
        return cudaSuccess;
    int32_t const threads = 256;
    int64_t blocks = (total + threads - 1) / threads;
    if (blocks > 65535LL * 8) // grid-stride loop beyond this: plenty of blocks for any Jetson
        blocks = 65535LL * 8;
    // idx + step stays below total + 65535 * 8 * 256 < 2^31 + 2^27: no int32 overflow in the loop either
    if (fitsInt32(p) && total + blocks * threads <= INT32_MAX)
        gatherKernel<T, int32_t>
            <<<static_cast<unsigned>(blocks), threads, 0, stream>>>(p, x, y, static_cast<int32_t>(total));
    else
        gatherKernel<T, int64_t><<<static_cast<unsigned>(blocks), threads, 0, stream>>>(p, x, y, total);
    return cudaGetLastError();
}

template cudaError_t launch<float>(Params const&, float const*, float*, cudaStream_t);
template cudaError_t launch<__half>(Params const&, __half const*, __half*, cudaStream_t);

cudaError_t launch(Params const& p, DType dtype, void const* x, void* y, cudaStream_t stream)
{
    switch (dtype)
    {
    case DType::kFLOAT32: return launch(p, static_cast<float const*>(x), static_cast<float*>(y), stream);
    case DType::kFLOAT16: return launch(p, static_cast<__half const*>(x), static_cast<__half*>(y), stream);
    }
    return cudaErrorInvalidValue;
}

} // namespace unwarp
} // namespace edge
