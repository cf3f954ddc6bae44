#include "sample_interp_plugin.h"

#include "sample_interp_kernel.h"

#include <exception>

using namespace nvinfer1;

namespace edge
{
namespace plugin
{
namespace
{
char const* const kFieldNames[] = {"stride", "padding", "dilation", "groups", "activation", "window", "lambda"};
constexpr int32_t kNbInputs = 4; // X, M, W, bias

void copy2(std::vector<int32_t> const& v, int32_t* out)
{
    out[0] = v[0];
    out[1] = v[1];
}
} // namespace

sinterp::Params InterpAttributes::params() const
{
    // the C ABI's attribute order, so that one function maps attributes to Params
    int32_t const attrs[9]{stride[0], stride[1], padding[0], padding[1], dilation[0], dilation[1], groups, activation,
        window};
    return sinterp::paramsFromAttrs(attrs, lambda);
}

void InterpAttributes::validate() const
{
    if (char const* err = sinterp::checkAttributes(params()))
        throw AttributeError(std::string(kInterpName) + ": " + err);
}

SampleInterpPlugin::SampleInterpPlugin(InterpAttributes attrs)
    : mAttrs(attrs)
{
    mAttrs.validate();
}

SampleInterpPlugin::SampleInterpPlugin(SampleInterpPlugin const& other)
    : IPluginV3()
    , IPluginV3OneCore()
    , IPluginV3OneBuild()
    , IPluginV3OneRuntime()
    , mAttrs(other.mAttrs) // mFields point into the owner: rebuilt by getFieldsToSerialize()
{
}

IPluginCapability* SampleInterpPlugin::getCapabilityInterface(PluginCapabilityType type) noexcept
{
    switch (type)
    {
    case PluginCapabilityType::kCORE: return static_cast<IPluginV3OneCore*>(this);
    case PluginCapabilityType::kBUILD: return static_cast<IPluginV3OneBuild*>(this);
    case PluginCapabilityType::kRUNTIME: return static_cast<IPluginV3OneRuntime*>(this);
    }
    return nullptr;
}

IPluginV3* SampleInterpPlugin::clone() noexcept
{
    try
    {
        return new SampleInterpPlugin(*this);
    }
    catch (std::exception const& e)
    {
        fail(kInterpName, e.what());
    }
    return nullptr;
}

char const* SampleInterpPlugin::getPluginName() const noexcept
{
    return kInterpName;
}

char const* SampleInterpPlugin::getPluginVersion() const noexcept
{
    return kInterpVersion;
}

char const* SampleInterpPlugin::getPluginNamespace() const noexcept
{
    return "";
}

int32_t SampleInterpPlugin::getNbOutputs() const noexcept
{
    return 1;
}

int32_t SampleInterpPlugin::configurePlugin(
    DynamicPluginTensorDesc const* in, int32_t nbInputs, DynamicPluginTensorDesc const* out, int32_t nbOutputs) noexcept
{
    if (nbInputs != kNbInputs || nbOutputs != 1 || !in || !out)
        return fail(kInterpName, "expects 4 inputs (X, M, W, bias) and 1 output");
    if (in[0].desc.dims.nbDims != 4 || in[1].desc.dims.nbDims != 4 || in[2].desc.dims.nbDims != 4
        || in[3].desc.dims.nbDims != 1)
        return fail(kInterpName, "X, M and W must be 4-D and bias 1-D");
    return 0;
}

bool SampleInterpPlugin::supportsFormatCombination(
    int32_t pos, DynamicPluginTensorDesc const* inOut, int32_t nbInputs, int32_t nbOutputs) noexcept
{
    if (!inOut || nbInputs != kNbInputs || nbOutputs != 1 || pos < 0 || pos > kNbInputs)
        return false;
    if (!isSupportedFormat(inOut[pos].desc))
        return false;
    return pos == 0 || inOut[pos].desc.type == inOut[0].desc.type; // one type for all tensors
}

int32_t SampleInterpPlugin::getOutputDataTypes(
    DataType* outputTypes, int32_t nbOutputs, DataType const* inputTypes, int32_t nbInputs) const noexcept
{
    if (nbOutputs != 1 || nbInputs != kNbInputs || !outputTypes || !inputTypes)
        return fail(kInterpName, "expects 4 inputs (X, M, W, bias) and 1 output");
    if (inputTypes[0] != DataType::kFLOAT && inputTypes[0] != DataType::kHALF)
        return fail(kInterpName, "X must be float32 or float16");
    outputTypes[0] = inputTypes[0];
    return 0;
}

int32_t SampleInterpPlugin::getOutputShapes(DimsExprs const* inputs, int32_t nbInputs, DimsExprs const*, int32_t,
    DimsExprs* outputs, int32_t nbOutputs, IExprBuilder& eb) noexcept
{
    if (nbInputs != kNbInputs || nbOutputs != 1 || !inputs || !outputs)
        return fail(kInterpName, "expects 4 inputs (X, M, W, bias) and 1 output");
    if (inputs[0].nbDims != 4 || inputs[2].nbDims != 4)
        return fail(kInterpName, "X and W must be 4-D");
    DimsExprs const& x = inputs[0];
    DimsExprs const& w = inputs[2];
    // Ho = (H + 2p + d - 1 - d*kh) floordiv s + 1, likewise Wo
    // sinterp::convOutSize() is the same floor division (negative numerator: input smaller than the kernel)
    auto outSize = [&](IDimensionExpr const* in, IDimensionExpr const* k, int32_t s, int32_t p, int32_t d) {
        auto const* span = exprOp(eb, DimensionOperation::kSUM, in, eb.constant(2 * p + d - 1));
        auto const* dk = exprOp(eb, DimensionOperation::kPROD, k, eb.constant(d));
        auto const* q = exprOp(
            eb, DimensionOperation::kFLOOR_DIV, exprOp(eb, DimensionOperation::kSUB, span, dk), eb.constant(s));
        return exprOp(eb, DimensionOperation::kSUM, q, eb.constant(1));
    };
    DimsExprs& y = outputs[0];
    y.nbDims = 4;
    y.d[0] = x.d[0];
    y.d[1] = w.d[0];
    y.d[2] = outSize(x.d[2], w.d[2], mAttrs.stride[0], mAttrs.padding[0], mAttrs.dilation[0]);
    y.d[3] = outSize(x.d[3], w.d[3], mAttrs.stride[1], mAttrs.padding[1], mAttrs.dilation[1]);
    for (int32_t i = 0; i < 4; ++i)
        if (y.d[i] == nullptr)
            return fail(kInterpName, "the expression builder returned null");
    return 0;
}

size_t SampleInterpPlugin::getWorkspaceSize(DynamicPluginTensorDesc const* inputs, int32_t nbInputs,
    DynamicPluginTensorDesc const* outputs, int32_t nbOutputs) const noexcept
{
    if (nbInputs != kNbInputs || nbOutputs != 1 || !inputs || !outputs || outputs[0].max.nbDims != 4)
        return 0;
    // worst case over the optimisation profile: every position sampled at the largest output shape
    sinterp::Params p;
    p.batch = outputs[0].max.d[0];
    p.cout = outputs[0].max.d[1];
    p.outH = outputs[0].max.d[2];
    p.outW = outputs[0].max.d[3];
    size_t const elem = inputs[0].desc.type == DataType::kHALF ? 2 : 4;
    return sinterp::workspaceSize(p, elem);
}

sinterp::Params SampleInterpPlugin::paramsFor(Dims const& x, Dims const& mask, Dims const& w, Dims const& bias) const
{
    if (x.nbDims != 4 || mask.nbDims != 4 || w.nbDims != 4 || bias.nbDims != 1)
        throw AttributeError(std::string(kInterpName) + ": X, M and W must be 4-D and bias 1-D");
    sinterp::Params p = mAttrs.params();
    if (char const* err = sinterp::setShapes(p, x.d, w.d, mask.d, bias.d[0]))
        throw AttributeError(std::string(kInterpName) + ": " + err);
    return p;
}

int32_t SampleInterpPlugin::onShapeChange(
    PluginTensorDesc const* in, int32_t nbInputs, PluginTensorDesc const*, int32_t nbOutputs) noexcept
{
    try
    {
        if (nbInputs != kNbInputs || nbOutputs != 1 || !in)
            return fail(kInterpName, "expects 4 inputs (X, M, W, bias) and 1 output");
        paramsFor(in[0].dims, in[1].dims, in[2].dims, in[3].dims);
        return 0;
    }
    catch (std::exception const& e)
    {
        return fail(kInterpName, e.what());
    }
}

int32_t SampleInterpPlugin::enqueue(PluginTensorDesc const* inputDesc, PluginTensorDesc const*,
    void const* const* inputs, void* const* outputs, void* workspace, cudaStream_t stream) noexcept
{
    try
    {
        sinterp::Params const p = paramsFor(inputDesc[0].dims, inputDesc[1].dims, inputDesc[2].dims, inputDesc[3].dims);
        cudaError_t const err = sinterp::launch(p, toDType(inputDesc[0].type), inputs[0], inputs[1], inputs[2],
            inputs[3], outputs[0], workspace, stream);
        if (err != cudaSuccess)
            return fail(kInterpName, std::string("kernel launch failed: ") + cudaGetErrorString(err));
        return 0;
    }
    catch (std::exception const& e)
    {
        return fail(kInterpName, e.what());
    }
}

IPluginV3* SampleInterpPlugin::attachToContext(IPluginResourceContext*) noexcept
{
    return clone();
}

PluginFieldCollection const* SampleInterpPlugin::getFieldsToSerialize() noexcept
{
    // PluginField's constructor is noexcept (NvInferRuntimePlugin.h, release/10.3 ~l.881): no allocation here
    mFields = {intField(kFieldNames[0], mAttrs.stride, 2), intField(kFieldNames[1], mAttrs.padding, 2),
        intField(kFieldNames[2], mAttrs.dilation, 2), intField(kFieldNames[3], &mAttrs.groups, 1),
        intField(kFieldNames[4], &mAttrs.activation, 1), intField(kFieldNames[5], &mAttrs.window, 1),
        PluginField(kFieldNames[6], &mAttrs.lambda, PluginFieldType::kFLOAT32, 1)};
    mFc.nbFields = static_cast<int32_t>(mFields.size());
    mFc.fields = mFields.data();
    return &mFc;
}

SampleInterpCreator::SampleInterpCreator()
{
    int32_t const lengths[] = {2, 2, 2, 1, 1, 1, 1};
    for (int32_t i = 0; i < 6; ++i)
        mFieldNames.emplace_back(kFieldNames[i], nullptr, PluginFieldType::kINT32, lengths[i]);
    mFieldNames.emplace_back(kFieldNames[6], nullptr, PluginFieldType::kFLOAT32, 1);
    mFc.nbFields = static_cast<int32_t>(mFieldNames.size());
    mFc.fields = mFieldNames.data();
}

char const* SampleInterpCreator::getPluginName() const noexcept
{
    return kInterpName;
}

char const* SampleInterpCreator::getPluginVersion() const noexcept
{
    return kInterpVersion;
}

char const* SampleInterpCreator::getPluginNamespace() const noexcept
{
    return "";
}

PluginFieldCollection const* SampleInterpCreator::getFieldNames() noexcept
{
    return &mFc;
}

InterpAttributes SampleInterpCreator::parse(PluginFieldCollection const* fc)
{
    FieldReader r(kInterpName, fc, {std::begin(kFieldNames), std::end(kFieldNames)});
    InterpAttributes a;
    if (r.has("stride"))
        copy2(r.ints("stride", 2), a.stride);
    if (r.has("padding"))
        copy2(r.ints("padding", 2), a.padding);
    if (r.has("dilation"))
        copy2(r.ints("dilation", 2), a.dilation);
    a.groups = r.intOr("groups", 1);
    a.activation = r.intOr("activation", 0);
    a.window = r.intOr("window", 7);
    a.lambda = r.floatValue("lambda");
    a.validate();
    return a;
}

IPluginV3* SampleInterpCreator::createPlugin(char const*, PluginFieldCollection const* fc, TensorRTPhase) noexcept
{
    try
    {
        return new SampleInterpPlugin(parse(fc));
    }
    catch (std::exception const& e)
    {
        fail(kInterpName, e.what());
    }
    return nullptr;
}

} // namespace plugin
} // namespace edge
