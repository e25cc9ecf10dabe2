// Sampling and mixup benchmarks: partner draws per second (one core), whole LFM epochs in
// pairs per second, and LFM batch construction for B = 128 images of 3x224x224 in GB/s
// (two reads and one write of every mixed float: the batch is memory-bandwidth bound).
// tools/sampling_peer.py times the PyTorch equivalents for a ratio.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "tailor/mixup.hpp"
#include "tailor/sampling.hpp"

namespace {

using tailor::index_t;

/// Random unit-ish embeddings [C, D]; values only need to give a varied softmax.
tailor::tensor<float, 2> similarity_matrix(index_t classes, std::uint64_t seed)
{
    constexpr index_t width = 16;
    tailor::philox4x32_10 engine(seed);
    tailor::tensor<float, 2> e({classes, width});
    for (float& v : e) v = tailor::standard_normal<float>(engine) * 0.25f;
    tailor::tensor<float, 2> s({classes, classes});
    for (index_t i = 0; i < classes; ++i)
        for (index_t j = 0; j < classes; ++j) {
            float dot = 0;
            for (index_t d = 0; d < width; ++d) dot += e(i, d) * e(j, d);
            s(i, j) = dot;
        }
    return s;
}

/// CIFAR-100-LT-like counts for C = 100, an ImageNet-LT-like Pareto profile for C = 1000.
std::vector<index_t> long_tail_counts(index_t classes)
{
    return classes <= 100 ? tailor::exponential_profile(classes, 500, 100)
                          : tailor::pareto_profile(classes, 1280, 256);
}

tailor::text_similarity_pair_sampler<> make_sampler(index_t classes, index_t top_k, std::vector<index_t> counts)
{
    const auto s = similarity_matrix(classes, 1);
    return tailor::text_similarity_pair_sampler<>(tailor::precomputed_similarity(s.view()),
                                                  tailor::class_index::from_counts(counts),
                                                  {.tau = 0.05, .top_k = top_k});
}

/// Partner classes drawn for a stream of anchor classes (instance-balanced, as in LFM):
/// one alias draw each, i.e. two Philox words, a multiply and a table read.
void partner_class_draws(benchmark::State& state)
{
    const index_t classes = state.range(0), top_k = state.range(1);
    const auto counts = long_tail_counts(classes);
    const auto sampler = make_sampler(classes, top_k, counts);
    // Anchor classes in the order an epoch visits them.
    const auto anchors = tailor::class_sampler(sampler.index()).epoch(tailor::philox4x32_10(2), 0);
    std::vector<std::int32_t> anchor_classes;
    for (index_t instance : anchors) anchor_classes.push_back(sampler.index().label(instance));
    tailor::philox4x32_10 engine(3);
    std::int64_t draws = 0;
    std::int32_t sink = 0;
    for (auto _ : state) {
        for (std::int32_t c : anchor_classes) sink ^= sampler.draw_partner_class(c, engine);
        draws += static_cast<std::int64_t>(anchor_classes.size());
    }
    benchmark::DoNotOptimize(sink);
    state.counters["draws/s"] = benchmark::Counter(double(draws), benchmark::Counter::kIsRate);
}

/// The same draws through the batched call, which prefetches table entries a few draws ahead.
void partner_class_draws_batched(benchmark::State& state)
{
    const index_t classes = state.range(0), top_k = state.range(1);
    const auto sampler = make_sampler(classes, top_k, long_tail_counts(classes));
    const auto anchors = tailor::class_sampler(sampler.index()).epoch(tailor::philox4x32_10(2), 0);
    std::vector<std::int32_t> anchor_classes, partners(std::size_t(anchors.size()));
    for (index_t instance : anchors) anchor_classes.push_back(sampler.index().label(instance));
    tailor::philox4x32_10 engine(3);
    std::int64_t draws = 0;
    for (auto _ : state) {
        sampler.draw_partner_classes(anchor_classes, partners, engine);
        benchmark::DoNotOptimize(partners.data());
        draws += static_cast<std::int64_t>(anchor_classes.size());
    }
    state.counters["draws/s"] = benchmark::Counter(double(draws), benchmark::Counter::kIsRate);
}

/// A whole LFM epoch: instance-balanced anchors (a shuffle), partner classes by alias draw,
/// partner instances from the per-class pools.
void lfm_epoch_pairs(benchmark::State& state)
{
    const index_t classes = state.range(0), top_k = state.range(1);
    const auto sampler = make_sampler(classes, top_k, long_tail_counts(classes));
    const tailor::philox4x32_10 generator(4);
    index_t epoch = 0;
    std::int64_t pairs = 0;
    for (auto _ : state) {
        const auto e = sampler.epoch(generator, epoch++);
        benchmark::DoNotOptimize(e.items().data());
        pairs += e.size();
    }
    state.counters["pairs/s"] = benchmark::Counter(double(pairs), benchmark::Counter::kIsRate);
    state.counters["instances"] = double(sampler.index().instances());
}

/// LFM batch construction, B = 128, samples 3x224x224 from an in-memory dataset: pairs from
/// the epoch, lambda_x ~ Beta, the mixed batch, LFM targets. Argument: threads (0 = all).
template <class Mixer>
void lfm_batch(benchmark::State& state)
{
    constexpr index_t batch = 128, channels = 3, side = 224, classes = 100;
    constexpr index_t dataset_size = 384;  // 231 MB: far beyond the caches
#if defined(_OPENMP)
    const int threads_before = omp_get_max_threads();
    if (state.range(0) > 0) omp_set_num_threads(static_cast<int>(state.range(0)));
#endif
    std::vector<std::int32_t> labels(dataset_size);
    for (index_t i = 0; i < dataset_size; ++i) labels[std::size_t(i)] = std::int32_t((i * 7919) % classes);
    const auto s = similarity_matrix(classes, 5);
    const tailor::lfm_mixup lfm(
        tailor::text_similarity_pair_sampler<>(tailor::precomputed_similarity(s.view()),
                                               tailor::class_index::from_labels(tailor::make_view(labels.data(), labels.size()), classes),
                                               {.tau = 0.05}),
        tailor::lfm_shift(1.0), tailor::beta_lambda(0.5));
    tailor::tensor<float, 4> dataset({dataset_size, channels, side, side});
    tailor::philox4x32_10 fill(6);
    for (float& v : dataset) v = tailor::uniform_real<float>(fill);
    tailor::tensor<float, 4> out({batch, channels, side, side});
    std::vector<float> lambda_x(batch), lambda_y(batch);
    std::vector<std::int32_t> first(batch), second(batch);
    const tailor::pair_target_buffers<float> targets{tailor::make_view(first.data(), batch),
                                                     tailor::make_view(second.data(), batch),
                                                     tailor::make_view(lambda_y.data(), batch)};
    const auto epoch = lfm.epoch(tailor::philox4x32_10(7), 0);
    const auto batches = epoch.batches(batch, true);
    tailor::philox4x32_10 engine(8);
    index_t next = 0;
    for (auto _ : state) {
        lfm.make_batch(batches[next], std::as_const(dataset).view(), out.view(), tailor::make_view(lambda_x.data(), batch),
                       targets, engine, Mixer{});
        next = (next + 1) % batches.size();
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
#if defined(_OPENMP)
    omp_set_num_threads(threads_before);
#endif
    const double bytes_per_batch = 3.0 * sizeof(float) * double(batch * channels * side * side);
    state.counters["GB/s"] = benchmark::Counter(bytes_per_batch * double(state.iterations()),
                                                benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
    state.counters["batches/s"] = benchmark::Counter(double(state.iterations()), benchmark::Counter::kIsRate);
}

/// The bandwidth ceiling for comparison: a plain copy of the same bytes (read two, write one).
void stream_triad(benchmark::State& state)
{
    constexpr index_t n = 128 * 3 * 224 * 224;
#if defined(_OPENMP)
    const int threads_before = omp_get_max_threads();
    if (state.range(0) > 0) omp_set_num_threads(static_cast<int>(state.range(0)));
#endif
    std::vector<float> a(n, 1.0f), b(n, 2.0f), c(n);
    for (auto _ : state) {
#pragma omp parallel for schedule(static)
        for (index_t i = 0; i < n; ++i) c[std::size_t(i)] = 0.3f * a[std::size_t(i)] + 0.7f * b[std::size_t(i)];
        benchmark::DoNotOptimize(c.data());
        benchmark::ClobberMemory();
    }
#if defined(_OPENMP)
    omp_set_num_threads(threads_before);
#endif
    state.counters["GB/s"] = benchmark::Counter(3.0 * sizeof(float) * double(n) * double(state.iterations()),
                                                benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

}  // namespace

// {classes, top_k}: top_k 0 is the full C - 1 partner table.
BENCHMARK(partner_class_draws)->Args({100, 0})->Args({1000, 0})->Args({1000, 10});
BENCHMARK(partner_class_draws_batched)->Args({100, 0})->Args({1000, 0})->Args({1000, 10});
BENCHMARK(lfm_epoch_pairs)->Args({100, 0})->Args({1000, 0})->Args({1000, 10})->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(lfm_batch, tailor::input_mixup)->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_TEMPLATE(lfm_batch, tailor::cutmix)->Arg(0)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(stream_triad)->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
