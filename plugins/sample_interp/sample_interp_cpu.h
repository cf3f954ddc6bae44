// Internal interface between the two files of the fast host path of EdgeSampleInterp (not a public header):
// sample_interp_cpu.cpp (index, gather, interpolation) and sample_interp_gemm.cpp (packed weights, register-
// blocked GEMM, the fused edge_sample_interp_cpu_run). Hidden symbols of libedge_ref.so.
#pragma once

#include "sample_interp_kernel.cuh"

#include <cstddef>
#include <cstdint>
#include <memory>

// The hot loops get an AVX2+FMA (x86-64-v3) clone on x86-64, chosen at load time: the baseline build stays portable.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define EDGE_HOT __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define EDGE_HOT
#endif

//! mask (n float32) -> rowmap (n int32: row in the compacted list, -1 where not sampled) and pos (the P sampled flat
//! positions, ascending). Returns P. (C ABI of libedge_ref.so, sample_interp_cpu.cpp.)
extern "C" __attribute__((visibility("default"))) int64_t edge_sample_interp_cpu_index(
    float const* mask, int64_t n, int32_t* rowmap, int32_t* pos);

namespace edge
{
namespace sinterp
{
namespace cpu
{

// 8 floats as one GCC/Clang vector (AVX on x86-64-v3 clones, NEON pairs on aarch64, SSE pairs otherwise), with
// the alignment of a float so that it loads and stores at any offset.
typedef float Vec8 __attribute__((vector_size(32), aligned(4)));

//! A per-thread buffer kept between calls up to kMax floats (a fresh multi-megabyte block is mapped and zeroed
//! by the kernel at every call); a bigger request gets a block that lives until `fresh` is destroyed.
class KeptBuffer
{
public:
    static constexpr size_t kMax = size_t{1} << 24;
    float* get(size_t need, std::unique_ptr<float[]>& fresh)
    {
        if (need <= size_)
            return buf_.get();
        if (need <= kMax)
        {
            buf_.reset(new float[need]);
            size_ = need;
            return buf_.get();
        }
        fresh.reset(new float[need]);
        return fresh.get();
    }

private:
    std::unique_ptr<float[]> buf_;
    size_t size_{0};
};

//! Params from the C ABI arguments (the layout of edge_sample_interp_ref); nullptr or the reason.
char const* readParams(Params& p, int64_t const* x_shape, int64_t const* mask_shape, int64_t const* w_shape,
    int32_t const* attrs, float lambda);

//! OpenMP thread count for a `threads` argument (1 without OpenMP).
int threadCount(int32_t threads);

//! Receptive field of output (b, oy, ox) into `dst` (kh*kw taps x Cin/groups channels of group g, taps outer),
//! zeros outside the input. x: float32 with element strides xs of (B, Cin, H, W).
void gatherField(Params const& p, float const* x, int64_t const* xs, int64_t b, int64_t oy, int64_t ox, int32_t g,
    float* dst);

//! Writes every element of out (B, Ho, Wo, Cout) from the activated rows (npos, Cout) of the sampled positions
//! `pos` (ascending flat indices into (B, Ho, Wo); rowmap: position -> row or -1): sampled positions copy their
//! row, the others get the RBF mean of their sampled neighbours (interpAt()). method 0 auto, 1 push,
//! 2 separable. nullptr or the reason.
char const* interpolate(Params const& p, float const* rows, int32_t const* pos, int64_t npos, int32_t const* rowmap,
    float* out, int32_t method, int nt);

} // namespace cpu
} // namespace sinterp
} // namespace edge
