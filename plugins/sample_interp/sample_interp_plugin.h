// IPluginV3 EdgeSampleInterp (README.md): validates attributes and shapes, declares the workspace of the
// compacted positions, dispatches to the launcher.
#pragma once

#include "../common/plugin_utils.h"
#include "sample_interp_kernel.cuh"

#include <array>
#include <vector>

namespace edge
{
namespace plugin
{

constexpr char const* kInterpName = "EdgeSampleInterp";
constexpr char const* kInterpVersion = "1";

//! Attributes of one EdgeSampleInterp node (the creator's fields).
struct InterpAttributes
{
    int32_t stride[2]{1, 1}, padding[2]{0, 0}, dilation[2]{1, 1};
    int32_t groups{1}, activation{0}, window{7};
    float lambda{0.f};

    //! Params with the attributes set and no shapes.
    sinterp::Params params() const;
    //! Throws AttributeError naming the attribute and the rule it breaks.
    void validate() const;
};

class SampleInterpPlugin : public nvinfer1::IPluginV3,
                           public nvinfer1::IPluginV3OneCore,
                           public nvinfer1::IPluginV3OneBuild,
                           public nvinfer1::IPluginV3OneRuntime
{
public:
    explicit SampleInterpPlugin(InterpAttributes attrs);
    SampleInterpPlugin(SampleInterpPlugin const& other);
    ~SampleInterpPlugin() override = default;

    InterpAttributes const& attributes() const
    {
        return mAttrs;
    }

    nvinfer1::IPluginCapability* getCapabilityInterface(nvinfer1::PluginCapabilityType type) noexcept override;
    nvinfer1::IPluginV3* clone() noexcept override;

    char const* getPluginName() const noexcept override;
    char const* getPluginVersion() const noexcept override;
    char const* getPluginNamespace() const noexcept override;

    int32_t getNbOutputs() const noexcept override;
    int32_t configurePlugin(nvinfer1::DynamicPluginTensorDesc const* in, int32_t nbInputs,
        nvinfer1::DynamicPluginTensorDesc const* out, int32_t nbOutputs) noexcept override;
    bool supportsFormatCombination(int32_t pos, nvinfer1::DynamicPluginTensorDesc const* inOut, int32_t nbInputs,
        int32_t nbOutputs) noexcept override;
    int32_t getOutputDataTypes(nvinfer1::DataType* outputTypes, int32_t nbOutputs,
        nvinfer1::DataType const* inputTypes, int32_t nbInputs) const noexcept override;
    int32_t getOutputShapes(nvinfer1::DimsExprs const* inputs, int32_t nbInputs,
        nvinfer1::DimsExprs const* shapeInputs, int32_t nbShapeInputs, nvinfer1::DimsExprs* outputs,
        int32_t nbOutputs, nvinfer1::IExprBuilder& exprBuilder) noexcept override;
    size_t getWorkspaceSize(nvinfer1::DynamicPluginTensorDesc const* inputs, int32_t nbInputs,
        nvinfer1::DynamicPluginTensorDesc const* outputs, int32_t nbOutputs) const noexcept override;

    int32_t onShapeChange(nvinfer1::PluginTensorDesc const* in, int32_t nbInputs,
        nvinfer1::PluginTensorDesc const* out, int32_t nbOutputs) noexcept override;
    int32_t enqueue(nvinfer1::PluginTensorDesc const* inputDesc, nvinfer1::PluginTensorDesc const* outputDesc,
        void const* const* inputs, void* const* outputs, void* workspace, cudaStream_t stream) noexcept override;
    nvinfer1::IPluginV3* attachToContext(nvinfer1::IPluginResourceContext* context) noexcept override;
    nvinfer1::PluginFieldCollection const* getFieldsToSerialize() noexcept override;

    //! Parameters for inputs of the given shapes (X, M, W, bias); throws AttributeError when inconsistent.
    sinterp::Params paramsFor(nvinfer1::Dims const& x, nvinfer1::Dims const& mask, nvinfer1::Dims const& w,
        nvinfer1::Dims const& bias) const;

private:
    InterpAttributes mAttrs;
    // a fixed array: getFieldsToSerialize() is noexcept and must not allocate
    std::array<nvinfer1::PluginField, 7> mFields{};
    nvinfer1::PluginFieldCollection mFc{};
};

class SampleInterpCreator : public nvinfer1::IPluginCreatorV3One
{
public:
    SampleInterpCreator();
    char const* getPluginName() const noexcept override;
    char const* getPluginVersion() const noexcept override;
    char const* getPluginNamespace() const noexcept override;
    nvinfer1::PluginFieldCollection const* getFieldNames() noexcept override;
    nvinfer1::IPluginV3* createPlugin(
        char const* name, nvinfer1::PluginFieldCollection const* fc, nvinfer1::TensorRTPhase phase) noexcept override;

    //! The attributes parsed from `fc` (throws AttributeError); createPlugin's parsing step.
    static InterpAttributes parse(nvinfer1::PluginFieldCollection const* fc);

private:
    std::vector<nvinfer1::PluginField> mFieldNames;
    nvinfer1::PluginFieldCollection mFc{};
};

} // namespace plugin
} // namespace edge
