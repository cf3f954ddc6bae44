// CPU reference checks that need no Python: hand-computed unwarp cases, the half conversion, error paths,
// and sample_interp identities (all-ones mask = conv; isolated position = 0). ctest runs it.
#include "../common/edge_common.h"
#include "../sample_interp/sample_interp_kernel.cuh"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <vector>

extern "C" int32_t edge_multipool_unwarp_ref(void const*, void*, int32_t, int32_t, int32_t const*, int32_t const*,
    int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t*);
extern "C" int32_t edge_sample_interp_ref(void const*, void const*, void const*, void const*, void*, int32_t,
    int64_t const*, int64_t const*, int64_t const*, int64_t, int32_t const*, float, int64_t*);
extern "C" char const* edge_ref_last_error();
extern "C" int64_t edge_sample_interp_cpu_index(float const*, int64_t, int32_t*, int32_t*);
extern "C" int32_t edge_sample_interp_cpu_gather(float const*, int64_t const*, int64_t const*, int64_t const*,
    int64_t const*, int32_t const*, float, int32_t const*, int64_t, float*, int32_t);
extern "C" int32_t edge_sample_interp_cpu_interp(float*, int32_t const*, int64_t, int32_t const*, int64_t const*,
    int64_t const*, int64_t const*, int32_t const*, float, float*, int32_t, int32_t);
extern "C" int64_t edge_sample_interp_cpu_packed_size(int64_t const*, int32_t);
extern "C" int32_t edge_sample_interp_cpu_pack(float const*, int64_t const*, int32_t, float*);
extern "C" int64_t edge_sample_interp_cpu_run(float const*, int64_t const*, int64_t const*, int64_t const*,
    int64_t const*, int32_t const*, float, float const*, float const*, float const*, float, float*, int32_t, int32_t,
    double*);

#include "check.h"

// convOutSize() must be the floor division of the plugin's getOutputShapes (DimensionOperation::kFLOOR_DIV):
// for an input smaller than the dilated kernel the numerator is negative, and truncation gave 1 instead of 0.
static void testConvOutSizeFloors()
{
    for (int64_t in = 0; in <= 6; ++in)
        for (int64_t k = 1; k <= 5; ++k)
            for (int32_t s = 1; s <= 3; ++s)
                for (int32_t pad = 0; pad <= 1; ++pad)
                    for (int32_t d = 1; d <= 2; ++d)
                    {
                        int64_t const num = in + 2 * pad - d * (k - 1) - 1;
                        int64_t const want = static_cast<int64_t>(std::floor(static_cast<double>(num) / s)) + 1;
                        CHECK(edge::sinterp::convOutSize(in, k, s, pad, d) == want);
                    }
    CHECK(edge::sinterp::convOutSize(1, 2, 2, 0, 1) == 0); // (1 - 1 - 1) floordiv 2 = -1, truncation: 0
    // the reference rejects that shape instead of computing one output row from padding alone
    std::vector<float> x(1 * 1 * 1 * 4, 1.f), w(2 * 2, 1.f), bias(1, 0.f), mask(4, 1.f), y(4);
    int64_t xs[4] = {1, 1, 1, 4}, ws[4] = {1, 1, 2, 2}, ms[4] = {1, 1, 1, 2};
    int32_t attrs[9] = {2, 2, 0, 0, 1, 1, 1, 0, 3};
    int64_t shape[4];
    CHECK(edge_sample_interp_ref(x.data(), mask.data(), w.data(), bias.data(), y.data(), 0, xs, ms, ws, 1, attrs,
              0.5f, shape)
        == -1);
    CHECK(std::strstr(edge_ref_last_error(), "empty") != nullptr);
}

static void testUnwarpOneLayer()
{
    // B=1, C=1, one 2x2 layer, body output 4 x (1,1,1,2): shift (i,j) at batch i*2+j.
    std::vector<float> x = {0, 1, 10, 11, 20, 21, 30, 31}; // batch m holds [m*10, m*10+1]
    int32_t sy = 2, sx = 2;
    int64_t shape[4];
    std::vector<float> y(8);
    CHECK(edge_multipool_unwarp_ref(x.data(), y.data(), 0, 1, &sy, &sx, 0, 0, 0, 4, 1, 1, 2, shape) == 0);
    CHECK(shape[0] == 1 && shape[1] == 1 && shape[2] == 2 && shape[3] == 4);
    // row 0: x=0 (j0,x*0)=0, x=1 (j1,x*0)=10, x=2 (j0,x*1)=1, x=3 (j1,x*1)=11; row 1 adds shift i=1 (+20)
    float const want[8] = {0, 10, 1, 11, 20, 30, 21, 31};
    for (int k = 0; k < 8; ++k)
        CHECK(y[k] == want[k]);
    // crop 1x3
    CHECK(edge_multipool_unwarp_ref(x.data(), y.data(), 0, 1, &sy, &sx, 1, 1, 3, 4, 1, 1, 2, shape) == 0);
    CHECK(shape[2] == 1 && shape[3] == 3 && y[0] == 0 && y[1] == 10 && y[2] == 1);
}

static void testUnwarpErrors()
{
    int32_t sy[2] = {2, 0}, sx[2] = {2, 2};
    int64_t shape[4];
    CHECK(edge_multipool_unwarp_ref(nullptr, nullptr, 0, 2, sy, sx, 0, 0, 0, 16, 1, 1, 1, shape) == -1);
    CHECK(std::strstr(edge_ref_last_error(), ">= 1") != nullptr);
    sy[1] = 2;
    CHECK(edge_multipool_unwarp_ref(nullptr, nullptr, 0, 2, sy, sx, 0, 0, 0, 15, 1, 1, 1, shape) == -1);
    CHECK(std::strstr(edge_ref_last_error(), "multiple") != nullptr);
    CHECK(edge_multipool_unwarp_ref(nullptr, nullptr, 0, 2, sy, sx, 0, 5, 0, 16, 1, 1, 1, shape) == -1);
    CHECK(edge_multipool_unwarp_ref(nullptr, nullptr, 0, 9, sy, sx, 0, 0, 0, 16, 1, 1, 1, shape) == -1);
}

static void testHalf()
{
    float const vals[] = {0.f, 1.f, -2.5f, 65504.f, 1e-7f, 6.1e-5f, 3.14159f, 1e6f, -0.f};
    for (float v : vals)
    {
        float const back = edge::halfToFloat(edge::floatToHalf(v));
        float const tol = std::fabs(v) * 1e-3f + 6e-8f;
        if (std::fabs(v) < 65520.f)
            CHECK(std::fabs(back - v) <= tol);
        else
            CHECK(std::isinf(back));
    }
    CHECK(edge::floatToHalf(1.f).bits == 0x3c00);
    CHECK(edge::floatToHalf(65504.f).bits == 0x7bff);
    CHECK(edge::floatToHalf(1.f + 1.f / 2048.f).bits == 0x3c00); // tie -> even
}

static void testSampleInterp()
{
    // X (1, 1, 3, 3) = 1..9, W = 1x1 weight 2, bias 1: F = 2x+1, Ho=Wo=3.
    std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8, 9}, w = {2}, bias = {1}, y(9);
    std::vector<float> ones(9, 1.f), iso(9, 0.f);
    int64_t xs[4] = {1, 1, 3, 3}, ms[4] = {1, 1, 3, 3}, ws[4] = {1, 1, 1, 1}, shape[4];
    int32_t attrs[9] = {1, 1, 0, 0, 1, 1, 1, 0, 3};
    CHECK(edge_sample_interp_ref(x.data(), ones.data(), w.data(), bias.data(), y.data(), 0, xs, ms, ws, 1, attrs,
              0.5f, shape)
        == 0);
    for (int k = 0; k < 9; ++k)
        CHECK(y[k] == 2 * x[k] + 1);
    // only the centre sampled, window 1: every other position has no neighbour -> 0
    iso[4] = 1.f;
    attrs[8] = 1;
    CHECK(edge_sample_interp_ref(x.data(), iso.data(), w.data(), bias.data(), y.data(), 0, xs, ms, ws, 1, attrs,
              0.5f, shape)
        == 0);
    for (int k = 0; k < 9; ++k)
        CHECK(y[k] == (k == 4 ? 11.f : 0.f));
    // window 3: the corners see the centre at |d|^2 = 2: exactly F * K / (K + 1e-5)
    attrs[8] = 3;
    CHECK(edge_sample_interp_ref(x.data(), iso.data(), w.data(), bias.data(), y.data(), 0, xs, ms, ws, 1, attrs,
              0.5f, shape)
        == 0);
    float const k2 = std::exp(-1.f);
    CHECK(std::fabs(y[0] - 11.f * k2 / (k2 + 1e-5f)) < 1e-5f);
    attrs[8] = 4; // even window
    CHECK(edge_sample_interp_ref(x.data(), iso.data(), w.data(), bias.data(), y.data(), 0, xs, ms, ws, 1, attrs,
              0.5f, shape)
        == -1);
    CHECK(std::strstr(edge_ref_last_error(), "odd") != nullptr);
    attrs[8] = 3;
    ms[2] = 2; // mask at the wrong resolution
    CHECK(edge_sample_interp_ref(x.data(), iso.data(), w.data(), bias.data(), y.data(), 0, xs, ms, ws, 1, attrs,
              0.5f, shape)
        == -1);
}

//! The fast host path (index -> gather -> GEMM, here a plain loop -> interp) against edge_sample_interp_ref, for
//! both interpolation methods: B=2, Cin=3, Cout=20 (vector blocks + scalar tail), 3x3, padding 1, stride (2, 1).
static void testFastHostPath()
{
    int64_t const b = 2, cin = 3, cout = 20, h = 9, w = 8, ho = 5, wo = 8, k = cin * 9;
    std::vector<float> x(b * cin * h * w), wt(cout * k), bias(cout), mask(b * ho * wo), ref(b * cout * ho * wo);
    uint32_t state = 12345u;
    auto rnd = [&state]() // LCG in [-0.5, 0.5)
    {
        state = state * 1664525u + 1013904223u;
        return static_cast<float>(state >> 8) / 16777216.f - 0.5f;
    };
    for (auto* v : {&x, &wt, &bias})
        for (float& e : *v)
            e = rnd();
    for (float& e : mask)
        e = rnd() < -0.2f ? 1.f : 0.f; // ~30 % sampled
    int64_t xs[4] = {b, cin, h, w}, ms[4] = {b, 1, ho, wo}, ws[4] = {cout, cin, 3, 3};
    int64_t strides[4] = {cin * h * w, h * w, w, 1};
    int32_t attrs[9] = {2, 1, 1, 1, 1, 1, 1, 1, 5};
    int64_t shape[4];
    CHECK(edge_sample_interp_ref(x.data(), mask.data(), wt.data(), bias.data(), ref.data(), 0, xs, ms, ws, cout,
              attrs, 0.3f, shape) == 0);
    std::vector<int32_t> rowmap(mask.size()), pos(mask.size());
    int64_t const p = edge_sample_interp_cpu_index(mask.data(), static_cast<int64_t>(mask.size()), rowmap.data(),
        pos.data());
    CHECK(p > 0 && p < static_cast<int64_t>(mask.size()));
    std::vector<float> cols(p * k);
    CHECK(edge_sample_interp_cpu_gather(x.data(), strides, xs, ms, ws, attrs, 0.3f, pos.data(), p, cols.data(), 2)
        == 0);
    for (int32_t method = 1; method <= 2; ++method)
    {
        std::vector<float> rows(p * cout), out(b * ho * wo * cout);
        for (int64_t i = 0; i < p; ++i) // rows = cols @ W (taps outer, channels inner) + bias
            for (int64_t co = 0; co < cout; ++co)
            {
                float acc = bias[co];
                for (int64_t t = 0; t < 9; ++t)
                    for (int64_t ci = 0; ci < cin; ++ci)
                        acc += cols[i * k + t * cin + ci] * wt[(co * cin + ci) * 9 + t];
                rows[i * cout + co] = acc;
            }
        CHECK(edge_sample_interp_cpu_interp(rows.data(), pos.data(), p, rowmap.data(), xs, ms, ws, attrs, 0.3f,
                  out.data(), method, 2) == 0);
        float err = 0.f;
        for (int64_t n = 0; n < b * ho * wo; ++n)
            for (int64_t co = 0; co < cout; ++co)
            {
                int64_t const bi = n / (ho * wo), rem = n % (ho * wo);
                err = std::fmax(err, std::fabs(out[n * cout + co] - ref[(bi * cout + co) * ho * wo + rem]));
            }
        CHECK(err < 1e-5f);
    }
    std::vector<float> rows(p * cout), out(b * ho * wo * cout);
    CHECK(edge_sample_interp_cpu_interp(rows.data(), pos.data(), p, rowmap.data(), xs, ms, ws, attrs, 0.3f,
              out.data(), 7, 1) == -1);
    CHECK(std::strstr(edge_ref_last_error(), "method") != nullptr);
}

//! One case of the fused call (pack -> run: index, tap pointers or gather, the library's own GEMM, interpolation;
//! no BLAS) against edge_sample_interp_ref. `sampled`: how many positions the mask samples (a prefix of a fixed
//! shuffle, so block boundaries of 48 rows and 6-row micro-tiles are hit exactly). Returns run()'s result.
static int64_t checkRun(int64_t b, int64_t cin, int64_t cout, int32_t groups, int64_t h, int64_t w,
    int32_t const* attrsIn, int64_t sampled, bool channelsLast, int32_t threads, int32_t method, float denseAbove)
{
    int32_t attrs[9];
    std::memcpy(attrs, attrsIn, sizeof(attrs));
    attrs[6] = groups;
    int64_t const kh = 3, kw = 3, cg = cin / groups;
    int64_t const ho = (h + 2 * attrs[2] - attrs[4] * (kh - 1) - 1) / attrs[0] + 1;
    int64_t const wo = (w + 2 * attrs[3] - attrs[5] * (kw - 1) - 1) / attrs[1] + 1, n = b * ho * wo;
    std::vector<float> x(b * cin * h * w), wt(cout * cg * kh * kw), bias(cout), mask(n, 0.f), ref(b * cout * ho * wo);
    uint32_t state = static_cast<uint32_t>(cout * 7919 + sampled);
    auto rnd = [&state]() // LCG in [-0.5, 0.5)
    {
        state = state * 1664525u + 1013904223u;
        return static_cast<float>(state >> 8) / 16777216.f - 0.5f;
    };
    for (auto* v : {&wt, &bias})
        for (float& e : *v)
            e = 4.f * rnd(); // large enough that relu6 clips
    std::vector<float> xl(x.size()); // x in the layout under test, NCHW copy for the reference
    for (int64_t bi = 0; bi < b; ++bi)
        for (int64_t c = 0; c < cin; ++c)
            for (int64_t i = 0; i < h * w; ++i)
            {
                float const v = rnd();
                x[(bi * cin + c) * h * w + i] = v;
                xl[channelsLast ? (bi * h * w + i) * cin + c : (bi * cin + c) * h * w + i] = v;
            }
    std::vector<int64_t> order(n);
    int64_t step = 7;
    while (std::gcd(step, n) != 1)
        ++step; // i -> (i * step + 3) % n is then a permutation
    for (int64_t i = 0; i < n; ++i)
        order[i] = (i * step + 3) % n;
    for (int64_t i = 0; i < sampled; ++i)
        mask[order[i]] = 1.f;
    int64_t xs[4] = {b, cin, h, w}, ms[4] = {b, 1, ho, wo}, ws[4] = {cout, cg, kh, kw}, shape[4];
    int64_t strides[4] = {cin * h * w, channelsLast ? 1 : h * w, channelsLast ? w * cin : w, channelsLast ? cin : 1};
    CHECK(edge_sample_interp_ref(x.data(), mask.data(), wt.data(), bias.data(), ref.data(), 0, xs, ms, ws, cout,
              attrs, 0.3f, shape) == 0);
    std::vector<float> packed(edge_sample_interp_cpu_packed_size(ws, groups)), out(n * cout, -99.f);
    CHECK(edge_sample_interp_cpu_pack(wt.data(), ws, groups, packed.data()) == 0);
    double stages[4] = {0, 0, 0, 0};
    int64_t const rc = edge_sample_interp_cpu_run(xl.data(), strides, xs, ms, ws, attrs, 0.3f, mask.data(),
        packed.data(), bias.data(), denseAbove, out.data(), method, threads, stages);
    if (rc < 0)
        return rc;
    CHECK(rc == sampled);
    CHECK(stages[0] >= 0 && stages[1] >= 0 && stages[2] >= 0 && stages[3] > 0);
    float err = 0.f;
    for (int64_t i = 0; i < n; ++i)
        for (int64_t co = 0; co < cout; ++co)
        {
            float const want = ref[((i / (ho * wo)) * cout + co) * ho * wo + i % (ho * wo)];
            err = std::fmax(err, std::fabs(out[i * cout + co] - want));
        }
    CHECK(err < 1e-4f); // outputs up to ~20: 1e-5 relative
    if (err >= 1e-4f)
        std::printf("  run: B=%lld Cout=%lld G=%d P=%lld channelsLast=%d threads=%d method=%d: max err %g\n",
            static_cast<long long>(b), static_cast<long long>(cout), groups, static_cast<long long>(sampled),
            channelsLast, threads, method, err);
    return rc;
}

static void testFusedRun()
{
    int32_t attrs[9] = {1, 2, 1, 1, 1, 1, 1, 2, 5}; // stride (1, 2), padding 1, relu6, window 5
    int64_t const n = 2 * 13 * 8;                        // B=2, 13 x 16 input -> 13 x 8 outputs
    for (int64_t sampled : {int64_t{1}, int64_t{5}, int64_t{6}, int64_t{47}, int64_t{48}, int64_t{49}, int64_t{97}, n})
        for (bool cl : {true, false})
            checkRun(2, 6, 40, 2, 13, 16, attrs, sampled, cl, sampled % 2 ? 3 : 1, 0, 2.f); // G=2: 20 = 16 + 4 channels
    int32_t dil[9] = {1, 1, 2, 0, 2, 1, 1, 1, 7}; // dilation (2, 1), padding (2, 0), ReLU, window 7
    for (int32_t method = 1; method <= 2; ++method)
        for (int32_t threads : {1, 2, 4})
            checkRun(1, 5, 33, 1, 11, 10, dil, 40, threads == 2, threads, method, 0.7f);
    CHECK(checkRun(1, 4, 16, 1, 7, 7, attrs, 0, true, 2, 0, 0.7f) == 0); // nothing sampled: zeros everywhere
    CHECK(checkRun(2, 6, 40, 2, 13, 16, attrs, n / 2, true, 1, 0, 0.5f) == -2); // dense path left to the caller
    CHECK(checkRun(2, 6, 40, 2, 13, 16, attrs, 9, true, 1, 3, 0.7f) == -1);
    CHECK(std::strstr(edge_ref_last_error(), "method") != nullptr);
    int64_t bad[4] = {10, 3, 3, 3};
    CHECK(edge_sample_interp_cpu_packed_size(bad, 4) == -1);
}

int main()
{
    testConvOutSizeFloors();
    testUnwarpOneLayer();
    testUnwarpErrors();
    testHalf();
    testSampleInterp();
    testFastHostPath();
    testFusedRun();
    if (gFailures)
    {
        std::printf("%d of %d checks failed\n", gFailures, gChecks);
        return 1;
    }
    std::printf("test_ref: all %d checks passed\n", gChecks);
    return 0;
}
