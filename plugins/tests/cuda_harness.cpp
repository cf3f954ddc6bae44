// CUDA kernel harness (libedge_cuda_harness.so): the SAME launchers the TensorRT plugins call in enqueue()
// (unwarp::launch, sinterp::launch), driven from Python through ctypes without TensorRT, on any NVIDIA GPU.
// Each entry point has the signature of its CPU reference in libedge_ref.so (plugins/<op>/<op>_ref.cpp):
// the shape is resolved by the same makeParams()/setShapes(), the host buffers are copied to the device, the
// kernel runs on the default stream, the result comes back. Errors: -1 and edge_ref_last_error() (this
// library carries its own copy of common/edge_ref.cpp). Output buffers are filled with NaN before the launch,
// so an element a kernel never writes cannot pass as a value.
#include "../common/edge_ref.h"
#include "../multipool_unwarp/multipool_unwarp_kernel.h"
#include "../sample_interp/sample_interp_kernel.h"

#include <cuda_runtime_api.h>

#include <cstdio>
#include <string>

using namespace edge;

namespace
{
thread_local std::string gMessage;

int32_t cudaFail(char const* what, cudaError_t err)
{
    gMessage = std::string(what) + ": " + cudaGetErrorName(err) + " (" + cudaGetErrorString(err) + ")";
    cudaGetLastError(); // clear a sticky launch error for the next call
    return ref::fail(gMessage.c_str());
}

//! One device allocation, freed on scope exit.
struct DeviceBuffer
{
    void* ptr{nullptr};
    size_t bytes{0};
    ~DeviceBuffer()
    {
        if (ptr)
            cudaFree(ptr);
    }
    cudaError_t alloc(size_t n)
    {
        bytes = n;
        return cudaMalloc(&ptr, n ? n : 1);
    }
    //! Allocates and copies `n` bytes from the host.
    cudaError_t upload(void const* host, size_t n)
    {
        cudaError_t err = alloc(n);
        return err != cudaSuccess || n == 0 ? err : cudaMemcpy(ptr, host, n, cudaMemcpyHostToDevice);
    }
};

size_t elementSize(int32_t dtype)
{
    return dtype == static_cast<int32_t>(DType::kFLOAT16) ? 2 : 4;
}

int64_t volume(int64_t const* shape, int32_t n)
{
    int64_t v = 1;
    for (int32_t i = 0; i < n; ++i)
        v *= shape[i];
    return v;
}

//! Synchronises, then copies the device output back to `y`.
int32_t finish(cudaError_t launchErr, DeviceBuffer const& dy, void* y)
{
    if (launchErr != cudaSuccess)
        return cudaFail("kernel launch", launchErr);
    if (cudaError_t err = cudaDeviceSynchronize(); err != cudaSuccess)
        return cudaFail("kernel execution", err);
    if (cudaError_t err = cudaMemcpy(y, dy.ptr, dy.bytes, cudaMemcpyDeviceToHost); err != cudaSuccess)
        return cudaFail("copy to host", err);
    return 0;
}
} // namespace

//! 0 and the name / compute capability of device 0, or -1 with the reason (no driver, no device).
extern "C" EDGE_REF_API int32_t edge_harness_device(char* name, int32_t len, int32_t* major, int32_t* minor)
{
    int count = 0;
    if (cudaError_t err = cudaGetDeviceCount(&count); err != cudaSuccess)
        return cudaFail("cudaGetDeviceCount", err);
    if (count < 1)
        return ref::fail("cudaGetDeviceCount: no CUDA device");
    cudaDeviceProp prop{};
    if (cudaError_t err = cudaGetDeviceProperties(&prop, 0); err != cudaSuccess)
        return cudaFail("cudaGetDeviceProperties", err);
    std::snprintf(name, static_cast<size_t>(len), "%s", prop.name);
    *major = prop.major;
    *minor = prop.minor;
    return 0;
}

//! EdgeMultiPoolUnwarp on the GPU; arguments as edge_multipool_unwarp_ref.
extern "C" EDGE_REF_API int32_t edge_multipool_unwarp_cuda(void const* x, void* y, int32_t dtype, int32_t n_layers,
    int32_t const* strides_y, int32_t const* strides_x, int64_t batch, int64_t out_h, int64_t out_w, int64_t n,
    int64_t c, int64_t h, int64_t w, int64_t* out_shape)
{
    unwarp::Params p;
    if (char const* err = unwarp::makeParams(p, n_layers, strides_y, strides_x, batch, out_h, out_w, n, c, h, w))
        return ref::fail(err);
    ref::writeShape(out_shape, p.batch, p.channels, p.outH, p.outW);
    if (y == nullptr)
        return 0;
    if (x == nullptr || (dtype != 0 && dtype != 1))
        return ref::fail("x is null or dtype is not 0 (float32) / 1 (float16)");
    size_t const es = elementSize(dtype);
    DeviceBuffer dx, dy;
    if (cudaError_t err = dx.upload(x, static_cast<size_t>(n * c * h * w) * es); err != cudaSuccess)
        return cudaFail("upload x", err);
    if (cudaError_t err = dy.alloc(static_cast<size_t>(unwarp::outputVolume(p)) * es); err != cudaSuccess)
        return cudaFail("cudaMalloc y", err);
    if (cudaError_t err = cudaMemset(dy.ptr, 0xff, dy.bytes); err != cudaSuccess) // NaN in float and half
        return cudaFail("cudaMemset y", err);
    return finish(unwarp::launch(p, static_cast<DType>(dtype), dx.ptr, dy.ptr, nullptr), dy, y);
}

//! EdgeSampleInterp on the GPU (compaction, sparse GEMM, interpolation); arguments as edge_sample_interp_ref.
extern "C" EDGE_REF_API int32_t edge_sample_interp_cuda(void const* x, void const* mask, void const* w,
    void const* bias, void* y, int32_t dtype, int64_t const* x_shape, int64_t const* mask_shape,
    int64_t const* w_shape, int64_t bias_len, int32_t const* attrs, float lambda, int64_t* out_shape)
{
    sinterp::Params p = sinterp::paramsFromAttrs(attrs, lambda);
    if (char const* err = sinterp::setShapes(p, x_shape, w_shape, mask_shape, bias_len))
        return ref::fail(err);
    ref::writeShape(out_shape, p.batch, p.cout, p.outH, p.outW);
    if (y == nullptr)
        return 0;
    if (!x || !mask || !w || !bias || (dtype != 0 && dtype != 1))
        return ref::fail("an input pointer is null or dtype is not 0 (float32) / 1 (float16)");
    size_t const es = elementSize(dtype);
    DeviceBuffer dx, dm, dw, db, dy, ws;
    cudaError_t err = dx.upload(x, static_cast<size_t>(volume(x_shape, 4)) * es);
    if (err == cudaSuccess)
        err = dm.upload(mask, static_cast<size_t>(volume(mask_shape, 4)) * es);
    if (err == cudaSuccess)
        err = dw.upload(w, static_cast<size_t>(volume(w_shape, 4)) * es);
    if (err == cudaSuccess)
        err = db.upload(bias, static_cast<size_t>(bias_len) * es);
    if (err == cudaSuccess)
        err = dy.alloc(static_cast<size_t>(p.batch * p.cout * p.outH * p.outW) * es);
    if (err == cudaSuccess)
        err = cudaMemset(dy.ptr, 0xff, dy.bytes);
    if (err == cudaSuccess) // the plugin's getWorkspaceSize() bound: every position sampled
        err = ws.alloc(sinterp::workspaceSize(p, es));
    if (err != cudaSuccess)
        return cudaFail("device buffers", err);
    return finish(sinterp::launch(p, static_cast<DType>(dtype), dx.ptr, dm.ptr, dw.ptr, db.ptr, dy.ptr, ws.ptr, nullptr),
        dy, y);
}
