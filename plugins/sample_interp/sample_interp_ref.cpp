// CPU reference of EdgeSampleInterp, built from the same convAt()/interpAt() as the CUDA kernels: the
// convolution is evaluated only at sampled positions (F is stored in the I/O type, like the kernels'
// workspace), then every output element is interpAt(). C ABI for ctypes (edge/native).
#include "../common/edge_ref.h"
#include "sample_interp_kernel.cuh"

#include <vector>

using namespace edge;
using edge::sinterp::isSampled;

namespace
{
template <typename T>
void run(sinterp::Params const& p, T const* x, T const* mask, T const* w, T const* bias, T* y)
{
    int64_t const plane = p.outH * p.outW;
    std::vector<T> f(static_cast<size_t>(p.batch * p.cout * plane));
    for (int64_t b = 0; b < p.batch; ++b)
        for (int64_t pos = 0; pos < plane; ++pos)
        {
            if (!isSampled(toFloat(mask[b * plane + pos])))
                continue; // the convolution is skipped where the mask is 0
            int64_t const yo = pos / p.outW, xo = pos % p.outW;
            for (int64_t co = 0; co < p.cout; ++co)
                fromFloat(sinterp::convAt(p, x, w, bias, b, co, yo, xo), f[(b * p.cout + co) * plane + pos]);
        }
    for (int64_t b = 0; b < p.batch; ++b)
        for (int64_t c = 0; c < p.cout; ++c)
            for (int64_t pos = 0; pos < plane; ++pos)
                fromFloat(sinterp::interpAt(p, mask, f.data(), b, c, pos / p.outW, pos % p.outW),
                    y[(b * p.cout + c) * plane + pos]);
}
} // namespace

//! Y (B, Cout, Ho, Wo). Shapes: x_shape (B, Cin, H, W), mask_shape (B, 1, Ho, Wo), w_shape (Cout, Cin/g, kh, kw);
//! attrs = {sy, sx, py, px, dy, dx, groups, activation, window}. out_shape (4 int64) receives (B, Cout, Ho, Wo);
//! with y == nullptr only the shape is computed. Returns 0 or -1 (see edge_ref_last_error()).
extern "C" EDGE_REF_API int32_t edge_sample_interp_ref(void const* x, void const* mask, void const* w,
    void const* bias, void* y, int32_t dtype, int64_t const* x_shape, int64_t const* mask_shape,
    int64_t const* w_shape, int64_t bias_len, int32_t const* attrs, float lambda, int64_t* out_shape)
{
    sinterp::Params p = sinterp::paramsFromAttrs(attrs, lambda);
    if (char const* err = sinterp::setShapes(p, x_shape, w_shape, mask_shape, bias_len))
        return ref::fail(err);
    ref::writeShape(out_shape, p.batch, p.cout, p.outH, p.outW);
    if (y == nullptr)
        return 0;
    if (!x || !mask || !w || !bias)
        return ref::fail("an input pointer is null");
    if (dtype == static_cast<int32_t>(DType::kFLOAT32))
        run(p, static_cast<float const*>(x), static_cast<float const*>(mask), static_cast<float const*>(w),
            static_cast<float const*>(bias), static_cast<float*>(y));
    else if (dtype == static_cast<int32_t>(DType::kFLOAT16))
        run(p, static_cast<HostHalf const*>(x), static_cast<HostHalf const*>(mask), static_cast<HostHalf const*>(w),
            static_cast<HostHalf const*>(bias), static_cast<HostHalf*>(y));
    else
        return ref::fail("dtype must be 0 (float32) or 1 (float16)");
    return 0;
}
