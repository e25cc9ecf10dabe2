// Backend micro-benchmarks at the shapes the algorithms use: GEMM in GFLOP/s, the row
// softmax in GB/s (one read and one write of the logits).
#include <benchmark/benchmark.h>

#include <random>
#include <string>

#include "tailor/backend/eigen/backend.hpp"
#include "tailor/core/tensor.hpp"
#if defined(TAILOR_HAVE_XTENSOR)
#include "tailor/backend/xtensor/backend.hpp"
#endif

namespace {

tailor::matrix<float> random_matrix(tailor::index_t rows, tailor::index_t cols, unsigned seed)
{
    tailor::matrix<float> m({rows, cols});
    std::mt19937 rng(seed);
    std::normal_distribution<float> n(0.f, 1.f);
    for (auto& x : m) x = n(rng);
    return m;
}

template <class Backend>
void gemm(benchmark::State& state)
{
    const auto m = state.range(0), k = state.range(1), n = state.range(2);
    const auto a = random_matrix(m, k, 1), b = random_matrix(k, n, 2);
    tailor::matrix<float> c({m, n});
    Backend be;
    for (auto _ : state) {
        be.template gemm<float>(1.f, a.view(), b.view(), 0.f, c.view());
        benchmark::DoNotOptimize(c.data());
        benchmark::ClobberMemory();
    }
    state.counters["GFLOP/s"] =
        benchmark::Counter(2.0 * double(m * n * k) * double(state.iterations()), benchmark::Counter::kIsRate,
                           benchmark::Counter::kIs1000);
}

template <class Backend>
void softmax_rows(benchmark::State& state)
{
    const auto rows = state.range(0), cols = state.range(1);
    const auto x = random_matrix(rows, cols, 3);
    tailor::matrix<float> y({rows, cols});
    Backend be;
    for (auto _ : state) {
        be.template softmax_rows<float>(x.view(), y.view());
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
    }
    state.counters["GB/s"] = benchmark::Counter(2.0 * sizeof(float) * double(rows * cols) * double(state.iterations()),
                                                benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

template <class Backend>
void register_backend(const std::string& name)
{
    auto* g = benchmark::RegisterBenchmark((name + "/gemm").c_str(), gemm<Backend>);
    g->ArgNames({"M", "K", "N"});
    g->Args({128, 512, 512})->Args({256, 512, 1000})->Args({400, 768, 3072})->Args({1576, 768, 2304});
    g->Unit(benchmark::kMicrosecond)->UseRealTime();
    auto* s = benchmark::RegisterBenchmark((name + "/softmax_rows").c_str(), softmax_rows<Backend>);
    s->ArgNames({"B", "C"})->Args({256, 1000})->Args({128, 1000})->Args({1024, 8142});
    s->Unit(benchmark::kMicrosecond)->UseRealTime();
}

}  // namespace

int main(int argc, char** argv)
{
    register_backend<tailor::eigen::backend>("eigen");
#if defined(TAILOR_HAVE_XTENSOR)
    register_backend<tailor::xtensor::backend>("xtensor");
#endif
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
