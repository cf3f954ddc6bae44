// C ABI helpers of the CPU reference library (libedge_ref.so), loaded by edge/native through ctypes.
#pragma once

#include <cstdint>

#define EDGE_REF_API __attribute__((visibility("default")))

namespace edge
{
namespace ref
{
//! Records `msg` as the thread's last error and returns -1.
int32_t fail(char const* msg);

//! Writes a resolved (B, C, H, W) output shape into the caller's `out` (4 int64) when it is given: the common
//! `out_shape` argument of the reference and CUDA-harness entry points.
inline void writeShape(int64_t* out, int64_t b, int64_t c, int64_t h, int64_t w)
{
    if (out)
    {
        out[0] = b;
        out[1] = c;
        out[2] = h;
        out[3] = w;
    }
}
} // namespace ref
} // namespace edge

extern "C" EDGE_REF_API char const* edge_ref_last_error();
extern "C" EDGE_REF_API int32_t edge_ref_abi_version();
