// The noexcept boundary of the plugin classes under failure: every IPluginV3 method is noexcept (TensorRT's
// headers, e.g. NvInferRuntime.h release/10.3 l.860 getOutputShapes, l.1092 getFieldsToSerialize), so an
// exception escaping one (std::bad_alloc from a std::string built for an error message, a std::vector
// assignment) calls std::terminate and kills the host process (trtexec, the Python interpreter).
// Here operator new throws on demand: each method must still return its failure code (or its result when it
// needs no allocation). A null expression from IExprBuilder::constant must give -1, not a crash.
// A separate executable: the replaced operator new would otherwise apply to test_plugin_host as well.
#include "host_test_support.h"

#include <cstdlib>
#include <new>

static bool gFailAlloc = false;

void* operator new(std::size_t n)
{
    if (gFailAlloc)
        throw std::bad_alloc();
    if (void* p = std::malloc(n ? n : 1))
        return p;
    throw std::bad_alloc();
}

void operator delete(void* p) noexcept
{
    std::free(p);
}

void operator delete(void* p, std::size_t) noexcept
{
    std::free(p);
}

//! Runs `call` with every allocation failing; returns its result.
template <typename F>
static auto underBadAlloc(F call)
{
    gFailAlloc = true;
    auto r = call();
    gFailAlloc = false;
    return r;
}

static void testUnwarp()
{
    auto p = create<MultiPoolUnwarpPlugin>("EdgeMultiPoolUnwarp", Fields().i("strides_y", {2}).i("strides_x", {2}));
    CHECK(p != nullptr);
    if (!p)
        return;
    Builder eb;
    DimsExprs in = eb.input({8, 3, 4, 4}), bad = eb.input({8, 3, 4}), out{};
    DynamicPluginTensorDesc din = desc(DataType::kFLOAT, {8, 3, 4, 4});
    DataType outT{}, inT = DataType::kINT32;
    CHECK(underBadAlloc([&] { return p->configurePlugin(&din, 2, &din, 1); }) == -1);
    CHECK(underBadAlloc([&] { return p->getOutputDataTypes(&outT, 1, &inT, 1); }) == -1);
    CHECK(underBadAlloc([&] { return p->getOutputShapes(&bad, 1, nullptr, 0, &out, 1, eb); }) == -1);
    PluginFieldCollection const* fc = underBadAlloc([&] { return p->getFieldsToSerialize(); });
    CHECK(fc != nullptr && fc->nbFields == 5);
    eb.impl.nullConstants = true; // batch = N floordiv constant(M): the constant is null
    CHECK(p->getOutputShapes(&in, 1, nullptr, 0, &out, 1, eb) == -1);
    eb.impl.nullConstants = false;
    CHECK(p->getOutputShapes(&in, 1, nullptr, 0, &out, 1, eb) == 0 && valueOf(out.d[0]) == 2);
}

static void testInterp()
{
    auto p = create<SampleInterpPlugin>("EdgeSampleInterp", Fields().f("lambda", 0.5f));
    CHECK(p != nullptr);
    if (!p)
        return;
    Builder eb;
    DimsExprs in[4] = {eb.input({1, 2, 5, 5}), eb.input({1, 1, 3, 3}), eb.input({4, 2, 3, 3}), eb.input({4})};
    DimsExprs out{};
    DynamicPluginTensorDesc din = desc(DataType::kFLOAT, {1, 2, 5, 5});
    DataType outT{}, inT[4] = {DataType::kINT8, DataType::kINT8, DataType::kINT8, DataType::kINT8};
    CHECK(underBadAlloc([&] { return p->configurePlugin(&din, 1, &din, 1); }) == -1);
    CHECK(underBadAlloc([&] { return p->getOutputDataTypes(&outT, 1, inT, 4); }) == -1);
    CHECK(underBadAlloc([&] { return p->getOutputShapes(in, 3, nullptr, 0, &out, 1, eb); }) == -1);
    PluginFieldCollection const* fc = underBadAlloc([&] { return p->getFieldsToSerialize(); });
    CHECK(fc != nullptr && fc->nbFields == 7);
    eb.impl.nullConstants = true;
    CHECK(p->getOutputShapes(in, 4, nullptr, 0, &out, 1, eb) == -1);
    eb.impl.nullConstants = false;
    CHECK(p->getOutputShapes(in, 4, nullptr, 0, &out, 1, eb) == 0 && valueOf(out.d[2]) == 3);
}

int main()
{
    ::setLoggerFinder(&gFinder);
    testUnwarp();
    testInterp();
    if (gFailures)
    {
        std::printf("%d of %d checks failed\n", gFailures, gChecks);
        return 1;
    }
    std::printf("test_plugin_noexcept: all %d checks passed\n", gChecks);
    return 0;
}
