// Every loss forward + backward (value and gradient in one fused pass) at B = 256, C = 1000,
// with hard labels and with mixup's pair targets; CE and focal also take the mixup targets
// written densely ("dense") and a soft target over every class ("full", a softmax of
// random scores, as a distillation target is).
// Case names: <backend>/<loss>/<target>/B:256/C:1000, the form tools/loss_peer.py reads:
//   OMP_NUM_THREADS=2 build/bench/tailor_bench_losses --benchmark_format=json > losses.json
//   /usr/bin/python3 tools/loss_peer.py losses.json
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "tailor/backend/eigen/backend.hpp"
#include "tailor/core/tensor.hpp"
#include "tailor/loss.hpp"
#if defined(TAILOR_HAVE_XTENSOR)
#include "tailor/backend/xtensor/backend.hpp"
#endif

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace {

using tailor::index_t;
namespace loss = tailor::loss;

/// One batch's inputs, shared by every case of a shape (generated once).
struct workload {
    index_t batch, classes;
    tailor::matrix<float> logits, probabilities, spread;
    std::vector<std::int32_t> labels, first, second;
    std::vector<float> lambda;
    std::vector<int> counts;
    tailor::matrix<float> embeddings;

    workload(index_t b, index_t c)
        : batch(b), classes(c), logits({b, c}), probabilities({b, c}), spread({b, c}), embeddings({c, 512})
    {
        std::mt19937 rng(2024);
        std::normal_distribution<float> normal(0.f, 1.f);
        std::uniform_int_distribution<std::int32_t> label(0, std::int32_t(c - 1));
        std::uniform_real_distribution<float> uniform(0.f, 1.f);
        for (auto& z : logits) z = normal(rng);
        for (auto& e : embeddings) e = normal(rng);
        for (index_t i = 0; i < b; ++i) {
            labels.push_back(label(rng));
            first.push_back(label(rng));
            second.push_back(label(rng));
            lambda.push_back(uniform(rng));
            probabilities(i, first.back()) += lambda.back();
            probabilities(i, second.back()) += 1.f - lambda.back();
        }
        for (index_t i = 0; i < b; ++i) {
            float total = 0.f;
            for (index_t k = 0; k < c; ++k) total += spread(i, k) = std::exp(normal(rng));
            for (index_t k = 0; k < c; ++k) spread(i, k) /= total;
        }
        // an ImageNet-LT-like profile: 500 down to 5 images per class
        for (index_t k = 0; k < c; ++k)
            counts.push_back(int(500.0 * std::pow(0.01, double(k) / double(std::max<index_t>(c - 1, 1)))));
    }

    tailor::hard_targets<std::int32_t> hard() const { return {tailor::make_view(labels.data(), batch)}; }
    tailor::pair_targets<float, std::int32_t> pair() const
    {
        return {tailor::make_view(first.data(), batch), tailor::make_view(second.data(), batch),
                tailor::make_view(lambda.data(), batch)};
    }
    tailor::dense_targets<float> dense() const { return {probabilities.view()}; }
    tailor::dense_targets<float> full() const { return {spread.view()}; }
};

const workload& shared_workload()
{
    static const workload w(256, 1000);
    return w;
}

template <class Backend, class Policy>
void register_case(const std::string& backend_name, const std::string& loss_name, const std::string& kind,
                   const Policy& policy)
{
    auto body = [policy, kind](benchmark::State& state) {
        const workload& w = shared_workload();
        Backend be;
        tailor::matrix<float> grad({w.batch, w.classes});
        float value = 0;
        for (auto _ : state) {
            if (kind == "hard")
                value = loss::value_and_gradient(be, policy, w.logits.view(), w.hard(), grad.view());
            else if (kind == "pair")
                value = loss::value_and_gradient(be, policy, w.logits.view(), w.pair(), grad.view());
            else if (kind == "dense")
                value = loss::value_and_gradient(be, policy, w.logits.view(), w.dense(), grad.view());
            else
                value = loss::value_and_gradient(be, policy, w.logits.view(), w.full(), grad.view());
            benchmark::DoNotOptimize(value);
            benchmark::ClobberMemory();
        }
        state.counters["logits/s"] = benchmark::Counter(double(w.batch * w.classes) * double(state.iterations()),
                                                        benchmark::Counter::kIsRate);
#if defined(_OPENMP)
        state.counters["threads"] = omp_get_max_threads();
#endif
    };
    const std::string name = backend_name + "/" + loss_name + "/" + kind + "/B:256/C:1000";
    benchmark::RegisterBenchmark(name.c_str(), body)->Unit(benchmark::kMicrosecond)->UseRealTime();
}

template <class Backend>
void register_backend(const std::string& backend_name)
{
    const workload& w = shared_workload();
    const auto embeddings = w.embeddings.view();
    auto both = [&](const std::string& loss_name, const auto& policy) {
        register_case<Backend>(backend_name, loss_name, "hard", policy);
        register_case<Backend>(backend_name, loss_name, "pair", policy);
    };
    both("cross_entropy", loss::cross_entropy{});
    register_case<Backend>(backend_name, "cross_entropy", "dense", loss::cross_entropy{});
    register_case<Backend>(backend_name, "cross_entropy", "full", loss::cross_entropy{});
    both("balanced_softmax", loss::balanced_softmax<float>(w.counts));
    both("logit_adjustment", loss::logit_adjustment<float>(w.counts, 1.0));
    both("focal", loss::focal{2.0});
    register_case<Backend>(backend_name, "focal", "dense", loss::focal{2.0});
    register_case<Backend>(backend_name, "focal", "full", loss::focal{2.0});
    both("ldam", loss::ldam<float>(w.counts, 0.5, 30.0));
    both("mms", loss::mms<float>(embeddings, 0.3, 0.01));
    both("equalization", loss::equalization<float>(w.counts, 5e-4, 1.0));
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
