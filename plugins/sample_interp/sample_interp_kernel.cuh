// EdgeSampleInterp: the one definition of an output element (README.md "Element definition").
// Compiled by nvcc for the CUDA kernels and by the host compiler for the CPU reference.
#pragma once

#include "../common/edge_common.h"

#include <cstddef>

namespace edge
{
namespace sinterp
{

constexpr float kEps = 1e-5f; //!< the 1e-5 of N = conv2d(M, K) + 1e-5 (docs/METHODS.md §4)

enum Activation : int32_t
{
    kNONE = 0,
    kRELU = 1,
    kRELU6 = 2,
};

//! Attributes plus resolved shapes. X (B, Cin, H, W), M (B, 1, Ho, Wo), W (Cout, Cin/groups, kh, kw).
struct Params
{
    int64_t batch{0}, cin{0}, inH{0}, inW{0};
    int64_t cout{0}, kh{0}, kw{0}, outH{0}, outW{0};
    int32_t sy{1}, sx{1}, py{0}, px{0}, dy{1}, dx{1};
    int32_t groups{1}, activation{kNONE}, window{7};
    float lambda{0.f};
};

//! a / b rounded towards minus infinity (b > 0): TensorRT's DimensionOperation::kFLOOR_DIV ("Floor division
//! of the first element by the second", NvInferRuntime.h release/10.3 l.184), which the plugin's
//! getOutputShapes() uses. C++'s / truncates towards zero and differs for a negative a.
EDGE_HD int64_t floorDiv(int64_t a, int64_t b)
{
    int64_t const q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

//! Output size of the convolution: floor((in + 2p - d(k-1) - 1) / s) + 1, <= 0 when the input is smaller
//! than the dilated kernel (then setShapes() rejects the shapes, as the engine's shape would be <= 0 too).
EDGE_HD int64_t convOutSize(int64_t in, int64_t k, int32_t s, int32_t p, int32_t d)
{
    return floorDiv(in + 2 * p - d * (k - 1) - 1, s) + 1;
}

//! Length of one receptive field: Cin/groups * kh * kw (the GEMM's K).
EDGE_HD int64_t fieldSize(Params const& p)
{
    return p.cin / p.groups * p.kh * p.kw;
}

//! Element k of the receptive field of output (b, yo, xo) in group g, zero padding included
//! (k = (ci * kh + ky) * kw + kx, ci local to the group). This is the im2col gather of the GEMM.
template <typename T>
EDGE_HD float convInput(Params const& p, T const* x, int64_t b, int32_t g, int64_t yo, int64_t xo, int64_t k)
{
    int64_t const kx = k % p.kw;
    int64_t const ky = (k / p.kw) % p.kh;
    int64_t const ci = k / (p.kw * p.kh) + g * (p.cin / p.groups);
    int64_t const yi = yo * p.sy - p.py + ky * p.dy;
    int64_t const xi = xo * p.sx - p.px + kx * p.dx;
    if (yi < 0 || yi >= p.inH || xi < 0 || xi >= p.inW)
        return 0.f;
    return toFloat(x[((b * p.cin + ci) * p.inH + yi) * p.inW + xi]);
}

EDGE_HD float activate(int32_t act, float v)
{
    if (act == kRELU)
        return v > 0.f ? v : 0.f;
    if (act == kRELU6)
        return v > 0.f ? (v < 6.f ? v : 6.f) : 0.f;
    return v;
}

//! F at output (b, co, yo, xo): act(sum_k W[co, k] * field[k] + bias[co]), accumulated in float, k ascending.
//! The CUDA GEMM computes the same sum tile by tile (same terms, another summation order).
template <typename T>
EDGE_HD float convAt(Params const& p, T const* x, T const* w, T const* bias, int64_t b, int64_t co, int64_t yo,
    int64_t xo)
{
    int64_t const kSize = fieldSize(p);
    int32_t const g = static_cast<int32_t>(co / (p.cout / p.groups));
    float acc = 0.f;
    for (int64_t k = 0; k < kSize; ++k)
        acc += toFloat(w[co * kSize + k]) * convInput(p, x, b, g, yo, xo, k);
    return activate(p.activation, acc + toFloat(bias[co]));
}

//! A mask value counts as sampled above 0.5 (masks hold 0/1; the same rule as torch.ops.edge.sample_interp).
EDGE_HD bool isSampled(float m)
{
    return m > 0.5f;
}

//! RBF weight K(d) = exp(-lambda * |d|^2) of the integer offset (du, dv).
EDGE_HD float rbf(float lambda, int32_t du, int32_t dv)
{
    return expf(-lambda * static_cast<float>(du * du + dv * dv));
}

//! Output (b, c, yo, xo) given F (B, Cout, Ho, Wo; valid where the mask is set) and the mask (B, 1, Ho, Wo):
//! F where sampled, else sum(K * M * F) / (sum(K * M) + 1e-5) over the window (0 with no sampled neighbour).
template <typename T>
EDGE_HD float interpAt(Params const& p, T const* mask, T const* f, int64_t b, int64_t c, int64_t yo, int64_t xo)
{
    int64_t const plane = p.outH * p.outW;
    T const* m = mask + b * plane;
    T const* fc = f + (b * p.cout + c) * plane;
    if (isSampled(toFloat(m[yo * p.outW + xo])))
        return toFloat(fc[yo * p.outW + xo]);
    int32_t const r = p.window / 2;
    float num = 0.f, den = 0.f;
    for (int32_t du = -r; du <= r; ++du)
    {
        int64_t const y = yo + du;
        if (y < 0 || y >= p.outH)
            continue;
        for (int32_t dv = -r; dv <= r; ++dv)
        {
            int64_t const x = xo + dv;
            if (x < 0 || x >= p.outW || !isSampled(toFloat(m[y * p.outW + x])))
                continue;
            float const k = rbf(p.lambda, du, dv);
            num += k * toFloat(fc[y * p.outW + x]);
            den += k;
        }
    }
    return num / (den + kEps);
}

inline size_t workspaceAlign(size_t v)
{
    return (v + 255) / 256 * 256;
}

//! Bytes of workspace the CUDA launcher needs: the compacted position list (B*Ho*Wo int32 + a counter) and
//! F (B*Cout*Ho*Wo elements of `elementSize` bytes), each 256-byte aligned.
inline size_t workspaceSize(Params const& p, size_t elementSize)
{
    size_t const positions = static_cast<size_t>(p.batch * p.outH * p.outW);
    return workspaceAlign((positions + 1) * sizeof(int32_t))
        + workspaceAlign(positions * static_cast<size_t>(p.cout) * elementSize);
}

//! Validates attributes (no shapes needed); returns nullptr or the reason. Shared by plugin and reference.
inline char const* checkAttributes(Params const& p)
{
    if (p.sy < 1 || p.sx < 1)
        return "stride must be two values >= 1";
    if (p.py < 0 || p.px < 0)
        return "padding must be two values >= 0";
    if (p.dy < 1 || p.dx < 1)
        return "dilation must be two values >= 1";
    if (p.groups < 1 || p.groups > 65535)
        return "groups must be in [1, 65535]";
    if (p.activation < kNONE || p.activation > kRELU6)
        return "activation must be 0 (none), 1 (relu) or 2 (relu6)";
    if (p.window < 1 || p.window % 2 == 0)
        return "window must be odd and >= 1";
    if (!(p.lambda >= 0.f) || !std::isfinite(p.lambda))
        return "lambda must be finite and >= 0";
    return nullptr;
}

//! Attributes from the C ABI array {sy, sx, py, px, dy, dx, groups, activation, window} (edge_sample_interp_ref
//! and the fast host path share it).
inline Params paramsFromAttrs(int32_t const* attrs, float lambda)
{
    Params p;
    p.sy = attrs[0];
    p.sx = attrs[1];
    p.py = attrs[2];
    p.px = attrs[3];
    p.dy = attrs[4];
    p.dx = attrs[5];
    p.groups = attrs[6];
    p.activation = attrs[7];
    p.window = attrs[8];
    p.lambda = lambda;
    return p;
}

//! Fills the shapes from X (B, Cin, H, W), W (Cout, Cin/groups, kh, kw) and checks them against the mask
//! shape (mb, mc, mh, mw); returns nullptr or the reason.
inline char const* setShapes(Params& p, int64_t const* xs, int64_t const* ws, int64_t const* ms, int64_t biasLen)
{
    if (char const* err = checkAttributes(p))
        return err;
    p.batch = xs[0];
    p.cin = xs[1];
    p.inH = xs[2];
    p.inW = xs[3];
    p.cout = ws[0];
    p.kh = ws[2];
    p.kw = ws[3];
    if (p.cin % p.groups != 0 || p.cout % p.groups != 0)
        return "Cin and Cout must be multiples of groups";
    if (ws[1] != p.cin / p.groups)
        return "weight dim 1 must be Cin / groups";
    if (biasLen != p.cout)
        return "bias length must equal Cout (weight dim 0)";
    if (p.kh < 1 || p.kw < 1)
        return "kernel size must be >= 1";
    p.outH = convOutSize(p.inH, p.kh, p.sy, p.py, p.dy);
    p.outW = convOutSize(p.inW, p.kw, p.sx, p.px, p.dx);
    if (p.outH < 1 || p.outW < 1)
        return "the convolution output is empty (input smaller than the dilated kernel)";
    if (ms[0] != p.batch || ms[1] != 1 || ms[2] != p.outH || ms[3] != p.outW)
        return "mask must be (B, 1, Ho, Wo) at the convolution's output resolution";
    if (p.batch * p.outH * p.outW > INT32_MAX - 1)
        return "B * Ho * Wo must fit in int32";
    return nullptr;
}

} // namespace sinterp
} // namespace edge
