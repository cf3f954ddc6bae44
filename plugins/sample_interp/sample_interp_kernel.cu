// CUDA kernels of EdgeSampleInterp (README.md "Algorithm and cost"): compaction of the sampled positions,
// a tiled implicit GEMM evaluated only at those positions (the im2col gather is convInput(), done while
// loading the tile), and the interpolation (interpAt()). No cuBLAS: the library depends on cudart only.
#include "sample_interp_kernel.h"

namespace edge
{
namespace sinterp
{
namespace
{

constexpr int32_t kTileP = 32; // positions per block
constexpr int32_t kTileC = 32; // output channels per block
constexpr int32_t kTileK = 16; // receptive-field elements per step
template <typename T>
__global__ void compactKernel(T const* __restrict__ mask, int64_t total, int32_t* __restrict__ count,
    int32_t* __restrict__ positions)
{
    int64_t const idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (idx < total && isSampled(toFloat(mask[idx])))
        positions[atomicAdd(count, 1)] = static_cast<int32_t>(idx); // order is irrelevant: positions are independent
}

// Block (16, 16) computes a 32-position x 32-channel tile of one group, 2x2 outputs per thread.
template <typename T>
__global__ void sparseConvKernel(Params p, T const* __restrict__ x, T const* __restrict__ w,
    T const* __restrict__ bias, int32_t const* __restrict__ count, int32_t const* __restrict__ positions,
    T* __restrict__ f)
{
    int32_t const n = *count;
    int32_t const tileP = blockIdx.x * kTileP;
    if (tileP >= n)
        return; // the grid covers the all-ones mask; most blocks exit here at low density
    int32_t const g = blockIdx.z;
    int64_t const coutG = p.cout / p.groups;
    int64_t const tileC = static_cast<int64_t>(blockIdx.y) * kTileC;
    int64_t const kSize = fieldSize(p);
    int64_t const plane = p.outH * p.outW;
    __shared__ float aS[kTileK][kTileP + 1];
    __shared__ float bS[kTileK][kTileC + 1];
    int32_t const tx = threadIdx.x, ty = threadIdx.y, tid = ty * 16 + tx;
    float acc[2][2] = {{0.f, 0.f}, {0.f, 0.f}};
    for (int64_t k0 = 0; k0 < kSize; k0 += kTileK)
    {
        // consecutive threads take consecutive k of one position/channel: the weight rows are read
        // coalesced, and the receptive field mostly along x
        for (int32_t e = tid; e < kTileK * kTileP; e += 256)
        {
            int32_t const kk = e % kTileK, pp = e / kTileK;
            int64_t const k = k0 + kk;
            int32_t const pi = tileP + pp;
            float a = 0.f, bw = 0.f;
            if (k < kSize && pi < n)
            {
                int64_t const pos = positions[pi];
                int64_t const b = pos / plane, rem = pos % plane;
                a = convInput(p, x, b, g, rem / p.outW, rem % p.outW, k);
            }
            int64_t const co = tileC + pp;
            if (k < kSize && co < coutG)
                bw = toFloat(w[(g * coutG + co) * kSize + k]);
            aS[kk][pp] = a;
            bS[kk][pp] = bw;
        }
        __syncthreads();
#pragma unroll
        for (int32_t kk = 0; kk < kTileK; ++kk)
        {
            float const a0 = aS[kk][ty * 2], a1 = aS[kk][ty * 2 + 1];
            float const b0 = bS[kk][tx * 2], b1 = bS[kk][tx * 2 + 1];
            acc[0][0] += a0 * b0;
            acc[0][1] += a0 * b1;
            acc[1][0] += a1 * b0;
            acc[1][1] += a1 * b1;
        }
        __syncthreads();
    }
    for (int32_t i = 0; i < 2; ++i)
    {
        int32_t const pi = tileP + ty * 2 + i;
        if (pi >= n)
            continue;
        int64_t const pos = positions[pi];
        int64_t const b = pos / plane, rem = pos % plane;
        for (int32_t j = 0; j < 2; ++j)
        {
            int64_t const co = g * coutG + tileC + tx * 2 + j;
            if (tileC + tx * 2 + j >= coutG)
                continue;
            fromFloat(activate(p.activation, acc[i][j] + toFloat(bias[co])), f[(b * p.cout + co) * plane + rem]);
        }
    }
}

template <typename T>
__global__ void interpKernel(Params p, T const* __restrict__ mask, T const* __restrict__ f, T* __restrict__ y,
    int64_t total)
{
    int64_t const step = static_cast<int64_t>(gridDim.x) * blockDim.x;
    for (int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; idx < total; idx += step)
    {
        int64_t const xo = idx % p.outW;
        int64_t const yo = (idx / p.outW) % p.outH;
        int64_t const c = (idx / (p.outW * p.outH)) % p.cout;
        int64_t const b = idx / (p.outW * p.outH * p.cout);
        fromFloat(interpAt(p, mask, f, b, c, yo, xo), y[idx]);
    }
}

unsigned gridFor(int64_t total, int32_t threads)
{
    int64_t const blocks = (total + threads - 1) / threads;
    return static_cast<unsigned>(blocks < 65535LL * 8 ? blocks : 65535LL * 8);
}

} // namespace

template <typename T>
cudaError_t launch(Params const& p, T const* x, T const* mask, T const* w, T const* bias, T* y, void* workspace,
    cudaStream_t stream)
{
    int64_t const positions = p.batch * p.outH * p.outW;
    if (positions == 0 || p.cout == 0)
        return cudaSuccess;
    auto* count = static_cast<int32_t*>(workspace);
    int32_t* list = count + 1;
    T* f = reinterpret_cast<T*>(static_cast<char*>(workspace) + workspaceAlign((positions + 1) * sizeof(int32_t)));
    cudaError_t err = cudaMemsetAsync(count, 0, sizeof(int32_t), stream);
    if (err != cudaSuccess)
        return err;
    compactKernel<T><<<static_cast<unsigned>((positions + 255) / 256), 256, 0, stream>>>(mask, positions, count, list);
    int64_t const coutG = p.cout / p.groups;
    dim3 const grid(static_cast<unsigned>((positions + kTileP - 1) / kTileP),
        static_cast<unsigned>((coutG + kTileC - 1) / kTileC), static_cast<unsigned>(p.groups));
    sparseConvKernel<T><<<grid, dim3(16, 16), 0, stream>>>(p, x, w, bias, count, list, f);
    int64_t const total = positions * p.cout;
    interpKernel<T><<<gridFor(total, 256), 256, 0, stream>>>(p, mask, f, y, total);
    return cudaGetLastError();
}

template cudaError_t launch<float>(Params const&, float const*, float const*, float const*, float const*, float*,
    void*, cudaStream_t);
template cudaError_t launch<__half>(Params const&, __half const*, __half const*, __half const*, __half const*,
    __half*, void*, cudaStream_t);

cudaError_t launch(Params const& p, DType dtype, void const* x, void const* mask, void const* w, void const* bias,
    void* y, void* workspace, cudaStream_t stream)
{
    if (dtype == DType::kFLOAT32)
        return launch(p, static_cast<float const*>(x), static_cast<float const*>(mask), static_cast<float const*>(w),
            static_cast<float const*>(bias), static_cast<float*>(y), workspace, stream);
    if (dtype == DType::kFLOAT16)
        return launch(p, static_cast<__half const*>(x), static_cast<__half const*>(mask),
            static_cast<__half const*>(w), static_cast<__half const*>(bias), static_cast<__half*>(y), workspace,
            stream);
    return cudaErrorInvalidValue;
}

} // namespace sinterp
} // namespace edge
