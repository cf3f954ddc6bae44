// Shared by the CUDA kernels, the CPU references and the plugin classes. No TensorRT, no CUDA runtime
// needed when compiled by a host compiler: EDGE_HD marks the index functions that both nvcc (for the
// device) and g++ (for the CPU reference) compile, so there is one definition of every output element.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#ifdef __CUDACC__
#include <cuda_fp16.h>
#define EDGE_HD __host__ __device__ __forceinline__
#define EDGE_UNROLL _Pragma("unroll")
#else
#define EDGE_HD inline
#define EDGE_UNROLL // host compilers unroll on their own; GCC warns about an unknown "#pragma unroll"
#endif

namespace edge
{

//! Element types of the references and launchers (values match the C ABI of the CPU reference).
enum class DType : int32_t
{
    kFLOAT32 = 0,
    kFLOAT16 = 1,
};

//! IEEE binary16 stored as bits: the host-side half type of the CPU references (no CUDA needed).
struct HostHalf
{
    uint16_t bits;
};

//! float -> binary16, round to nearest even (the rounding of __float2half).
inline HostHalf floatToHalf(float f)
{
    uint32_t x;
    std::memcpy(&x, &f, 4);
    uint32_t const sign = (x >> 16) & 0x8000u;
    uint32_t const absx = x & 0x7fffffffu;
    if (absx >= 0x7f800000u) // inf or nan
        return HostHalf{static_cast<uint16_t>(sign | 0x7c00u | (absx > 0x7f800000u ? 0x200u : 0u))};
    if (absx >= 0x477ff000u) // rounds to >= 65520: overflow to inf
        return HostHalf{static_cast<uint16_t>(sign | 0x7c00u)};
    int32_t const e = static_cast<int32_t>(absx >> 23) - 127;
    if (e < -25) // below half the smallest subnormal: rounds to zero
        return HostHalf{static_cast<uint16_t>(sign)};
    uint32_t mant = (absx & 0x7fffffu) | 0x800000u;
    int32_t shift = 13; // normal half: drop 13 mantissa bits
    uint32_t exp16 = 0;
    if (e < -14)
        shift = 13 + (-14 - e); // subnormal half
    else
        exp16 = static_cast<uint32_t>(e + 15);
    uint32_t const rounded = mant >> shift;
    uint32_t const rem = mant & ((1u << shift) - 1u);
    uint32_t const half = 1u << (shift - 1);
    uint32_t m = rounded;
    if (rem > half || (rem == half && (rounded & 1u)))
        ++m;
    uint32_t bits;
    if (exp16 == 0)
        bits = m; // subnormal (m may carry into the exponent: that is the correct normal encoding)
    else
        bits = (exp16 << 10) + (m - 0x400u); // m includes the implicit bit; a carry bumps the exponent
    return HostHalf{static_cast<uint16_t>(sign | bits)};
}

//! binary16 -> float (exact).
inline float halfToFloat(HostHalf h)
{
    uint32_t const sign = (static_cast<uint32_t>(h.bits) & 0x8000u) << 16;
    uint32_t exp = (h.bits >> 10) & 0x1fu;
    uint32_t mant = h.bits & 0x3ffu;
    uint32_t x;
    if (exp == 0x1f)
        x = sign | 0x7f800000u | (mant << 13);
    else if (exp == 0)
    {
        if (mant == 0)
            x = sign;
        else
        {
            int32_t e = -14;
            while (!(mant & 0x400u))
            {
                mant <<= 1;
                --e;
            }
            x = sign | (static_cast<uint32_t>(e + 127) << 23) | ((mant & 0x3ffu) << 13);
        }
    }
    else
        x = sign | ((exp + 112u) << 23) | (mant << 13);
    float f;
    std::memcpy(&f, &x, 4);
    return f;
}

// Loads widen to float, stores round once: the kernels and the references accumulate in float.
EDGE_HD float toFloat(float v)
{
    return v;
}
EDGE_HD void fromFloat(float v, float& out)
{
    out = v;
}
inline float toFloat(HostHalf v)
{
    return halfToFloat(v);
}
inline void fromFloat(float v, HostHalf& out)
{
    out = floatToHalf(v);
}
#ifdef __CUDACC__
__device__ __forceinline__ float toFloat(__half v)
{
    return __half2float(v);
}
__device__ __forceinline__ void fromFloat(float v, __half& out)
{
    out = __float2half_rn(v);
}
#endif

} // namespace edge
