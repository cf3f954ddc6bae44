// IPluginV3 EdgeMultiPoolUnwarp (README.md): validates attributes and shapes, dispatches to the launcher.
#pragma once

#include "../common/plugin_utils.h"
#include "multipool_unwarp_kernel.cuh"

#include <array>
#include <string>
#include <vector>

namespace edge
{
namespace plugin
{

constexpr char const* kUnwarpName = "EdgeMultiPoolUnwarp";
constexpr char const* kUnwarpVersion = "1";

//! Attributes of one EdgeMultiPoolUnwarp node (the creator's fields).
struct UnwarpAttributes
{
    std::vector<int32_t> stridesY, stridesX;
    int32_t batch{0}, outH{0}, outW{0};

    //! Throws AttributeError naming the attribute and the rule it breaks.
    void validate() const;
    int64_t shifts() const; //!< M = prod(sy * sx)
    int64_t totalY() const; //!< Sy
    int64_t totalX() const; //!< Sx
};

class MultiPoolUnwarpPlugin : public nvinfer1::IPluginV3,
                              public nvinfer1::IPluginV3OneCore,
                              public nvinfer1::IPluginV3OneBuild,
                              public nvinfer1::IPluginV3OneRuntime
{
public:
    explicit MultiPoolUnwarpPlugin(UnwarpAttributes attrs);
    MultiPoolUnwarpPlugin(MultiPoolUnwarpPlugin const& other);
    ~MultiPoolUnwarpPlugin() override = default;

    UnwarpAttributes const& attributes() const
    {
        return mAttrs;
    }

    // IPluginV3
    nvinfer1::IPluginCapability* getCapabilityInterface(nvinfer1::PluginCapabilityType type) noexcept override;
    nvinfer1::IPluginV3* clone() noexcept override;

    // IPluginV3OneCore
    char const* getPluginName() const noexcept override;
    char const* getPluginVersion() const noexcept override;
    char const* getPluginNamespace() const noexcept override;

    // IPluginV3OneBuild
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

    // IPluginV3OneRuntime
    int32_t onShapeChange(nvinfer1::PluginTensorDesc const* in, int32_t nbInputs,
        nvinfer1::PluginTensorDesc const* out, int32_t nbOutputs) noexcept override;
    int32_t enqueue(nvinfer1::PluginTensorDesc const* inputDesc, nvinfer1::PluginTensorDesc const* outputDesc,
        void const* const* inputs, void* const* outputs, void* workspace, cudaStream_t stream) noexcept override;
    nvinfer1::IPluginV3* attachToContext(nvinfer1::IPluginResourceContext* context) noexcept override;
    nvinfer1::PluginFieldCollection const* getFieldsToSerialize() noexcept override;

    //! Gather parameters for an input of shape `dims` (N, C, h, w); throws AttributeError when inconsistent.
    unwarp::Params paramsFor(nvinfer1::Dims const& dims) const;

private:
    UnwarpAttributes mAttrs;
    // a fixed array: getFieldsToSerialize() is noexcept and must not allocate
    std::array<nvinfer1::PluginField, 5> mFields{};
    nvinfer1::PluginFieldCollection mFc{};
};

class MultiPoolUnwarpCreator : public nvinfer1::IPluginCreatorV3One
{
public:
    MultiPoolUnwarpCreator();
    char const* getPluginName() const noexcept override;
    char const* getPluginVersion() const noexcept override;
    char const* getPluginNamespace() const noexcept override;
    nvinfer1::PluginFieldCollection const* getFieldNames() noexcept override;
    nvinfer1::IPluginV3* createPlugin(
        char const* name, nvinfer1::PluginFieldCollection const* fc, nvinfer1::TensorRTPhase phase) noexcept override;

    //! The attributes parsed from `fc` (throws AttributeError); createPlugin's parsing step.
    static UnwarpAttributes parse(nvinfer1::PluginFieldCollection const* fc);

private:
    std::vector<nvinfer1::PluginField> mFieldNames;
    nvinfer1::PluginFieldCollection mFc{};
};

} // namespace plugin
} // namespace edge
