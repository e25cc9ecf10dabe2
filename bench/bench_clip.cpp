// CLIP encoders at OpenAI's shapes with random weights: ViT-B/32 and ViT-B/16 image
// encoders at batch 1 and 8 (224 px), the text encoder at batch 8 x 77 tokens (every row's
// EOT in the last position, so the encoder cannot stop early), and a large SGEMM as the
// peak the GFLOP/s are read against. Case names are the ones tools/clip_peer.py matches:
//   OMP_NUM_THREADS=2 build/release/bench/tailor_bench_clip --benchmark_format=json > clip.json
//   env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python tools/clip_peer.py clip.json
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tailor/backend/eigen/backend.hpp"
#include "tailor/model/clip.hpp"

namespace {

using tailor::index_t;
namespace model = tailor::model;

template <class Encoder>
Encoder& cached(std::unique_ptr<Encoder>& slot, auto make)
{
    if (!slot) slot = std::make_unique<Encoder>(make());
    return *slot;
}

model::clip_vision_encoder<float>& vision(bool b16)
{
    static std::unique_ptr<model::clip_vision_encoder<float>> b32_slot, b16_slot;
    return cached(b16 ? b16_slot : b32_slot, [&] {
        std::mt19937_64 engine(b16 ? 16 : 32);
        return model::clip_vision_encoder<float>(
            model::random_vision_weights<float>(b16 ? model::vit_b16_config() : model::vit_b32_config(), engine));
    });
}

model::clip_text_encoder<float>& text()
{
    static std::unique_ptr<model::clip_text_encoder<float>> slot;
    return cached(slot, [] {
        std::mt19937_64 engine(77);
        return model::clip_text_encoder<float>(model::random_text_weights<float>(model::clip_text_b_config(), engine));
    });
}

void image_encoder(benchmark::State& state, bool b16, index_t batch)
{
    auto& encoder = vision(b16);
    const index_t r = encoder.config().image_size;
    tailor::tensor<float, 4> pixels({batch, 3, r, r});
    std::mt19937 rng(1);
    std::normal_distribution<float> normal;
    for (auto& x : pixels) x = normal(rng);
    tailor::matrix<float> out({batch, encoder.config().output_dim});
    tailor::eigen::backend be;
    for (auto _ : state) {
        encoder.encode(be, pixels.view(), out.view());
        benchmark::DoNotOptimize(out.data());
    }
    const double flops = 2 * encoder.macs_per_image() * static_cast<double>(batch);
    state.counters["items_per_second"] = benchmark::Counter(static_cast<double>(batch), benchmark::Counter::kIsIterationInvariantRate);
    state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void text_encoder(benchmark::State& state, index_t batch)
{
    auto& encoder = text();
    const index_t context = encoder.config().context_length;
    std::vector<std::int32_t> ids(static_cast<std::size_t>(batch * context));
    std::mt19937 rng(2);
    std::uniform_int_distribution<std::int32_t> token(1, 49405);
    for (index_t i = 0; i < batch; ++i) {
        ids[static_cast<std::size_t>(i * context)] = 49406;
        for (index_t j = 1; j + 1 < context; ++j) ids[static_cast<std::size_t>(i * context + j)] = token(rng);
        ids[static_cast<std::size_t>(i * context + context - 1)] = 49407;
    }
    tailor::matrix<float> out({batch, encoder.config().output_dim});
    tailor::eigen::backend be;
    const tailor::matrix_view<const std::int32_t> view(ids.data(), {batch, context});
    for (auto _ : state) {
        encoder.encode(be, view, out.view());
        benchmark::DoNotOptimize(out.data());
    }
    const double flops = 2 * encoder.macs_per_sequence(context) * static_cast<double>(batch);
    state.counters["items_per_second"] = benchmark::Counter(static_cast<double>(batch), benchmark::Counter::kIsIterationInvariantRate);
    state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void sgemm_peak(benchmark::State& state)
{
    const index_t n = 2048;
    tailor::matrix<float> a({n, n}, 0.5f), b({n, n}, 0.25f), c({n, n});
    tailor::eigen::backend be;
    for (auto _ : state) {
        be.gemm(1.f, tailor::matrix_view<const float>(a.view()), tailor::matrix_view<const float>(b.view()), 0.f, c.view());
        benchmark::DoNotOptimize(c.data());
    }
    state.counters["GFLOP/s"] = benchmark::Counter(2.0 * n * n * n * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

const bool registered = [] {
    for (bool b16 : {false, true})
        for (index_t batch : {1, 8}) {
            const std::string name = std::string("clip_image/") + (b16 ? "ViT-B-16" : "ViT-B-32") + "/batch:" + std::to_string(batch);
            benchmark::RegisterBenchmark(name.c_str(), image_encoder, b16, batch)->Unit(benchmark::kMillisecond)->UseRealTime();
        }
    benchmark::RegisterBenchmark("clip_text/batch:8/tokens:77", text_encoder, index_t(8))->Unit(benchmark::kMillisecond)->UseRealTime();
    benchmark::RegisterBenchmark("sgemm/2048", sgemm_peak)->Unit(benchmark::kMillisecond)->UseRealTime();
    return true;
}();

}  // namespace

BENCHMARK_MAIN();
