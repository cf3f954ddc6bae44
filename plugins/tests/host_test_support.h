// Support code of test_plugin_host.cpp: a CHECK macro, a logger recording errors, an IExprBuilder that
// evaluates every dimension expression on concrete values (TensorRT offers no public one), field builders.
#pragma once

#include "../multipool_unwarp/multipool_unwarp_plugin.h"
#include "../sample_interp/sample_interp_plugin.h"

#include <NvInferRuntime.h>

#include <cstdio>
#include <cstring>
#include <deque>
#include <limits>
#include <memory>
#include <string>
#include <vector>

using namespace nvinfer1;
using namespace edge::plugin;

extern "C" IPluginCreatorInterface* const* getCreators(int32_t& nbCreators);
extern "C" void setLoggerFinder(ILoggerFinder* finder);

#include "check.h"

// ---- a logger that records the last error ------------------------------------------------------------------
class RecordingLogger : public ILogger
{
public:
    void log(Severity severity, AsciiChar const* msg) noexcept override
    {
        if (severity <= Severity::kERROR)
            lastError = msg;
    }
    std::string lastError;
};

class Finder : public ILoggerFinder
{
public:
    ILogger* findLogger() override
    {
        return &logger;
    }
    RecordingLogger logger;
};

static Finder gFinder;

// ---- an expression builder evaluating every expression on concrete values ----------------------------------
class ExprImpl : public apiv::VDimensionExpr
{
public:
    ExprImpl(int64_t v, bool c)
        : value(v)
        , constant(c)
    {
    }
    bool isConstant() const override
    {
        return constant;
    }
    int64_t getConstantValue() const override
    {
        return constant ? value : std::numeric_limits<int64_t>::min();
    }
    bool isSizeTensor() const override
    {
        return false;
    }
    int64_t value;
    bool constant;
};

class Expr : public IDimensionExpr
{
public:
    Expr(int64_t v, bool c)
        : mExpr(v, c)
    {
        mImpl = &mExpr;
    }
    int64_t value() const
    {
        return mExpr.value;
    }
    bool isConst() const
    {
        return mExpr.constant;
    }

private:
    ExprImpl mExpr;
};

static int64_t valueOf(IDimensionExpr const* e)
{
    return static_cast<Expr const*>(e)->value();
}

class BuilderImpl : public apiv::VExprBuilder
{
public:
    IDimensionExpr const* make(int64_t v, bool c)
    {
        pool.push_back(std::make_unique<Expr>(v, c));
        return pool.back().get();
    }
    IDimensionExpr const* constant(int64_t value) override
    {
        return nullConstants ? nullptr : make(value, true);
    }
    //! constant() returns nullptr (as a builder may): getOutputShapes must fail with -1, not dereference it
    bool nullConstants = false;
    IDimensionExpr const* operation(DimensionOperation op, IDimensionExpr const& a, IDimensionExpr const& b) override
    {
        int64_t const x = valueOf(&a), y = valueOf(&b);
        bool const c = static_cast<Expr const&>(a).isConst() && static_cast<Expr const&>(b).isConst();
        switch (op)
        {
        case DimensionOperation::kSUM: return make(x + y, c);
        case DimensionOperation::kPROD: return make(x * y, c);
        case DimensionOperation::kMAX: return make(x > y ? x : y, c);
        case DimensionOperation::kMIN: return make(x < y ? x : y, c);
        case DimensionOperation::kSUB: return make(x - y, c);
        case DimensionOperation::kEQUAL: return make(x == y, c);
        case DimensionOperation::kLESS: return make(x < y, c);
        case DimensionOperation::kFLOOR_DIV: return make(x / y - ((x % y != 0) && ((x < 0) != (y < 0))), c);
        case DimensionOperation::kCEIL_DIV: return make((x + y - 1) / y, c);
        }
        return nullptr;
    }
    IDimensionExpr const* declareSizeTensor(int32_t, IDimensionExpr const&, IDimensionExpr const&) override
    {
        return nullptr;
    }
    std::deque<std::unique_ptr<Expr>> pool;
};

class Builder : public IExprBuilder
{
public:
    Builder()
    {
        mImpl = &impl;
    }
    DimsExprs input(std::vector<int64_t> const& dims, bool constant = false)
    {
        DimsExprs d{};
        d.nbDims = static_cast<int32_t>(dims.size());
        for (size_t i = 0; i < dims.size(); ++i)
            d.d[i] = impl.make(dims[i], constant);
        return d;
    }
    BuilderImpl impl;
};

// ---- helpers -------------------------------------------------------------------------------------------------
static Dims dims(std::vector<int64_t> const& v)
{
    Dims d{};
    d.nbDims = static_cast<int32_t>(v.size());
    for (size_t i = 0; i < v.size(); ++i)
        d.d[i] = v[i];
    return d;
}

static DynamicPluginTensorDesc desc(DataType t, std::vector<int64_t> const& shape, TensorFormat f = TensorFormat::kLINEAR)
{
    DynamicPluginTensorDesc d{};
    d.desc.type = t;
    d.desc.format = f;
    d.desc.dims = dims(shape);
    d.min = d.max = d.opt = d.desc.dims;
    return d;
}

struct Fields
{
    std::deque<std::vector<int32_t>> ints;
    std::deque<float> floats;
    std::vector<PluginField> list;
    Fields& i(char const* name, std::vector<int32_t> v)
    {
        ints.push_back(std::move(v));
        list.emplace_back(name, ints.back().data(), PluginFieldType::kINT32, static_cast<int32_t>(ints.back().size()));
        return *this;
    }
    Fields& f(char const* name, float v)
    {
        floats.push_back(v);
        list.emplace_back(name, &floats.back(), PluginFieldType::kFLOAT32, 1);
        return *this;
    }
    PluginFieldCollection fc() const
    {
        return PluginFieldCollection{static_cast<int32_t>(list.size()), list.data()};
    }
};

static IPluginCreatorV3One* creator(char const* name)
{
    int32_t n = 0;
    IPluginCreatorInterface* const* all = getCreators(n);
    for (int32_t i = 0; i < n; ++i)
    {
        auto* c = static_cast<IPluginCreatorV3One*>(all[i]);
        if (std::strcmp(c->getPluginName(), name) == 0)
            return c;
    }
    return nullptr;
}

template <typename P>
static std::unique_ptr<P> create(char const* name, Fields const& f)
{
    PluginFieldCollection const fc = f.fc();
    return std::unique_ptr<P>(static_cast<P*>(creator(name)->createPlugin("node", &fc, TensorRTPhase::kBUILD)));
}

[[maybe_unused]] static bool rejected(char const* name, Fields const& f, char const* mention)
{
    gFinder.logger.lastError.clear();
    PluginFieldCollection const fc = f.fc();
    IPluginV3* p = creator(name)->createPlugin("node", &fc, TensorRTPhase::kBUILD);
    bool const ok = p == nullptr && gFinder.logger.lastError.find(mention) != std::string::npos;
    if (!ok)
        std::printf("  expected rejection mentioning '%s', got plugin=%p error='%s'\n", mention, (void*) p,
            gFinder.logger.lastError.c_str());
    delete p;
    return ok;
}
