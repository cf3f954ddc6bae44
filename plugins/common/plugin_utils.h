// Host-side helpers shared by the plugin classes: logging through the ILoggerFinder that TensorRT hands to
// setLoggerFinder(), PluginField parsing with clear errors, and dtype mapping. Needs TensorRT headers only
// (no libnvinfer symbol is referenced).
#pragma once

#include "edge_common.h"

#include <NvInferRuntime.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace edge
{
namespace plugin
{

//! Stores the finder given by TensorRT (register.cpp forwards setLoggerFinder here).
void setLoggerFinder(nvinfer1::ILoggerFinder* finder);

//! Logs `msg` with the plugin name prefix; to stderr when no logger was provided.
void log(nvinfer1::ILogger::Severity severity, std::string const& msg) noexcept;

//! Logs an error and returns -1 (the failure code of TensorRT's int32_t plugin methods).
//! Every TensorRT plugin method is noexcept: this overload takes the message as char const* so that no
//! std::string is built at the call site (a bad_alloc there would std::terminate the host process); the
//! message is assembled inside a try block.
int32_t fail(char const* plugin, char const* msg) noexcept;
//! Same for a message already built (inside the caller's try block).
int32_t fail(char const* plugin, std::string const& msg) noexcept;

//! `a op b`, or nullptr when an operand is null. IExprBuilder::constant/operation may return nullptr
//! (NvInferRuntime.h, release/10.3 ~l.296: "Returns nullptr if op is not a valid DimensionOperation"), and
//! operation() takes references: this checks before dereferencing, getOutputShapes() checks the result.
inline nvinfer1::IDimensionExpr const* exprOp(nvinfer1::IExprBuilder& eb, nvinfer1::DimensionOperation op,
    nvinfer1::IDimensionExpr const* a, nvinfer1::IDimensionExpr const* b) noexcept
{
    return a != nullptr && b != nullptr ? eb.operation(op, *a, *b) : nullptr;
}

//! Attribute problems are reported as this exception inside the plugin and turned into a logged error +
//! nullptr/-1 at the noexcept API boundary.
class AttributeError : public std::invalid_argument
{
public:
    using std::invalid_argument::invalid_argument;
};

//! Reads a PluginFieldCollection (ONNX INT -> kINT32, INTS -> kINT32 array, FLOAT -> kFLOAT32; kINT64 /
//! kFLOAT64 are accepted too). Unknown fields are ignored with a warning (forward compatibility).
class FieldReader
{
public:
    FieldReader(char const* plugin, nvinfer1::PluginFieldCollection const* fc,
        std::vector<std::string> const& known);

    bool has(char const* name) const;
    //! All values of an integer field; `length` > 0 requires exactly that many.
    std::vector<int32_t> ints(char const* name, int32_t length = -1) const;
    int32_t intOr(char const* name, int32_t fallback) const;
    float floatValue(char const* name) const;

private:
    nvinfer1::PluginField const* find(char const* name) const;
    [[noreturn]] void bad(char const* name, std::string const& what) const;

    std::string mPlugin;
    nvinfer1::PluginFieldCollection const* mFc;
};

//! kFLOAT -> DType::kFLOAT32, kHALF -> DType::kFLOAT16; anything else throws AttributeError.
DType toDType(nvinfer1::DataType t);

//! True for the formats every edge plugin supports: linear NCHW in float32 or float16.
inline bool isSupportedFormat(nvinfer1::PluginTensorDesc const& d)
{
    return d.format == nvinfer1::TensorFormat::kLINEAR
        && (d.type == nvinfer1::DataType::kFLOAT || d.type == nvinfer1::DataType::kHALF);
}

//! Field with int32 payload for getFieldNames()/getFieldsToSerialize().
inline nvinfer1::PluginField intField(char const* name, int32_t const* data, int32_t length)
{
    return nvinfer1::PluginField(name, data, nvinfer1::PluginFieldType::kINT32, length);
}

} // namespace plugin
} // namespace edge
