#include "plugin_utils.h"

#include <cstdio>
#include <cstring>

namespace edge
{
namespace plugin
{
namespace
{
nvinfer1::ILoggerFinder* gLoggerFinder = nullptr;
}

void setLoggerFinder(nvinfer1::ILoggerFinder* finder)
{
    gLoggerFinder = finder;
}

void log(nvinfer1::ILogger::Severity severity, std::string const& msg) noexcept
{
    try
    {
        nvinfer1::ILogger* logger = gLoggerFinder ? gLoggerFinder->findLogger() : nullptr;
        if (logger)
            logger->log(severity, msg.c_str());
        else if (severity <= nvinfer1::ILogger::Severity::kWARNING)
            std::fprintf(stderr, "[edge plugins] %s\n", msg.c_str());
    }
    catch (...)
    {
    }
}

int32_t fail(char const* plugin, std::string const& msg) noexcept
{
    try
    {
        std::string const prefix = std::string(plugin) + ": ";
        log(nvinfer1::ILogger::Severity::kERROR, msg.rfind(prefix, 0) == 0 ? msg : prefix + msg);
    }
    catch (...) // out of memory while building the message: the -1 still reports the failure
    {
    }
    return -1;
}

int32_t fail(char const* plugin, char const* msg) noexcept
{
    try
    {
        return fail(plugin, std::string(msg ? msg : "unknown error"));
    }
    catch (...)
    {
    }
    return -1;
}

FieldReader::FieldReader(
    char const* plugin, nvinfer1::PluginFieldCollection const* fc, std::vector<std::string> const& known)
    : mPlugin(plugin)
    , mFc(fc)
{
    if (fc == nullptr || (fc->nbFields > 0 && fc->fields == nullptr))
        throw AttributeError(mPlugin + ": the PluginFieldCollection is null");
    for (int32_t i = 0; i < fc->nbFields; ++i)
    {
        char const* name = fc->fields[i].name;
        bool isKnown = false;
        for (auto const& k : known)
            isKnown = isKnown || (name && k == name);
        if (!isKnown)
            log(nvinfer1::ILogger::Severity::kWARNING,
                mPlugin + ": ignoring unknown field '" + (name ? name : "<null>") + "'");
    }
}

nvinfer1::PluginField const* FieldReader::find(char const* name) const
{
    for (int32_t i = 0; i < mFc->nbFields; ++i)
        if (mFc->fields[i].name && std::strcmp(mFc->fields[i].name, name) == 0)
            return &mFc->fields[i];
    return nullptr;
}

void FieldReader::bad(char const* name, std::string const& what) const
{
    throw AttributeError(mPlugin + ": attribute '" + name + "' " + what);
}

bool FieldReader::has(char const* name) const
{
    return find(name) != nullptr;
}

std::vector<int32_t> FieldReader::ints(char const* name, int32_t length) const
{
    nvinfer1::PluginField const* f = find(name);
    if (!f)
        bad(name, "is required but missing (check the ONNX node's attributes against plugins/<op>/README.md)");
    if (f->length < 0 || (f->length > 0 && f->data == nullptr))
        bad(name, "has no data");
    if (length > 0 && f->length != length)
        bad(name, "must have " + std::to_string(length) + " values, got " + std::to_string(f->length));
    std::vector<int32_t> out(static_cast<size_t>(f->length));
    for (int32_t i = 0; i < f->length; ++i)
    {
        if (f->type == nvinfer1::PluginFieldType::kINT32)
            out[i] = static_cast<int32_t const*>(f->data)[i];
        else if (f->type == nvinfer1::PluginFieldType::kINT64)
        {
            int64_t const v = static_cast<int64_t const*>(f->data)[i];
            if (v < INT32_MIN || v > INT32_MAX)
                bad(name, "value out of int32 range");
            out[i] = static_cast<int32_t>(v);
        }
        else
            bad(name, "must be an integer attribute (INT/INTS -> kINT32)");
    }
    return out;
}

int32_t FieldReader::intOr(char const* name, int32_t fallback) const
{
    if (!has(name))
        return fallback;
    return ints(name, 1)[0];
}

float FieldReader::floatValue(char const* name) const
{
    nvinfer1::PluginField const* f = find(name);
    if (!f)
        bad(name, "is required but missing (check the ONNX node's attributes against plugins/<op>/README.md)");
    if (f->length != 1 || f->data == nullptr)
        bad(name, "must be one FLOAT value");
    if (f->type == nvinfer1::PluginFieldType::kFLOAT32)
        return *static_cast<float const*>(f->data);
    if (f->type == nvinfer1::PluginFieldType::kFLOAT64)
        return static_cast<float>(*static_cast<double const*>(f->data));
    bad(name, "must be a FLOAT attribute (kFLOAT32)");
}

DType toDType(nvinfer1::DataType t)
{
    if (t == nvinfer1::DataType::kFLOAT)
        return DType::kFLOAT32;
    if (t == nvinfer1::DataType::kHALF)
        return DType::kFLOAT16;
    throw AttributeError("edge plugins support kFLOAT and kHALF tensors only");
}

} // namespace plugin
} // namespace edge
