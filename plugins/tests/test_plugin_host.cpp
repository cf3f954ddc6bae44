// Host-side checks of the IPluginV3 classes, compiled against real TensorRT headers and run without
// libnvinfer or a GPU: getCreators(), field parsing, rejection of bad attributes (error logged, nullptr
// returned, no crash), getOutputShapes through a small IExprBuilder of our own, supportsFormatCombination,
// output types, onShapeChange validation, workspace size, serialisation round trip and clone.
#include "host_test_support.h"

// ---- tests -----------------------------------------------------------------------------------------------------
static void testRegistration()
{
    int32_t n = 0;
    IPluginCreatorInterface* const* all = getCreators(n);
    CHECK(n == 2);
    for (int32_t i = 0; i < n; ++i)
        CHECK(std::strcmp(all[i]->getInterfaceInfo().kind, "PLUGIN CREATOR_V3ONE") == 0);
    for (char const* name : {"EdgeMultiPoolUnwarp", "EdgeSampleInterp"})
    {
        IPluginCreatorV3One* c = creator(name);
        CHECK(c != nullptr);
        if (!c)
            continue;
        CHECK(std::strcmp(c->getPluginVersion(), "1") == 0);
        CHECK(std::strcmp(c->getPluginNamespace(), "") == 0);
    }
    PluginFieldCollection const* u = creator("EdgeMultiPoolUnwarp")->getFieldNames();
    char const* const uNames[] = {"strides_y", "strides_x", "batch", "out_h", "out_w"};
    CHECK(u->nbFields == 5);
    for (int32_t i = 0; i < u->nbFields && i < 5; ++i)
        CHECK(std::strcmp(u->fields[i].name, uNames[i]) == 0 && u->fields[i].type == PluginFieldType::kINT32);
    PluginFieldCollection const* s = creator("EdgeSampleInterp")->getFieldNames();
    char const* const sNames[] = {"stride", "padding", "dilation", "groups", "activation", "window", "lambda"};
    CHECK(s->nbFields == 7);
    for (int32_t i = 0; i < s->nbFields && i < 7; ++i)
        CHECK(std::strcmp(s->fields[i].name, sNames[i]) == 0);
    CHECK(s->fields[6].type == PluginFieldType::kFLOAT32);
}

static void testUnwarpPlugin()
{
    auto p = create<MultiPoolUnwarpPlugin>("EdgeMultiPoolUnwarp", Fields().i("strides_y", {2, 3}).i("strides_x", {2, 2}));
    CHECK(p != nullptr);
    if (!p)
        return;
    CHECK(p->getNbOutputs() == 1);
    for (auto t : {PluginCapabilityType::kCORE, PluginCapabilityType::kBUILD, PluginCapabilityType::kRUNTIME})
        CHECK(p->getCapabilityInterface(t) != nullptr);
    // shapes: M = 4 * 6 = 24, Sy = 6, Sx = 4
    Builder eb;
    DimsExprs in = eb.input({48, 7, 5, 6});
    DimsExprs out{};
    CHECK(p->getOutputShapes(&in, 1, nullptr, 0, &out, 1, eb) == 0);
    CHECK(out.nbDims == 4 && valueOf(out.d[0]) == 2 && valueOf(out.d[1]) == 7 && valueOf(out.d[2]) == 30
        && valueOf(out.d[3]) == 24);
    auto cropped = create<MultiPoolUnwarpPlugin>("EdgeMultiPoolUnwarp",
        Fields().i("strides_y", {2, 3}).i("strides_x", {2, 2}).i("batch", {2}).i("out_h", {29}).i("out_w", {23}));
    CHECK(cropped->getOutputShapes(&in, 1, nullptr, 0, &out, 1, eb) == 0);
    CHECK(valueOf(out.d[0]) == 2 && valueOf(out.d[2]) == 29 && valueOf(out.d[3]) == 23);
    CHECK(static_cast<Expr const*>(out.d[2])->isConst());
    DimsExprs bad = eb.input({48, 7, 5});
    CHECK(p->getOutputShapes(&bad, 1, nullptr, 0, &out, 1, eb) == -1);
    // formats: same float/half type in and out, linear only
    DynamicPluginTensorDesc io[2] = {desc(DataType::kFLOAT, {48, 7, 5, 6}), desc(DataType::kFLOAT, {2, 7, 30, 24})};
    CHECK(p->supportsFormatCombination(0, io, 1, 1) && p->supportsFormatCombination(1, io, 1, 1));
    io[1].desc.type = DataType::kHALF;
    CHECK(!p->supportsFormatCombination(1, io, 1, 1));
    io[0].desc.type = DataType::kHALF;
    CHECK(p->supportsFormatCombination(0, io, 1, 1) && p->supportsFormatCombination(1, io, 1, 1));
    io[0].desc.type = DataType::kINT8;
    CHECK(!p->supportsFormatCombination(0, io, 1, 1));
    io[0] = desc(DataType::kFLOAT, {48, 7, 5, 6}, TensorFormat::kCHW32);
    CHECK(!p->supportsFormatCombination(0, io, 1, 1));
    DataType outT{};
    DataType inT = DataType::kHALF;
    CHECK(p->getOutputDataTypes(&outT, 1, &inT, 1) == 0 && outT == DataType::kHALF);
    inT = DataType::kINT32;
    CHECK(p->getOutputDataTypes(&outT, 1, &inT, 1) == -1);
    // runtime shape validation: N must be a multiple of M (and equal batch*M when batch is set)
    PluginTensorDesc rin{}, rout{};
    rin.dims = dims({48, 7, 5, 6});
    CHECK(p->onShapeChange(&rin, 1, &rout, 1) == 0);
    rin.dims = dims({50, 7, 5, 6});
    gFinder.logger.lastError.clear();
    CHECK(p->onShapeChange(&rin, 1, &rout, 1) == -1 && gFinder.logger.lastError.find("multiple") != std::string::npos);
    rin.dims = dims({72, 7, 5, 6});
    CHECK(cropped->onShapeChange(&rin, 1, &rout, 1) == -1);
    edge::unwarp::Params const prm = p->paramsFor(dims({48, 7, 5, 6}));
    CHECK(prm.batch == 2 && prm.outH == 30 && prm.outW == 24 && prm.nLayers == 2);
    CHECK(p->getWorkspaceSize(io, 1, io + 1, 1) == 0);
    // serialisation round trip and clone
    PluginFieldCollection const* ser = cropped->getFieldsToSerialize();
    std::unique_ptr<MultiPoolUnwarpPlugin> back(static_cast<MultiPoolUnwarpPlugin*>(
        creator("EdgeMultiPoolUnwarp")->createPlugin("node", ser, TensorRTPhase::kRUNTIME)));
    CHECK(back != nullptr);
    if (back)
    {
        auto const& a = back->attributes();
        CHECK(a.stridesY == std::vector<int32_t>({2, 3}) && a.stridesX == std::vector<int32_t>({2, 2}));
        CHECK(a.batch == 2 && a.outH == 29 && a.outW == 23);
    }
    std::unique_ptr<MultiPoolUnwarpPlugin> copy(static_cast<MultiPoolUnwarpPlugin*>(cropped->clone()));
    cropped.reset(); // the clone must not depend on the original
    CHECK(copy && copy->attributes().outH == 29 && copy->getFieldsToSerialize()->nbFields == 5);
    std::unique_ptr<IPluginV3> attached(copy->attachToContext(nullptr));
    CHECK(attached != nullptr);
}

static void testUnwarpRejects()
{
    char const* n = "EdgeMultiPoolUnwarp";
    CHECK(rejected(n, Fields().i("strides_x", {2}), "strides_y"));
    CHECK(rejected(n, Fields().i("strides_y", {2, 2}).i("strides_x", {2}), "same length"));
    CHECK(rejected(n, Fields().i("strides_y", {2, 0}).i("strides_x", {2, 2}), ">= 1"));
    CHECK(rejected(n, Fields().i("strides_y", {}).i("strides_x", {}), "non-empty"));
    CHECK(rejected(n, Fields().i("strides_y", {2}).i("strides_x", {2}).i("out_h", {-3}), ">= 0"));
    CHECK(rejected(n, Fields().i("strides_y", {2}).i("strides_x", {2}).i("batch", {1, 2}), "batch"));
    CHECK(rejected(n, Fields().i("strides_y", std::vector<int32_t>(9, 2)).i("strides_x", std::vector<int32_t>(9, 2)),
        "at most 8"));
    Fields wrongType;
    wrongType.f("strides_y", 2.f).i("strides_x", {2});
    CHECK(rejected(n, wrongType, "integer"));
    gFinder.logger.lastError.clear();
    CHECK(creator(n)->createPlugin("node", nullptr, TensorRTPhase::kBUILD) == nullptr);
    CHECK(!gFinder.logger.lastError.empty());
}

static Fields interpFields()
{
    Fields f; // built in place: the PluginFields point into it
    f.i("stride", {2, 1})
        .i("padding", {1, 0})
        .i("dilation", {1, 2})
        .i("groups", {2})
        .i("activation", {2})
        .i("window", {5})
        .f("lambda", 0.25f);
    return f;
}

static void testInterpPlugin()
{
    auto p = create<SampleInterpPlugin>("EdgeSampleInterp", interpFields());
    CHECK(p != nullptr);
    if (!p)
        std::printf("  createPlugin failed: %s\n", gFinder.logger.lastError.c_str());
    if (!p)
        return;
    // output shape = the convolution's, over a sweep of sizes, against the one C++ definition
    Builder eb;
    int32_t bad = 0;
    for (int64_t h = 5; h < 14; ++h)
        for (int64_t k = 1; k < 4; ++k)
        {
            DimsExprs in[4] = {eb.input({3, 4, h, h + 1}), eb.input({3, 1, 1, 1}), eb.input({6, 2, k, k}, true),
                eb.input({6}, true)};
            DimsExprs out{};
            if (p->getOutputShapes(in, 4, nullptr, 0, &out, 1, eb) != 0)
            {
                ++bad;
                continue;
            }
            bad += valueOf(out.d[0]) != 3 || valueOf(out.d[1]) != 6
                || valueOf(out.d[2]) != edge::sinterp::convOutSize(h, k, 2, 1, 1)
                || valueOf(out.d[3]) != edge::sinterp::convOutSize(h + 1, k, 1, 0, 2);
        }
    CHECK(bad == 0);
    // formats: all five tensors share float or half
    DynamicPluginTensorDesc io[5] = {desc(DataType::kHALF, {3, 4, 9, 10}), desc(DataType::kHALF, {3, 1, 5, 6}),
        desc(DataType::kHALF, {6, 2, 3, 3}), desc(DataType::kHALF, {6}), desc(DataType::kHALF, {3, 6, 5, 6})};
    for (int32_t pos = 0; pos < 5; ++pos)
        CHECK(p->supportsFormatCombination(pos, io, 4, 1));
    io[1].desc.type = DataType::kFLOAT;
    CHECK(!p->supportsFormatCombination(1, io, 4, 1));
    CHECK(!p->supportsFormatCombination(5, io, 4, 1));
    CHECK(!p->supportsFormatCombination(0, io, 3, 1));
    // workspace: positions list + counter and F in half, each 256-aligned
    io[4].max = dims({3, 6, 5, 6});
    size_t const want = ((3 * 5 * 6 + 1) * 4 + 255) / 256 * 256 + (3 * 6 * 5 * 6 * 2 + 255) / 256 * 256;
    CHECK(p->getWorkspaceSize(io, 4, io + 4, 1) == want);
    // runtime shapes: the mask must be at the output resolution
    PluginTensorDesc rin[4]{}, rout{};
    rin[0].dims = dims({3, 4, 9, 10});
    rin[1].dims = dims({3, 1, 5, 6});
    rin[2].dims = dims({6, 2, 3, 3});
    rin[3].dims = dims({6});
    CHECK(p->onShapeChange(rin, 4, &rout, 1) == 0);
    rin[1].dims = dims({3, 1, 9, 10});
    gFinder.logger.lastError.clear();
    CHECK(p->onShapeChange(rin, 4, &rout, 1) == -1 && gFinder.logger.lastError.find("mask") != std::string::npos);
    rin[1].dims = dims({3, 1, 5, 6});
    rin[2].dims = dims({6, 4, 3, 3}); // Cin/groups mismatch
    CHECK(p->onShapeChange(rin, 4, &rout, 1) == -1);
    // serialisation round trip and clone
    std::unique_ptr<SampleInterpPlugin> back(static_cast<SampleInterpPlugin*>(
        creator("EdgeSampleInterp")->createPlugin("node", p->getFieldsToSerialize(), TensorRTPhase::kRUNTIME)));
    CHECK(back != nullptr);
    if (back)
    {
        auto const& a = back->attributes();
        CHECK(a.stride[0] == 2 && a.stride[1] == 1 && a.padding[0] == 1 && a.dilation[1] == 2 && a.groups == 2
            && a.activation == 2 && a.window == 5 && a.lambda == 0.25f);
    }
    std::unique_ptr<SampleInterpPlugin> copy(static_cast<SampleInterpPlugin*>(p->clone()));
    p.reset();
    CHECK(copy && copy->attributes().window == 5 && copy->getFieldsToSerialize()->nbFields == 7);
    // defaults: only lambda given
    auto d = create<SampleInterpPlugin>("EdgeSampleInterp", Fields().f("lambda", 1.f));
    CHECK(d && d->attributes().stride[0] == 1 && d->attributes().window == 7 && d->attributes().groups == 1);
}

static void testInterpRejects()
{
    char const* n = "EdgeSampleInterp";
    CHECK(rejected(n, Fields().i("window", {7}), "lambda"));
    CHECK(rejected(n, Fields().f("lambda", 1.f).i("window", {6}), "odd"));
    CHECK(rejected(n, Fields().f("lambda", -1.f), "lambda"));
    CHECK(rejected(n, Fields().f("lambda", 1.f).i("stride", {1, 1, 1}), "stride"));
    CHECK(rejected(n, Fields().f("lambda", 1.f).i("stride", {0, 1}), "stride"));
    CHECK(rejected(n, Fields().f("lambda", 1.f).i("padding", {-1, 0}), "padding"));
    CHECK(rejected(n, Fields().f("lambda", 1.f).i("dilation", {1, 0}), "dilation"));
    CHECK(rejected(n, Fields().f("lambda", 1.f).i("activation", {3}), "activation"));
    CHECK(rejected(n, Fields().f("lambda", 1.f).i("groups", {0}), "groups"));
    Fields intLambda;
    intLambda.i("lambda", {1});
    CHECK(rejected(n, intLambda, "FLOAT"));
}

int main()
{
    ::setLoggerFinder(&gFinder); // the exported entry point of register.cpp
    std::printf("TensorRT headers %d.%d.%d\n", NV_TENSORRT_MAJOR, NV_TENSORRT_MINOR, NV_TENSORRT_PATCH);
    testRegistration();
    testUnwarpPlugin();
    testUnwarpRejects();
    testInterpPlugin();
    testInterpRejects();
    if (gFailures)
    {
        std::printf("%d of %d checks failed\n", gFailures, gChecks);
        return 1;
    }
    std::printf("test_plugin_host: all %d checks passed\n", gChecks);
    return 0;
}
