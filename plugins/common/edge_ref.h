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
} // namespace ref
} // namespace edge

extern "C" EDGE_REF_API char const* edge_ref_last_error();
extern "C" EDGE_REF_API int32_t edge_ref_abi_version();
