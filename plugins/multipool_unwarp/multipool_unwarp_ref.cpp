// CPU reference of EdgeMultiPoolUnwarp, built from the same sourceOfOutput() as the CUDA kernel.
// C ABI for ctypes (edge/native). No CUDA, no TensorRT.
#include "../common/edge_ref.h"
#include "multipool_unwarp_kernel.cuh"

using namespace edge;

namespace
{
template <typename T>
void gather(unwarp::Params const& p, T const* x, T* y)
{
    int64_t const total = unwarp::outputVolume(p);
    for (int64_t idx = 0; idx < total; ++idx)
        y[idx] = x[unwarp::sourceOfOutput<int64_t>(p, idx)];
}
} // namespace

//! Y (B, C, outH, outW) <- X (N, C, h, w). `out_shape` (4 int64) receives the resolved output shape;
//! with y == nullptr only the shape is computed (so the caller can allocate). Returns 0 or -1 (see
//! edge_ref_last_error()).
extern "C" EDGE_REF_API int32_t edge_multipool_unwarp_ref(void const* x, void* y, int32_t dtype, int32_t n_layers,
    int32_t const* strides_y, int32_t const* strides_x, int64_t batch, int64_t out_h, int64_t out_w, int64_t n,
    int64_t c, int64_t h, int64_t w, int64_t* out_shape)
{
    unwarp::Params p;
    if (char const* err = unwarp::makeParams(p, n_layers, strides_y, strides_x, batch, out_h, out_w, n, c, h, w))
        return ref::fail(err);
    ref::writeShape(out_shape, p.batch, p.channels, p.outH, p.outW);
    if (y == nullptr)
        return 0;
    if (x == nullptr)
        return ref::fail("x is null");
    if (dtype == static_cast<int32_t>(DType::kFLOAT32))
        gather(p, static_cast<float const*>(x), static_cast<float*>(y));
    else if (dtype == static_cast<int32_t>(DType::kFLOAT16))
        gather(p, static_cast<HostHalf const*>(x), static_cast<HostHalf*>(y));
    else
        return ref::fail("dtype must be 0 (float32) or 1 (float16)");
    return 0;
}
