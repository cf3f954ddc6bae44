// Fused fast host path of EdgeSampleInterp: ONE call (edge_sample_interp_cpu_run, made by edge/native/
// sample_interp_cpu.py) does index -> (receptive fields -> GEMM -> bias + activation) in blocks of up to kBlock
// sampled positions -> interpolation. A channels-last input is read in place through kh*kw tap pointers per
// position (an indirect GEMM, as XNNPACK's convolutions do); another layout is gathered block by block (110 KB
// for 48 positions at 64 channels: it stays in L2) or, when more field elements than input elements would be
// gathered, copied to channels-last once. No full-size gathered matrix goes to memory and back, and there is no
// separate BLAS call.
//
// GEMM: a register-blocked 6x16 micro-kernel (12 accumulators of 8 floats, one broadcast of A and two loads of
// the packed weights per k) on weights packed once into panels of 16 output channels (K x 16 floats each, zero
// padded). GCC vector extensions: AVX2+FMA in the x86-64-v3 clone, NEON on aarch64, SSE otherwise. Measured on
// this project's x86 machine (AMD EPYC, 1 thread, blocks of 48 rows): 85-93 GFLOP/s, vs 62-75 GFLOP/s for MKL's
// sgemm and packed cblas_sgemm_compute on the same blocks (docs/BENCHMARKS.md), so no BLAS is linked: the library
// stays standalone (the plugins' CPU reference) and needs no function pointers from torch.
#include "../common/edge_ref.h"
#include "sample_interp_cpu.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

using namespace edge;
using namespace edge::sinterp;
using namespace edge::sinterp::cpu;

namespace
{
constexpr int64_t kNR = 16;    //!< output channels per weight panel (two 8-float vectors)
constexpr int64_t kBlock = 48; //!< sampled positions per block (8 micro-tiles of 6 rows)

int64_t panels(Params const& p)
{
    return (p.cout / p.groups + kNR - 1) / kNR;
}

//! Activation of the MR x 16 accumulators (bias already in), stored to rows[0:MR, 0:cols] (row stride ldr).
template <int MR>
inline __attribute__((always_inline)) void storeTile(Vec8 (&c0)[MR], Vec8 (&c1)[MR], int32_t act, float* rows,
    int64_t ldr, int64_t cols)
{
    Vec8 const zero = {}, six = zero + 6.f;
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i)
    {
        if (act != kNONE) // same comparisons as activate(): v > 0 ? (relu6: min(v, 6)) : 0
        {
            c0[i] = c0[i] > zero ? c0[i] : zero;
            c1[i] = c1[i] > zero ? c1[i] : zero;
            if (act == kRELU6)
            {
                c0[i] = c0[i] < six ? c0[i] : six;
                c1[i] = c1[i] < six ? c1[i] : six;
            }
        }
        float* r = rows + i * ldr;
        if (cols == kNR)
        {
            *reinterpret_cast<Vec8*>(r) = c0[i];
            *reinterpret_cast<Vec8*>(r + 8) = c1[i];
        }
        else // the last panel of a group whose channel count is not a multiple of 16
        {
            float tmp[kNR];
            *reinterpret_cast<Vec8*>(tmp) = c0[i];
            *reinterpret_cast<Vec8*>(tmp + 8) = c1[i];
            std::memcpy(r, tmp, sizeof(float) * cols);
        }
    }
}

//! rows[0:MR, 0:cols] = act(A @ B + bias) for one packed panel B (taps*cg x 16) and MR positions whose receptive
//! fields are read through `ind` (MR x taps pointers, row i at ind + i*taps: cg contiguous channels per tap,
//! a zero run for taps in the padding): an indirect GEMM that reads the channels-last input in place.
template <int MR>
inline __attribute__((always_inline)) void microTile(int64_t taps, int64_t cg, float const* const* __restrict ind,
    float const* __restrict B, float const* __restrict bias, int32_t act, float* __restrict rows, int64_t ldr,
    int64_t cols)
{
    Vec8 c0[MR], c1[MR];
    Vec8 const b0 = *reinterpret_cast<Vec8 const*>(bias), b1 = *reinterpret_cast<Vec8 const*>(bias + 8);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i)
    {
        c0[i] = b0;
        c1[i] = b1;
    }
    for (int64_t t = 0; t < taps; ++t, B += cg * kNR)
    {
        float const* a[MR];
#pragma GCC unroll 8
        for (int i = 0; i < MR; ++i)
            a[i] = ind[i * taps + t];
        for (int64_t k = 0; k < cg; ++k)
        {
            Vec8 const w0 = *reinterpret_cast<Vec8 const*>(B + k * kNR);
            Vec8 const w1 = *reinterpret_cast<Vec8 const*>(B + k * kNR + 8);
#pragma GCC unroll 8
            for (int i = 0; i < MR; ++i)
            {
                c0[i] += a[i][k] * w0;
                c1[i] += a[i][k] * w1;
            }
        }
    }
    storeTile<MR>(c0, c1, act, rows, ldr, cols);
}

//! Software prefetch of n tap runs of cg floats (scattered reads of the input that the hardware prefetcher does
//! not see coming: they cost DRAM latency when the input is not in cache).
inline void prefetchTile(float const* const* ind, int64_t n, int64_t cg)
{
    for (int64_t t = 0; t < n; ++t)
        for (int64_t c = 0; c < cg; c += 16)
            __builtin_prefetch(ind[t] + c);
}

//! rows[0:m, 0:cog] (row stride ldr) = act(fields @ W_g + bias_g) for one group g: ind (m x taps pointers, see
//! microTile), Bp the group's np packed panels, biasp its bias padded to np * 16.
EDGE_HOT void gemmBlock(int64_t m, int64_t taps, int64_t cg, int64_t np, int64_t cog, float const* const* ind,
    float const* Bp, float const* biasp, int32_t act, float* rows, int64_t ldr)
{
    int64_t const K = taps * cg;
    // tile-major: the 6 receptive fields of a tile stay in L1 while every panel of weights streams past them
    for (int64_t i = 0; i < m; i += 6)
    {
        int64_t const mr = std::min<int64_t>(6, m - i);
        if (i + 6 < m) // fetch the next tile's receptive fields while this one computes
            prefetchTile(ind + (i + 6) * taps, std::min<int64_t>(6, m - i - 6) * taps, cg);
        float const* const* a = ind + i * taps;
        for (int64_t j = 0; j < np; ++j)
        {
            float const* B = Bp + j * K * kNR;
            float const* bias = biasp + j * kNR;
            int64_t const cols = std::min(kNR, cog - j * kNR);
            float* out = rows + i * ldr + j * kNR;
            switch (mr)
            {
            case 6: microTile<6>(taps, cg, a, B, bias, act, out, ldr, cols); break;
            case 5: microTile<5>(taps, cg, a, B, bias, act, out, ldr, cols); break;
            case 4: microTile<4>(taps, cg, a, B, bias, act, out, ldr, cols); break;
            case 3: microTile<3>(taps, cg, a, B, bias, act, out, ldr, cols); break;
            case 2: microTile<2>(taps, cg, a, B, bias, act, out, ldr, cols); break;
            default: microTile<1>(taps, cg, a, B, bias, act, out, ldr, cols); break;
            }
        }
    }
}

double seconds()
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

//! Pointers to the kh*kw taps of the receptive field of output (b, oy, ox) in group g (cg contiguous channels each,
//! channels-last x: xs[1] == 1), `zeros` for taps in the padding.
void fieldPointers(Params const& p, float const* x, int64_t const* xs, int64_t b, int64_t oy, int64_t ox, int32_t g,
    float const* zeros, float const** dst)
{
    float const* xb = x + b * xs[0] + g * (p.cin / p.groups) * xs[1];
    for (int64_t ky = 0; ky < p.kh; ++ky)
    {
        int64_t const yi = oy * p.sy - p.py + ky * p.dy;
        for (int64_t kx = 0; kx < p.kw; ++kx)
        {
            int64_t const xi = ox * p.sx - p.px + kx * p.dx;
            bool const in = yi >= 0 && yi < p.inH && xi >= 0 && xi < p.inW;
            *dst++ = in ? xb + yi * xs[2] + xi * xs[3] : zeros;
        }
    }
}

//! x (element strides xs) copied to a channels-last buffer xc (B, H, W, Cin): the tap pointers of the GEMM then
//! read it in place. Cheaper than gathering from a channels-first x once the gathered fields outnumber x's elements.
void toChannelsLast(Params const& p, float const* x, int64_t const* xs, float* xc, int nt)
{
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t by = 0; by < p.batch * p.inH; ++by)
    {
        float const* src = x + (by / p.inH) * xs[0] + (by % p.inH) * xs[2];
        float* dst = xc + by * p.inW * p.cin;
        for (int64_t xi = 0; xi < p.inW; ++xi) // the Cin source lines of 16 consecutive xi stay in L1
            for (int64_t c = 0; c < p.cin; ++c)
                dst[xi * p.cin + c] = src[c * xs[1] + xi * xs[3]];
    }
}

//! The conv rows (P, Cout) of the sampled positions, block by block: receptive fields -> GEMM -> bias + activation.
//! A channels-last x is read in place through tap pointers (indirect GEMM); any other layout is gathered first
//! into a block of kBlock fields (kh*kw*cg floats each). biasp: the bias padded like the weight panels.
//! stages (optional): seconds spent in the gather or pointer setup [1] and the GEMM [2], summed over threads.
void blockRows(Params const& p, float const* x, int64_t const* xs, int32_t const* pos, int64_t npos,
    float const* packed, float const* biasp, float* rows, int nt, double* stages)
{
    int64_t const K = fieldSize(p), np = panels(p), cg = p.cin / p.groups, cog = p.cout / p.groups;
    int64_t const taps = p.kh * p.kw, plane = p.outH * p.outW;
    // a multiple of the thread count of blocks (at least one per thread), sizes rounded up to whole 6-row tiles:
    // the static schedule then gives every thread the same number of rows, to a tile (7 blocks of 48 would give
    // one thread 4 and the other 3: 14 % idle)
    int64_t const want = (std::max<int64_t>((npos + kBlock - 1) / kBlock, nt) + nt - 1) / nt * nt;
    int64_t const size = std::min(kBlock, ((npos + want - 1) / want + 5) / 6 * 6), blocks = (npos + size - 1) / size;
    bool const direct = xs[1] == 1;
    int32_t const plane32 = static_cast<int32_t>(plane), outW32 = static_cast<int32_t>(p.outW); // pos is int32
    int64_t const yReach = (p.kh - 1) * p.dy, xReach = (p.kw - 1) * p.dx;
    std::vector<int64_t> tapOff(static_cast<size_t>(taps)); // element offset of each tap from the first one
    for (int64_t ky = 0; ky < p.kh; ++ky)
        for (int64_t kx = 0; kx < p.kw; ++kx)
            tapOff[ky * p.kw + kx] = ky * p.dy * xs[2] + kx * p.dx * xs[3];
#pragma omp parallel num_threads(nt)
    {
        thread_local std::vector<float> cols, zeros; // kept per (OpenMP worker) thread
        thread_local std::vector<float const*> ind;
        cols.resize(direct ? 0 : static_cast<size_t>(kBlock * K));
        zeros.assign(static_cast<size_t>(cg), 0.f);
        ind.resize(static_cast<size_t>(kBlock * taps));
        double tGather = 0.0, tGemm = 0.0;
#pragma omp for schedule(static)
        for (int64_t blk = 0; blk < blocks; ++blk)
        {
            int64_t const i0 = blk * size, m = std::min(size, npos - i0);
            for (int32_t g = 0; g < p.groups; ++g)
            {
                double const t0 = stages ? seconds() : 0.0;
                for (int64_t i = 0; i < m; ++i)
                {
                    int32_t const at = pos[i0 + i]; // 32-bit divisions: a few cycles cheaper each
                    int32_t const b = at / plane32, rem = at - b * plane32, oy = rem / outW32, ox = rem - oy * outW32;
                    int64_t const y0 = int64_t{oy} * p.sy - p.py, x0 = int64_t{ox} * p.sx - p.px;
                    if (direct && y0 >= 0 && y0 + yReach < p.inH && x0 >= 0 && x0 + xReach < p.inW)
                    { // interior position: every tap inside x, at fixed offsets from the first one
                        float const* first = x + b * xs[0] + g * cg * xs[1] + y0 * xs[2] + x0 * xs[3];
                        float const** dst = ind.data() + i * taps;
                        for (int64_t t = 0; t < taps; ++t)
                            dst[t] = first + tapOff[t];
                    }
                    else if (direct)
                        fieldPointers(p, x, xs, b, oy, ox, g, zeros.data(), ind.data() + i * taps);
                    else
                    {
                        gatherField(p, x, xs, b, oy, ox, g, cols.data() + i * K);
                        for (int64_t t = 0; t < taps; ++t)
                            ind[i * taps + t] = cols.data() + i * K + t * cg;
                    }
                }
                double const t1 = stages ? seconds() : 0.0;
                gemmBlock(m, taps, cg, np, cog, ind.data(), packed + g * np * K * kNR, biasp + g * np * kNR,
                    p.activation, rows + i0 * p.cout + g * cog, p.cout);
                if (stages)
                {
                    tGather += t1 - t0;
                    tGemm += seconds() - t1;
                }
            }
        }
        if (stages)
        {
#pragma omp critical(edge_sinterp_stages)
            {
                stages[1] += tGather;
                stages[2] += tGemm;
            }
        }
    }
}

//! blockRows() with the bias padded like the panels and, when more fields than x's elements would be gathered
//! from a channels-first x, x copied to channels-last first (the copy counts as stage 1).
void convRows(Params const& p, float const* x, int64_t const* xs, int32_t const* pos, int64_t npos,
    float const* packed, float const* bias, float* rows, int nt, double* stages)
{
    int64_t const np = panels(p), cog = p.cout / p.groups;
    thread_local std::vector<float> biasp; // 16 floats per panel, kept per calling thread
    biasp.assign(static_cast<size_t>(p.groups * np * kNR), 0.f);
    for (int64_t co = 0; co < p.cout; ++co)
        biasp[(co / cog) * np * kNR + co % cog] = bias[co];
    int64_t const clStrides[4] = {p.inH * p.inW * p.cin, 1, p.inW * p.cin, p.cin};
    thread_local KeptBuffer keep;
    std::unique_ptr<float[]> fresh;
    if (xs[1] != 1 && npos * fieldSize(p) >= p.batch * p.cin * p.inH * p.inW)
    {
        double const t0 = stages ? seconds() : 0.0;
        float* xc = keep.get(static_cast<size_t>(p.batch * p.inH * p.inW * p.cin), fresh);
        toChannelsLast(p, x, xs, xc, nt);
        x = xc;
        xs = clStrides;
        if (stages)
            stages[1] += seconds() - t0;
    }
    blockRows(p, x, xs, pos, npos, packed, biasp.data(), rows, nt, stages);
}
} // namespace

//! Floats of the packed weights of a layer (w_shape (Cout, Cin/groups, kh, kw)): groups x ceil(Cout/groups/16)
//! panels of kh*kw*Cin/groups x 16. -1 on bad input.
extern "C" EDGE_REF_API int64_t edge_sample_interp_cpu_packed_size(int64_t const* w_shape, int32_t groups)
{
    if (groups < 1 || w_shape[0] < 1 || w_shape[0] % groups || w_shape[1] < 1 || w_shape[2] < 1 || w_shape[3] < 1)
        return ref::fail("packed_size: weight must be (Cout, Cin/groups, kh, kw) with Cout a multiple of groups");
    Params p;
    p.cout = w_shape[0], p.groups = groups, p.cin = w_shape[1] * groups, p.kh = w_shape[2], p.kw = w_shape[3];
    return p.groups * panels(p) * kNR * fieldSize(p);
}

//! Packs weight (contiguous (Cout, Cin/groups, kh, kw) float32) for edge_sample_interp_cpu_run: panel (g, j)
//! holds rows k = (ky*kw + kx)*cg + ci (the gathered order) of output channels g*cog + 16j .. +15, zero padded.
extern "C" EDGE_REF_API int32_t edge_sample_interp_cpu_pack(float const* weight, int64_t const* w_shape,
    int32_t groups, float* packed)
{
    int64_t const size = edge_sample_interp_cpu_packed_size(w_shape, groups);
    if (size < 0)
        return -1;
    int64_t const cout = w_shape[0], cg = w_shape[1], kh = w_shape[2], kw = w_shape[3];
    int64_t const cog = cout / groups, np = (cog + kNR - 1) / kNR, K = cg * kh * kw;
    std::fill(packed, packed + size, 0.f);
    for (int64_t co = 0; co < cout; ++co)
    {
        float* panel = packed + ((co / cog) * np + (co % cog) / kNR) * K * kNR + co % cog % kNR;
        for (int64_t ci = 0; ci < cg; ++ci)
            for (int64_t t = 0; t < kh * kw; ++t)
                panel[(t * cg + ci) * kNR] = weight[(co * cg + ci) * kh * kw + t];
    }
    return 0;
}

//! The whole op in one call. x: float32, element strides x_strides of (B, Cin, H, W); mask (B*Ho*Wo float32,
//! contiguous, > 0.5 = sampled); packed: edge_sample_interp_cpu_pack of this layer's weight; bias (Cout); out
//! (B, Ho, Wo, Cout). Shapes/attrs as edge_sample_interp_ref, method/threads as edge_sample_interp_cpu_interp.
//! Returns P (the sampled count) when done; -2 without writing anything when P >= dense_above * B*Ho*Wo (the
//! caller runs the convolution densely); -1 on bad input. stages (optional, 4 doubles, added to): seconds in
//! index, receptive fields (tap pointers, gather or channels-last copy), GEMM (+ bias, activation) and
//! interpolation, summed over threads.
extern "C" EDGE_REF_API int64_t edge_sample_interp_cpu_run(float const* x, int64_t const* x_strides,
    int64_t const* x_shape, int64_t const* mask_shape, int64_t const* w_shape, int32_t const* attrs, float lambda,
    float const* mask, float const* packed, float const* bias, float dense_above, float* out, int32_t method,
    int32_t threads, double* stages)
{
    Params p;
    if (char const* err = readParams(p, x_shape, mask_shape, w_shape, attrs, lambda))
        return ref::fail(err);
    if (method < 0 || method > 2)
        return ref::fail("method must be 0 (auto), 1 (push) or 2 (separable)");
    if (!x || !x_strides || !mask || !packed || !bias || !out)
        return ref::fail("run: null pointer argument");
    int const nt = threadCount(threads);
    double const t0 = stages ? seconds() : 0.0;
    int64_t const n = p.batch * p.outH * p.outW;
    thread_local std::vector<int32_t> rowmap, pos; // kept per calling thread
    rowmap.resize(static_cast<size_t>(n));
    pos.resize(static_cast<size_t>(n));
    int64_t const npos = edge_sample_interp_cpu_index(mask, n, rowmap.data(), pos.data());
    if (npos > 0 && static_cast<double>(npos) >= static_cast<double>(dense_above) * static_cast<double>(n))
        return -2;
    double const t1 = stages ? seconds() : 0.0;
    thread_local KeptBuffer keep;
    std::unique_ptr<float[]> fresh;
    float* rows = keep.get(static_cast<size_t>(npos * p.cout), fresh);
    if (npos > 0)
        convRows(p, x, x_strides, pos.data(), npos, packed, bias, rows, nt, stages);
    double const t2 = stages ? seconds() : 0.0;
    if (char const* err = interpolate(p, rows, pos.data(), npos, rowmap.data(), out, method, nt))
        return ref::fail(err);
    if (stages)
    {
        stages[0] += t1 - t0;
        stages[3] += seconds() - t2;
    }
    return npos;
}
