#include "edge_ref.h"

#include <string>

namespace
{
thread_local std::string gLastError;
}

namespace edge
{
namespace ref
{
int32_t fail(char const* msg)
{
    gLastError = msg;
    return -1;
}
} // namespace ref
} // namespace edge

extern "C" char const* edge_ref_last_error()
{
    return gLastError.c_str();
}

//! Bumped whenever a reference function's signature changes; edge/native checks it.
extern "C" int32_t edge_ref_abi_version()
{
    return 1;
}
