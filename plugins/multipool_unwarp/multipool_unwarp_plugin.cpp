#include "multipool_unwarp_plugin.h"

#include "multipool_unwarp_kernel.h"

#include <exception>

using namespace nvinfer1;

namespace edge
{
namespace plugin
{
namespace
{
char const* const kFieldNames[] = {"strides_y", "strides_x", "batch", "out_h", "out_w"};
}

void UnwarpAttributes::validate() const
{
    if (stridesY.empty() || stridesY.size() != stridesX.size())
        throw AttributeError(std::string(kUnwarpName)
            + ": strides_y and strides_x must be non-empty and of the same length (one entry per strided layer)");
    if (stridesY.size() > static_cast<size_t>(unwarp::kMaxLayers))
        throw AttributeError(std::string(kUnwarpName) + ": at most 8 strided layers are supported");
    for (size_t l = 0; l < stridesY.size(); ++l)
        if (stridesY[l] < 1 || stridesX[l] < 1)
            throw AttributeError(std::string(kUnwarpName) + ": every stride must be >= 1");
    if (batch < 0 || outH < 0 || outW < 0)
        throw AttributeError(std::string(kUnwarpName) + ": batch, out_h and out_w must be >= 0 (0 = derive / no crop)");
    if (shifts() > INT32_MAX)
        throw AttributeError(std::string(kUnwarpName) + ": prod(strides_y * strides_x) overflows");
}

int64_t UnwarpAttributes::shifts() const
{
    int64_t m = 1;
    for (size_t l = 0; l < stridesY.size(); ++l)
        m *= static_cast<int64_t>(stridesY[l]) * stridesX[l];
    return m;
}

int64_t UnwarpAttributes::totalY() const
{
    int64_t s = 1;
    for (int32_t v : stridesY)
        s *= v;
    return s;
}

int64_t UnwarpAttributes::totalX() const
{
    int64_t s = 1;
    for (int32_t v : stridesX)
        s *= v;
    return s;
}

MultiPoolUnwarpPlugin::MultiPoolUnwarpPlugin(UnwarpAttributes attrs)
    : mAttrs(std::move(attrs))
{
    mAttrs.validate();
}

MultiPoolUnwarpPlugin::MultiPoolUnwarpPlugin(MultiPoolUnwarpPlugin const& other)
    : IPluginV3()
    , IPluginV3OneCore()
    , IPluginV3OneBuild()
    , IPluginV3OneRuntime()
    , mAttrs(other.mAttrs) // mFields point into the owner: rebuilt by getFieldsToSerialize()
{
}

IPluginCapability* MultiPoolUnwarpPlugin::getCapabilityInterface(PluginCapabilityType type) noexcept
{
    switch (type)
    {
    case PluginCapabilityType::kCORE: return static_cast<IPluginV3OneCore*>(this);
    case PluginCapabilityType::kBUILD: return static_cast<IPluginV3OneBuild*>(this);
    case PluginCapabilityType::kRUNTIME: return static_cast<IPluginV3OneRuntime*>(this);
    }
    return nullptr;
}

IPluginV3* MultiPoolUnwarpPlugin::clone() noexcept
{
    try
    {
        return new MultiPoolUnwarpPlugin(*this);
    }
    catch (std::exception const& e)
    {
        fail(kUnwarpName, e.what());
    }
    return nullptr;
}

char const* MultiPoolUnwarpPlugin::getPluginName() const noexcept
{
    return kUnwarpName;
}

char const* MultiPoolUnwarpPlugin::getPluginVersion() const noexcept
{
    return kUnwarpVersion;
}

char const* MultiPoolUnwarpPlugin::getPluginNamespace() const noexcept
{
    return "";
}

int32_t MultiPoolUnwarpPlugin::getNbOutputs() const noexcept
{
    return 1;
}

int32_t MultiPoolUnwarpPlugin::configurePlugin(
    DynamicPluginTensorDesc const* in, int32_t nbInputs, DynamicPluginTensorDesc const* out, int32_t nbOutputs) noexcept
{
    if (nbInputs != 1 || nbOutputs != 1 || in == nullptr || out == nullptr)
        return fail(kUnwarpName, "expects 1 input and 1 output");
    if (in[0].desc.dims.nbDims != 4)
        return fail(kUnwarpName, "input must be 4-D (N, C, h, w)");
    return 0;
}

bool MultiPoolUnwarpPlugin::supportsFormatCombination(
    int32_t pos, DynamicPluginTensorDesc const* inOut, int32_t nbInputs, int32_t nbOutputs) noexcept
{
    if (inOut == nullptr || nbInputs != 1 || nbOutputs != 1 || pos < 0 || pos > 1)
        return false;
    if (!isSupportedFormat(inOut[pos].desc))
        return false;
    return pos == 0 || inOut[pos].desc.type == inOut[0].desc.type;
}

int32_t MultiPoolUnwarpPlugin::getOutputDataTypes(
    DataType* outputTypes, int32_t nbOutputs, DataType const* inputTypes, int32_t nbInputs) const noexcept
{
    if (nbOutputs != 1 || nbInputs != 1 || !outputTypes || !inputTypes)
        return fail(kUnwarpName, "expects 1 input and 1 output");
    if (inputTypes[0] != DataType::kFLOAT && inputTypes[0] != DataType::kHALF)
        return fail(kUnwarpName, "input must be float32 or float16");
    outputTypes[0] = inputTypes[0];
    return 0;
}

int32_t MultiPoolUnwarpPlugin::getOutputShapes(DimsExprs const* inputs, int32_t nbInputs, DimsExprs const*,
    int32_t, DimsExprs* outputs, int32_t nbOutputs, IExprBuilder& eb) noexcept
{
    if (nbInputs != 1 || nbOutputs != 1 || !inputs || !outputs)
        return fail(kUnwarpName, "expects 1 input and 1 output");
    if (inputs[0].nbDims != 4)
        return fail(kUnwarpName, "input must be 4-D (N, C, h, w)");
    DimsExprs const& x = inputs[0];
    DimsExprs& y = outputs[0];
    y.nbDims = 4;
    y.d[0] = mAttrs.batch ? eb.constant(mAttrs.batch)
                          : exprOp(eb, DimensionOperation::kFLOOR_DIV, x.d[0], eb.constant(mAttrs.shifts()));
    y.d[1] = x.d[1];
    y.d[2] = mAttrs.outH ? eb.constant(mAttrs.outH)
                         : exprOp(eb, DimensionOperation::kPROD, x.d[2], eb.constant(mAttrs.totalY()));
    y.d[3] = mAttrs.outW ? eb.constant(mAttrs.outW)
                         : exprOp(eb, DimensionOperation::kPROD, x.d[3], eb.constant(mAttrs.totalX()));
    for (int32_t i = 0; i < 4; ++i)
        if (y.d[i] == nullptr)
            return fail(kUnwarpName, "the expression builder returned null");
    return 0;
}

size_t MultiPoolUnwarpPlugin::getWorkspaceSize(
    DynamicPluginTensorDesc const*, int32_t, DynamicPluginTensorDesc const*, int32_t) const noexcept
{
    return 0; // a pure gather
}

unwarp::Params MultiPoolUnwarpPlugin::paramsFor(Dims const& dims) const
{
    if (dims.nbDims != 4)
        throw AttributeError(std::string(kUnwarpName) + ": input must be 4-D (N, C, h, w)");
    unwarp::Params p;
    char const* err = unwarp::makeParams(p, static_cast<int32_t>(mAttrs.stridesY.size()), mAttrs.stridesY.data(),
        mAttrs.stridesX.data(), mAttrs.batch, mAttrs.outH, mAttrs.outW, dims.d[0], dims.d[1], dims.d[2], dims.d[3]);
    if (err)
        throw AttributeError(std::string(kUnwarpName) + ": " + err);
    return p;
}

int32_t MultiPoolUnwarpPlugin::onShapeChange(
    PluginTensorDesc const* in, int32_t nbInputs, PluginTensorDesc const*, int32_t nbOutputs) noexcept
{
    try
    {
        if (nbInputs != 1 || nbOutputs != 1 || !in)
            return fail(kUnwarpName, "expects 1 input and 1 output");
        paramsFor(in[0].dims);
        return 0;
    }
    catch (std::exception const& e)
    {
        return fail(kUnwarpName, e.what());
    }
}

int32_t MultiPoolUnwarpPlugin::enqueue(PluginTensorDesc const* inputDesc, PluginTensorDesc const*,
    void const* const* inputs, void* const* outputs, void*, cudaStream_t stream) noexcept
{
    try
    {
        unwarp::Params const p = paramsFor(inputDesc[0].dims);
        cudaError_t const err = unwarp::launch(p, toDType(inputDesc[0].type), inputs[0], outputs[0], stream);
        if (err != cudaSuccess)
            return fail(kUnwarpName, std::string("kernel launch failed: ") + cudaGetErrorString(err));
        return 0;
    }
    catch (std::exception const& e)
    {
        return fail(kUnwarpName, e.what());
    }
}

IPluginV3* MultiPoolUnwarpPlugin::attachToContext(IPluginResourceContext*) noexcept
{
    return clone();
}

PluginFieldCollection const* MultiPoolUnwarpPlugin::getFieldsToSerialize() noexcept
{
    // PluginField's constructor is noexcept (NvInferRuntimePlugin.h, release/10.3 ~l.881): no allocation here
    mFields = {intField(kFieldNames[0], mAttrs.stridesY.data(), static_cast<int32_t>(mAttrs.stridesY.size())),
        intField(kFieldNames[1], mAttrs.stridesX.data(), static_cast<int32_t>(mAttrs.stridesX.size())),
        intField(kFieldNames[2], &mAttrs.batch, 1), intField(kFieldNames[3], &mAttrs.outH, 1),
        intField(kFieldNames[4], &mAttrs.outW, 1)};
    mFc.nbFields = static_cast<int32_t>(mFields.size());
    mFc.fields = mFields.data();
    return &mFc;
}

MultiPoolUnwarpCreator::MultiPoolUnwarpCreator()
{
    for (char const* name : kFieldNames)
        mFieldNames.emplace_back(name, nullptr, PluginFieldType::kINT32, 0);
    mFc.nbFields = static_cast<int32_t>(mFieldNames.size());
    mFc.fields = mFieldNames.data();
}

char const* MultiPoolUnwarpCreator::getPluginName() const noexcept
{
    return kUnwarpName;
}

char const* MultiPoolUnwarpCreator::getPluginVersion() const noexcept
{
    return kUnwarpVersion;
}

char const* MultiPoolUnwarpCreator::getPluginNamespace() const noexcept
{
    return "";
}

PluginFieldCollection const* MultiPoolUnwarpCreator::getFieldNames() noexcept
{
    return &mFc;
}

UnwarpAttributes MultiPoolUnwarpCreator::parse(PluginFieldCollection const* fc)
{
    FieldReader r(kUnwarpName, fc, {std::begin(kFieldNames), std::end(kFieldNames)});
    UnwarpAttributes a;
    a.stridesY = r.ints("strides_y");
    a.stridesX = r.ints("strides_x");
    a.batch = r.intOr("batch", 0);
    a.outH = r.intOr("out_h", 0);
    a.outW = r.intOr("out_w", 0);
    a.validate();
    return a;
}

IPluginV3* MultiPoolUnwarpCreator::createPlugin(char const*, PluginFieldCollection const* fc, TensorRTPhase) noexcept
{
    try
    {
        return new MultiPoolUnwarpPlugin(parse(fc));
    }
    catch (std::exception const& e)
    {
        fail(kUnwarpName, e.what());
    }
    return nullptr;
}

} // namespace plugin
} // namespace edge
