// EdgeMultiPoolUnwarp: the one definition of an output element (README.md "Element definition").
// Compiled by nvcc for the CUDA kernel and by the host compiler for the CPU reference.
#pragma once

#include "../common/edge_common.h"

namespace edge
{
namespace unwarp
{

constexpr int32_t kMaxLayers = 8;

//! Everything the gather needs; the launcher and the reference take it by value.
struct Params
{
    int32_t nLayers{0};
    int32_t sy[kMaxLayers]{}; //!< per strided layer, first layer first
    int32_t sx[kMaxLayers]{};
    int64_t batch{0}; //!< B of the output
    int64_t channels{0};
    int64_t inH{0}; //!< h of the input
    int64_t inW{0};
    int64_t outH{0}; //!< resolved: never 0
    int64_t outW{0};
};

//! Flat index into X (N, C, h, w) of output element (b, c, y, x) of Y (B, C, outH, outW).
//! Digits come off y and x first layer first (least significant); the shift number m is the mixed-radix
//! number (i_n, j_n, ..., i_1, j_1) with radix (sy_l, sx_l): the batch layout of edge.dense's body.
//! I is the index type: int64_t always works; the CUDA launcher uses int32_t when the input volume fits
//! (every intermediate below is at most the input volume, see fitsInt32()).
//! The layer loop is unrolled to kMaxLayers with constant indices: a dynamic p.sy[l] made nvcc copy Params
//! to a local-memory stack frame (120 bytes on sm_87).
template <typename I>
EDGE_HD I sourceIndex(Params const& p, I b, I c, I y, I x)
{
    I m = 0;
    I radix = 1;
    EDGE_UNROLL
    for (int32_t l = 0; l < kMaxLayers; ++l)
    {
        if (l >= p.nLayers)
            break;
        I const sy = static_cast<I>(p.sy[l]);
        I const sx = static_cast<I>(p.sx[l]);
        I const qy = y / sy; // one division per digit: the remainder is y - qy * sy
        I const qx = x / sx;
        m += ((y - qy * sy) * sx + (x - qx * sx)) * radix;
        radix *= sy * sx;
        y = qy;
        x = qx;
    }
    return (((m * static_cast<I>(p.batch) + b) * static_cast<I>(p.channels) + c) * static_cast<I>(p.inH) + y)
        * static_cast<I>(p.inW)
        + x;
}

//! Flat output index -> source index (output is NCHW contiguous); I as in sourceIndex().
template <typename I>
EDGE_HD I sourceOfOutput(Params const& p, I idx)
{
    I const outW = static_cast<I>(p.outW), outH = static_cast<I>(p.outH), ch = static_cast<I>(p.channels);
    I q = idx / outW;
    I const x = idx - q * outW;
    idx = q;
    q = idx / outH;
    I const y = idx - q * outH;
    idx = q;
    q = idx / ch;
    I const c = idx - q * ch;
    return sourceIndex<I>(p, q, c, y, x);
}

//! Number of input elements N * C * h * w (N = batch * M).
EDGE_HD int64_t inputVolume(Params const& p)
{
    int64_t m = 1;
    for (int32_t l = 0; l < p.nLayers; ++l)
        m *= static_cast<int64_t>(p.sy[l]) * p.sx[l];
    return m * p.batch * p.channels * p.inH * p.inW;
}

//! Number of output elements.
EDGE_HD int64_t outputVolume(Params const& p)
{
    return p.batch * p.channels * p.outH * p.outW;
}

//! True when int32 index math is exact: every index and intermediate of sourceOfOutput() is below the output
//! or the input volume (m * batch + b < N, ..., and the output digits below outputVolume()).
inline bool fitsInt32(Params const& p)
{
    return outputVolume(p) <= INT32_MAX && inputVolume(p) <= INT32_MAX;
}

//! Fills p from the attributes and the input shape (N, C, h, w); returns nullptr or the reason it is invalid.
//! batch, outH, outW may be 0 (derive / no crop). Shared by the plugin, the launcher and the CPU reference.
inline char const* makeParams(Params& p, int32_t nLayers, int32_t const* sy, int32_t const* sx, int64_t batch,
    int64_t outH, int64_t outW, int64_t n, int64_t c, int64_t h, int64_t w)
{
    if (nLayers < 1 || nLayers > kMaxLayers)
        return "strides_y/strides_x must list 1 to 8 strided layers";
    int64_t m = 1, totY = 1, totX = 1;
    p.nLayers = nLayers;
    for (int32_t l = 0; l < nLayers; ++l)
    {
        if (sy[l] < 1 || sx[l] < 1)
            return "every stride in strides_y/strides_x must be >= 1";
        p.sy[l] = sy[l];
        p.sx[l] = sx[l];
        m *= static_cast<int64_t>(sy[l]) * sx[l];
        totY *= sy[l];
        totX *= sx[l];
    }
    if (n < 0 || c < 0 || h < 0 || w < 0)
        return "input dimensions must be known and >= 0";
    if (batch < 0 || outH < 0 || outW < 0)
        return "batch, out_h and out_w must be >= 0 (0 = derive / no crop)";
    if (batch == 0)
    {
        if (n % m != 0)
            return "input batch N is not a multiple of M = prod(strides_y * strides_x)";
        batch = n / m;
    }
    else if (batch * m != n)
        return "input batch N differs from batch * prod(strides_y * strides_x)";
    if (outH > h * totY || outW > w * totX)
        return "out_h/out_w exceed the uncropped size h*prod(strides_y) / w*prod(strides_x)";
    p.batch = batch;
    p.channels = c;
    p.inH = h;
    p.inW = w;
    p.outH = outH == 0 ? h * totY : outH;
    p.outW = outW == 0 ? w * totX : outW;
    return nullptr;
}

} // namespace unwarp
} // namespace edge
