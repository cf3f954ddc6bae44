// Fast host path of EdgeSampleInterp, used by torch.ops.edge.sample_interp on the CPU (edge/native/
// sample_interp_cpu.py). This file holds the parts around the GEMM; sample_interp_gemm.cpp the GEMM and the
// fused entry point edge_sample_interp_cpu_run that chains them in one call:
//   1. index:  mask -> list of sampled positions + a row map (position -> row of the compacted list);
//   2. gather: im2col of the sampled receptive fields only, taps outer, channels inner (one contiguous run of
//              Cin/G values per tap for channels-last input);
//   3. interp: every output element written once (B, Ho, Wo, Cout) from the activated GEMM rows:
//              a sampled position copies its row, an unsampled one gets the sum of K * row over its sampled
//              neighbours divided by their sum of K + 1e-5 (interpAt() of sample_interp_kernel.cuh): at low
//              density each sampled row is pushed into its window, at medium densities the sums run in
//              separable form (K = k1 k1^T: horizontal, then vertical), on 8-float vectors.
// Same Params/setShapes/activate/isSampled/rbf/kEps as the CUDA kernels and the reference. float32 only;
// OpenMP when the compiler has it (threads passed by the caller), else serial.
#include "../common/edge_ref.h"
#include "sample_interp_cpu.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

using namespace edge;
using namespace edge::sinterp::cpu;

namespace edge::sinterp::cpu
{
char const* readParams(Params& p, int64_t const* x_shape, int64_t const* mask_shape,
    int64_t const* w_shape, int32_t const* attrs, float lambda)
{
    p = paramsFromAttrs(attrs, lambda);
    return setShapes(p, x_shape, w_shape, mask_shape, w_shape[0]);
}

EDGE_HOT void gatherField(Params const& p, float const* x, int64_t const* xs, int64_t b, int64_t oy,
    int64_t ox, int32_t g, float* dst)
{
    int64_t const cg = p.cin / p.groups;
    float const* xb = x + b * xs[0] + g * cg * xs[1];
    for (int64_t ky = 0; ky < p.kh; ++ky)
    {
        int64_t const yi = oy * p.sy - p.py + ky * p.dy;
        for (int64_t kx = 0; kx < p.kw; ++kx, dst += cg)
        {
            int64_t const xi = ox * p.sx - p.px + kx * p.dx;
            if (yi < 0 || yi >= p.inH || xi < 0 || xi >= p.inW)
            {
                std::fill(dst, dst + cg, 0.f);
                continue;
            }
            float const* src = xb + yi * xs[2] + xi * xs[3];
            if (xs[1] == 1)
                std::copy(src, src + cg, dst);
            else
                for (int64_t c = 0; c < cg; ++c)
                    dst[c] = src[c * xs[1]];
        }
    }
}

int threadCount(int32_t threads)
{
#ifdef _OPENMP
    return std::max(1, static_cast<int>(threads));
#else
    (void) threads;
    return 1;
#endif
}
} // namespace edge::sinterp::cpu

namespace
{
//! Per-thread buffers of the separable passes: the current position's neighbour rows and weights.
struct Scratch
{
    std::vector<float const*> rows;
    std::vector<float> w;
    explicit Scratch(int32_t window)
        : rows(window)
        , w(window)
    {
    }
};

//! out[c0:c0+8*NV] = inv * sum_i w[i] * nb[i][off+c0:off+c0+8*NV]: NV independent accumulators in registers (a
//! single chain would wait for the FMA latency at every neighbour).
template <int NV>
inline __attribute__((always_inline)) void pullVec(float const* const* __restrict nb, float const* __restrict w,
    int32_t n, int64_t off, int64_t c0, float inv, float* out)
{
    Vec8 acc[NV] = {};
    for (int32_t i = 0; i < n; ++i)
    {
        Vec8 const* r = reinterpret_cast<Vec8 const*>(nb[i] + off + c0);
        for (int v = 0; v < NV; ++v)
            acc[v] += w[i] * r[v];
    }
    Vec8* o = reinterpret_cast<Vec8*>(out + c0);
    for (int v = 0; v < NV; ++v)
        o[v] = acc[v] * inv;
}

//! The same for one channel (the Cout % 8 tail).
inline float pull1(float const* const* nb, float const* w, int32_t n, int64_t c, float inv)
{
    float acc = 0.f;
    for (int32_t i = 0; i < n; ++i)
        acc += w[i] * nb[i][c];
    return acc * inv;
}

//! out[0:cout] = inv * sum_i w[i] * nb[i][off:off+cout], 64 / 32 / 8 channels per block, then a scalar tail.
inline __attribute__((always_inline)) void pullAll(
    float const* const* nb, float const* w, int32_t n, int64_t cout, float inv, float* out, int64_t off = 0)
{
    int64_t c = 0;
    for (; c + 64 <= cout; c += 64)
        pullVec<8>(nb, w, n, off, c, inv, out);
    for (; c + 32 <= cout; c += 32)
        pullVec<4>(nb, w, n, off, c, inv, out);
    for (; c + 8 <= cout; c += 8)
        pullVec<1>(nb, w, n, off, c, inv, out);
    for (; c < cout; ++c)
        out[c] = pull1(nb, w, n, off + c, inv);
}

//! o[0:n] += k * r[0:n] (8-float vectors, scalar tail).
inline __attribute__((always_inline)) void axpy(float* o, float const* r, float k, int64_t n)
{
    int64_t c = 0;
    for (; c + 8 <= n; c += 8)
        *reinterpret_cast<Vec8*>(o + c) += k * *reinterpret_cast<Vec8 const*>(r + c);
    for (; c < n; ++c)
        o[c] += k * r[c];
}

//! The per-thread ring of `window` output lines both interpolation forms accumulate in (~100 KB at 56 x 64 with
//! window 7: it stays in L2, where a full-size buffer would not): per line, `width * cout` weighted sums of rows and
//! `width` sums of weights; line `l` lives in slot `l % window`.
class LineRing
{
public:
    explicit LineRing(sinterp::Params const& p)
        : window_(p.window)
        , width_(p.outW)
        , cout_(p.cout)
    {
        thread_local KeptBuffer keep;
        data_ = keep.get(static_cast<size_t>(window_ * width_ * (cout_ + 1)), fresh_);
    }
    float* sums(int64_t line) const
    {
        return data_ + (line % window_) * width_ * cout_;
    }
    float* weights(int64_t line) const
    {
        return data_ + window_ * width_ * cout_ + (line % window_) * width_;
    }

private:
    int64_t window_, width_, cout_;
    std::unique_ptr<float[]> fresh_;
    float* data_;
};

//! Push form for low densities, on the output lines [first, last): every sampled position whose window reaches
//! these lines adds K * row to its unsampled neighbours (and K to their denominator) in a LineRing; a line is complete once the sampled positions r lines
//! below it have pushed, and is then written to `out` once: the row at a sampled position, the sum divided by
//! (sum K + 1e-5) elsewhere. ~P * window^2 row updates in all, instead of scanning `window` cursors at every
//! unsampled position, and `out` written once instead of zeroed, accumulated into and divided in place.
EDGE_HOT void pushLines(sinterp::Params const& p, float const* rows, int32_t const* pos, int32_t const* rowmap,
    int32_t const* lineStart, float const* k2, int64_t first, int64_t last, float* out)
{
    int32_t const r = p.window / 2;
    int64_t const width = p.outW, cout = p.cout, lines = p.batch * p.outH;
    LineRing const ring(p);
    for (int64_t s = first - r; s < last + r; ++s) // s: the source line whose sampled positions push now
    {
        if (s + r >= first && s + r < last) // line s + r receives its first pushes now
        {
            std::fill(ring.sums(s + r), ring.sums(s + r) + width * cout, 0.f);
            std::fill(ring.weights(s + r), ring.weights(s + r) + width, 0.f);
        }
        if (s >= 0 && s < lines)
        {
            int64_t const y = s % p.outH;
            for (int32_t j = lineStart[s]; j < lineStart[s + 1]; ++j)
            {
                int64_t const x = pos[j] - s * width;
                float const* row = rows + static_cast<int64_t>(j) * cout;
                for (int32_t du = -r; du <= r; ++du)
                {
                    int64_t const target = s + du;
                    if (y + du < 0 || y + du >= p.outH || target < first || target >= last)
                        continue;
                    float* num = ring.sums(target);
                    float* den = ring.weights(target);
                    for (int32_t dv = -r; dv <= r; ++dv)
                    {
                        int64_t const xx = x + dv;
                        if (xx < 0 || xx >= width || rowmap[target * width + xx] >= 0)
                            continue;
                        float const k = k2[(du + r) * p.window + dv + r];
                        axpy(num + xx * cout, row, k, cout);
                        den[xx] += k;
                    }
                }
            }
        }
        int64_t const done = s - r; // every source within r lines of it has pushed
        if (done < first || done >= last)
            continue;
        float const* num = ring.sums(done);
        float const* den = ring.weights(done);
        for (int64_t xx = 0; xx < width; ++xx)
        {
            int64_t const flat = done * width + xx;
            float* o = out + flat * cout;
            if (rowmap[flat] >= 0)
                std::memcpy(o, rows + static_cast<int64_t>(rowmap[flat]) * cout, sizeof(float) * cout);
            else
            {
                float const inv = 1.f / (den[xx] + sinterp::kEps);
                float const* n = num + xx * cout;
                for (int64_t c = 0; c < cout; ++c)
                    o[c] = n[c] * inv;
            }
        }
    }
}

//! Separable form, pass 1 on one line: hn[x] = sum over the line's sampled x' with |x' - x| <= r of
//! k1[x' - x] * row(x'), hd[x] = the sum of those weights (K(du, dv) = k1[du] * k1[dv]); hn (Wo, Cout), hd (Wo).
EDGE_HOT void horizontalLine(sinterp::Params const& p, float const* rows, int32_t const* pos, int32_t const* lineStart,
    float const* k1, int64_t line, float* hn, float* hd, Scratch& s)
{
    int32_t const r = p.window / 2;
    int64_t const width = p.outW, cout = p.cout, base = line * width;
    int32_t j0 = lineStart[line];
    int32_t const stop = lineStart[line + 1];
    float const** __restrict nb = s.rows.data();
    float* __restrict w = s.w.data();
    for (int64_t x = 0; x < width; ++x)
    {
        while (j0 < stop && pos[j0] < base + x - r)
            ++j0;
        int32_t n = 0;
        float den = 0.f;
        for (int32_t j = j0; j < stop && pos[j] <= base + x + r; ++j)
        {
            float const k = k1[pos[j] - base - x + r];
            nb[n] = rows + static_cast<int64_t>(j) * cout;
            w[n++] = k;
            den += k;
        }
        pullAll(nb, w, n, cout, 1.f, hn + x * cout);
        hd[x] = den;
    }
}

//! Separable form, pass 2 on one line: sampled positions copy their row; the others combine the window's
//! lines of (hn, hd) with k1 and divide: sum k1[du] hn / (sum k1[du] hd + 1e-5). hn[du + r], hd[du + r]: pass 1
//! of line `line + du` (only the lines of the same image are read).
EDGE_HOT void verticalLine(sinterp::Params const& p, float const* rows, int32_t const* rowmap, float const* k1,
    float const* const* hn, float const* const* hd, int64_t line, float* out, Scratch& s)
{
    int32_t const r = p.window / 2;
    int64_t const width = p.outW, cout = p.cout, y = line % p.outH;
    int32_t const lo = static_cast<int32_t>(y - r < 0 ? -y : -r);
    int32_t const hi = static_cast<int32_t>(y + r >= p.outH ? p.outH - 1 - y : r);
    float const** __restrict nb = s.rows.data();
    float* __restrict w = s.w.data();
    int32_t const n = hi - lo + 1; // the same lines and weights for every position of the line
    for (int32_t i = 0; i < n; ++i)
    {
        nb[i] = hn[lo + r + i];
        w[i] = k1[lo + r + i];
    }
    for (int64_t x = 0; x < width; ++x)
    {
        int64_t const flat = line * width + x;
        float* o = out + flat * cout;
        if (rowmap[flat] >= 0)
        {
            std::memcpy(o, rows + static_cast<int64_t>(rowmap[flat]) * cout, sizeof(float) * cout);
            continue;
        }
        float den = 0.f;
        for (int32_t i = 0; i < n; ++i)
            den += w[i] * hd[lo + r + i][x];
        pullAll(nb, w, n, cout, 1.f / (den + sinterp::kEps), o, x * cout);
    }
}

//! Separable form on the output lines [first, last): pass 1 runs `r` lines ahead of pass 2 in a LineRing; the r
//! lines either side of the range are recomputed by the neighbouring thread's ring instead of shared.
void separableLines(sinterp::Params const& p, float const* rows, int32_t const* pos, int32_t const* rowmap,
    int32_t const* lineStart, float const* k1, int64_t first, int64_t last, float* out, Scratch& s)
{
    int32_t const r = p.window / 2;
    int64_t const lines = p.batch * p.outH;
    LineRing const ring(p);
    std::vector<float const*> hn(p.window), hd(p.window);
    int64_t const lo = std::max<int64_t>(0, first - r), hi = std::min(lines, last + r);
    for (int64_t line = lo; line < hi + r; ++line)
    {
        if (line < hi)
            horizontalLine(p, rows, pos, lineStart, k1, line, ring.sums(line), ring.weights(line), s);
        int64_t const v = line - r; // pass 2 on line v: lines v - r .. v + r of pass 1 are in the ring
        if (v < first || v >= last)
            continue;
        for (int32_t du = -r; du <= r; ++du)
        {
            bool const in = v + du >= 0 && v + du < lines;
            hn[du + r] = in ? ring.sums(v + du) : nullptr;
            hd[du + r] = in ? ring.weights(v + du) : nullptr;
        }
        verticalLine(p, rows, rowmap, k1, hn.data(), hd.data(), v, out, s);
    }
}

} // namespace

//! Version of the functions below (edge/native/sample_interp_cpu.py refuses a library of another version).
extern "C" EDGE_REF_API int32_t edge_sample_interp_cpu_version()
{
    return 2;
}

//! 1 when built with OpenMP (the `threads` arguments are honoured), else 0.
extern "C" EDGE_REF_API int32_t edge_sample_interp_cpu_openmp()
{
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

//! mask (n float32) -> rowmap (n int32: row in the compacted list, -1 where not sampled) and pos (the P sampled
//! flat positions, ascending). Returns P.
extern "C" EDGE_REF_API int64_t edge_sample_interp_cpu_index(float const* mask, int64_t n, int32_t* rowmap,
    int32_t* pos)
{
    int32_t count = 0;
    for (int64_t i = 0; i < n; ++i)
    {
        bool const s = sinterp::isSampled(mask[i]);
        rowmap[i] = s ? count : -1;
        if (s)
            pos[count++] = static_cast<int32_t>(i);
    }
    return count;
}

//! cols (G, P, kh*kw*Cin/G) = the receptive fields of the P positions `pos` (flat indices into (B, Ho, Wo)) from
//! x (float32, element strides x_strides of (B, Cin, H, W)). Shapes/attrs as edge_sample_interp_ref. 0 or -1.
extern "C" EDGE_REF_API int32_t edge_sample_interp_cpu_gather(float const* x, int64_t const* x_strides,
    int64_t const* x_shape, int64_t const* mask_shape, int64_t const* w_shape, int32_t const* attrs, float lambda,
    int32_t const* pos, int64_t npos, float* cols, int32_t threads)
{
    sinterp::Params p;
    if (char const* err = readParams(p, x_shape, mask_shape, w_shape, attrs, lambda))
        return ref::fail(err);
    int64_t const plane = p.outH * p.outW;
    int64_t const field = sinterp::fieldSize(p);
#pragma omp parallel for num_threads(threadCount(threads)) schedule(static)
    for (int64_t i = 0; i < npos; ++i)
    {
        int64_t const b = pos[i] / plane, rem = pos[i] % plane;
        for (int32_t g = 0; g < p.groups; ++g)
            gatherField(p, x, x_strides, b, rem / p.outW, rem % p.outW, g, cols + (g * npos + i) * field);
    }
    return 0;
}

namespace edge::sinterp::cpu
{
char const* interpolate(Params const& p, float const* rows, int32_t const* pos, int64_t npos, int32_t const* rowmap,
    float* out, int32_t method, int nt)
{
    int32_t const r = p.window / 2;
    int64_t const lines = p.batch * p.outH, n = lines * p.outW;
    double const d = n ? static_cast<double>(npos) / static_cast<double>(n) : 0.0;
    // Neighbour rows summed per output position: pull (1-d) * w^2 * d, separable ~w (+ a buffer of B*Ho*Wo*Cout
    // floats written and read back). Measured on x86 (scripts/bench_sparse.py shapes, window 7): the separable
    // form wins from d ~0.05-0.1 on 56x56 maps and is never much slower, hence the low switch point d(1-d)w > 0.5.
    if (method == 0)
        method = (1.0 - d) * d * p.window > 0.5 ? 2 : 1;
    if (method != 1 && method != 2)
        return "method must be 0 (auto), 1 (push) or 2 (separable)";
    std::vector<float> k2(static_cast<size_t>(p.window) * p.window), k1(p.window);
    for (int32_t du = -r; du <= r; ++du)
    {
        k1[du + r] = std::exp(-p.lambda * static_cast<float>(du * du));
        for (int32_t dv = -r; dv <= r; ++dv)
            k2[(du + r) * p.window + dv + r] = rbf(p.lambda, du, dv);
    }
    std::vector<int32_t> lineStart(static_cast<size_t>(lines) + 1);
    for (int64_t line = 0, i = 0; line <= lines; ++line) // first entry of each line in the ascending list
    {
        while (i < npos && pos[i] < line * p.outW)
            ++i;
        lineStart[line] = static_cast<int32_t>(i);
    }
#pragma omp parallel num_threads(nt)
    {
        Scratch scratch(p.window);
        int64_t const chunk = (lines + nt - 1) / nt; // contiguous line ranges: no two threads write one line
        if (method == 1)
        {
#pragma omp for schedule(static)
            for (int t = 0; t < nt; ++t)
                if (t * chunk < lines)
                    pushLines(p, rows, pos, rowmap, lineStart.data(), k2.data(), t * chunk,
                        std::min(lines, (t + 1) * chunk), out);
        }
        else
        {
#pragma omp for schedule(static)
            for (int t = 0; t < nt; ++t)
                if (t * chunk < lines)
                    separableLines(p, rows, pos, rowmap, lineStart.data(), k1.data(), t * chunk,
                        std::min(lines, (t + 1) * chunk), out, scratch);
        }
    }
    return nullptr;
}
} // namespace edge::sinterp::cpu

//! rows (P, Cout): the convolution at the sampled positions `pos` (ascending, from edge_sample_interp_cpu_index),
//! before the activation (activated in place here). out (B, Ho, Wo, Cout): rows at sampled positions, the RBF
//! interpolation of the sampled neighbours elsewhere (0 where the window holds none). `method`: 1 push (each
//! sampled position adds K * row to its window: ~window^2 row updates per sampled position), 2 separable (a
//! horizontal pass on every position, then a vertical one on the unsampled: ~2 * window rows per position),
//! 0 the cheaper one for the density: push while d * (1 - d) * window <= 0.5, else separable.
//! 0 or -1.
extern "C" EDGE_REF_API int32_t edge_sample_interp_cpu_interp(float* rows, int32_t const* pos, int64_t npos,
    int32_t const* rowmap, int64_t const* x_shape, int64_t const* mask_shape, int64_t const* w_shape,
    int32_t const* attrs, float lambda, float* out, int32_t method, int32_t threads)
{
    sinterp::Params p;
    if (char const* err = readParams(p, x_shape, mask_shape, w_shape, attrs, lambda))
        return ref::fail(err);
    int const nt = threadCount(threads);
    if (method < 0 || method > 2) // checked before the rows are activated in place
        return ref::fail("method must be 0 (auto), 1 (push) or 2 (separable)");
    if (p.activation != sinterp::kNONE)
    {
#pragma omp parallel for num_threads(nt) schedule(static)
        for (int64_t i = 0; i < npos * p.cout; ++i)
            rows[i] = sinterp::activate(p.activation, rows[i]);
    }
    if (char const* err = interpolate(p, rows, pos, npos, rowmap, out, method, nt))
        return ref::fail(err);
    return 0;
}
