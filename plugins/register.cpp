// The one registration point of the edge plugin library: TensorRT (load_library, trtexec --dynamicPlugins,
// plugins_to_serialize) calls getCreators() and setLoggerFinder(). No REGISTER_TENSORRT_PLUGIN: the library
// needs no libnvinfer symbol and links with -Wl,--no-undefined against cudart only.
#include "common/plugin_utils.h"
#include "multipool_unwarp/multipool_unwarp_plugin.h"
#include "sample_interp/sample_interp_plugin.h"

#define EDGE_PLUGIN_API __attribute__((visibility("default")))

extern "C" EDGE_PLUGIN_API void setLoggerFinder(nvinfer1::ILoggerFinder* finder)
{
    edge::plugin::setLoggerFinder(finder);
}

extern "C" EDGE_PLUGIN_API nvinfer1::IPluginCreatorInterface* const* getCreators(int32_t& nbCreators)
{
    static edge::plugin::MultiPoolUnwarpCreator unwarpCreator;
    static edge::plugin::SampleInterpCreator interpCreator;
    static nvinfer1::IPluginCreatorInterface* const creators[] = {&unwarpCreator, &interpCreator};
    nbCreators = 2;
    return creators;
}
