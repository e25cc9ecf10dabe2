// VL-LTR at the paper's shapes: the LGR head (B = 128, C = 1000, M = 64, D = 512) forward
// and forward + backward (CE on both branches), AnSS over 1000 classes x 100 sentences
// x 20 images per class, and a large SGEMM as the peak the GFLOP/s are read against.
// Case names <backend>/<case>, the form tools/vlltr_peer.py reads:
//   OMP_NUM_THREADS=2 build/bench/tailor_bench_vlltr --benchmark_format=json > vlltr.json
//   env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 tools/vlltr_peer.py vlltr.json
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tailor/backend/eigen/backend.hpp"
#include "tailor/core/tensor.hpp"
#include "tailor/head/lgr.hpp"
#include "tailor/loss/cross_entropy.hpp"
#include "tailor/text/anchor_sentences.hpp"
#if defined(TAILOR_HAVE_XTENSOR)
#include "tailor/backend/xtensor/backend.hpp"
#endif

namespace {

using tailor::index_t;
constexpr index_t batch = 128, classes = 1000, slots = 64, dim = 512;

/// Useful floating-point work of one LGR pass (what the algebra needs, not what the
/// reference formulation spends).
double lgr_flops(bool backward)
{
    const double b = batch, c = classes, m = slots, d = dim, h = 4 * dim;
    const double forward = 2 * (2 * b) * d * (c * m)  // scores and e . n in one GEMM
                           + 2 * b * c * m * m         // Gram products
                           + 2 * 2 * b * d * d         // W_q, W_k
                           + 2 * b * d * h + 2 * b * h * c;
    const double back = 2 * (2 * b) * (c * m) * d + 4 * 2 * b * d * d + 2 * (2 * b * c * h + 2 * b * h * d);
    return backward ? forward + back : forward;
}

struct lgr_workload {
    tailor::matrix<float> images{{batch, dim}};
    tailor::tensor<float, 3> sentences{{classes, slots, dim}};
    std::vector<std::int32_t> counts, labels;

    lgr_workload()
    {
        std::mt19937 rng(2024);
        std::normal_distribution<float> normal(0.f, 1.f);
        for (auto& x : images) x = normal(rng);
        for (auto& x : sentences) x = normal(rng);
        counts.assign(classes, std::int32_t(slots));
        std::uniform_int_distribution<std::int32_t> label(0, classes - 1);
        for (index_t i = 0; i < batch; ++i) labels.push_back(label(rng));
    }
};

const lgr_workload& lgr_data()
{
    static const lgr_workload w;
    return w;
}

template <class Backend>
void lgr_case(benchmark::State& state, bool with_backward)
{
    Backend be;
    const auto& w = lgr_data();
    const auto bank = tailor::head::lgr_anchor_bank<float>::from_padded(
        be, tailor::tensor_view<const float, 3>(w.sentences.view()),
        tailor::vector_view<const std::int32_t>(w.counts.data(), {classes}));
    std::mt19937 engine(1);
    tailor::head::lgr_config config;
    config.dim = dim;
    config.classes = classes;
    tailor::head::lgr_head<float> head(config, engine);
    tailor::head::lgr_activations<float> act;
    tailor::matrix<float> d_images({batch, dim});
    const tailor::vector_view<const std::int32_t> labels(w.labels.data(), {batch});
    for (auto _ : state) {
        if (with_backward) {
            const auto value = head.loss_and_gradients(be, bank, w.images.view(), tailor::loss::cross_entropy{}, labels,
                                                       act, d_images.view());
            benchmark::DoNotOptimize(value);
        } else {
            head.forward(be, bank, w.images.view(), act);
            benchmark::DoNotOptimize(act.text_logits.data());
        }
    }
    state.counters["GFLOP/s"] =
        benchmark::Counter(lgr_flops(with_backward) * 1e-9 * double(state.iterations()), benchmark::Counter::kIsRate);
}

constexpr index_t anss_classes = 1000, anss_sentences = 100, anss_images = 20;

template <class Backend>
void anss_case(benchmark::State& state)
{
    Backend be;
    static const auto data = [] {
        std::mt19937 rng(7);
        std::normal_distribution<float> normal(0.f, 1.f);
        struct {
            tailor::matrix<float> sentences{{anss_classes * anss_sentences, dim}};
            tailor::matrix<float> images{{anss_classes * anss_images, dim}};
            std::vector<std::int64_t> offsets;
            std::vector<std::int32_t> labels;
        } d;
        for (auto& x : d.sentences) x = normal(rng);
        for (auto& x : d.images) x = normal(rng);
        for (index_t c = 0; c <= anss_classes; ++c) d.offsets.push_back(c * anss_sentences);
        for (index_t i = 0; i < anss_classes * anss_images; ++i) d.labels.push_back(std::int32_t(i % anss_classes));
        return d;
    }();
    const index_t s = anss_classes * anss_sentences, n = anss_classes * anss_images;
    for (auto _ : state) {
        const auto selection = tailor::text::select_anchor_sentences<float>(
            be, data.sentences.view(), tailor::vector_view<const std::int64_t>(data.offsets.data(), {anss_classes + 1}),
            data.images.view(), tailor::vector_view<const std::int32_t>(data.labels.data(), {n}));
        benchmark::DoNotOptimize(selection.selected.data());
    }
    state.counters["GFLOP/s"] =
        benchmark::Counter(2.0 * double(s) * double(n) * dim * 1e-9 * double(state.iterations()), benchmark::Counter::kIsRate);
}

template <class Backend>
void sgemm_peak(benchmark::State& state)
{
    Backend be;
    const index_t n = state.range(0);
    tailor::matrix<float> a({n, n}, 0.5f), b({n, n}, 0.25f), c({n, n});
    for (auto _ : state) {
        be.template gemm<float>(1.f, a.view(), b.view(), 0.f, c.view());
        benchmark::DoNotOptimize(c.data());
    }
    state.counters["GFLOP/s"] =
        benchmark::Counter(2.0 * double(n) * n * n * 1e-9 * double(state.iterations()), benchmark::Counter::kIsRate);
}

template <class Backend>
void register_all(const std::string& name)
{
    benchmark::RegisterBenchmark((name + "/sgemm_peak").c_str(), sgemm_peak<Backend>)
        ->Arg(4096)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->MinTime(2.0);
    benchmark::RegisterBenchmark((name + "/lgr_forward").c_str(), [](benchmark::State& s) { lgr_case<Backend>(s, false); })
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->MinTime(2.0);
    benchmark::RegisterBenchmark((name + "/lgr_forward_backward").c_str(),
                                 [](benchmark::State& s) { lgr_case<Backend>(s, true); })
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->MinTime(2.0);
    benchmark::RegisterBenchmark((name + "/anss").c_str(), anss_case<Backend>)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->Iterations(1);
}

}  // namespace

int main(int argc, char** argv)
{
    register_all<tailor::eigen::backend>("eigen");
#if defined(TAILOR_HAVE_XTENSOR)
    register_all<tailor::xtensor::backend>("xtensor");
#endif
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
