// Tests for the mixup room: LFM's label shift against Theorem 1, Remix's rules, lambda
// distributions, the input / CutMix / feature mixers, mixup_batcher compositions, targets,
// and the errors bad input raises.
#include "tailor/mixup.hpp"
#include "tailor/sampling.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

using namespace tailor;

namespace {

/// Theorem 1's objective (seed 000): (lambda - lambda_x)^2 / 2 + alpha R(lambda) with
/// R(lambda) = (lambda - 1/2)^2 - (lambda - p)^2, p = n_i / (n_i + n_j).
double theorem1_objective(double lambda, double lambda_x, double alpha, double p)
{
    const double regulariser = (lambda - 0.5) * (lambda - 0.5) - (lambda - p) * (lambda - p);
    return (lambda - lambda_x) * (lambda - lambda_x) / 2 + alpha * regulariser;
}

/// The minimiser over a uniform grid of [0, 1] with `steps` intervals.
double grid_argmin(double lambda_x, double alpha, double p, int steps)
{
    double best = 0, best_value = INFINITY;
    for (int k = 0; k <= steps; ++k) {
        const double lambda = double(k) / steps;
        const double value = theorem1_objective(lambda, lambda_x, alpha, p);
        if (value < best_value) {
            best_value = value;
            best = lambda;
        }
    }
    return best;
}

/// A small LFM setup: C classes with long-tailed counts, labels grouped by class.
struct lfm_fixture {
    static constexpr index_t classes = 5;
    std::vector<index_t> counts = {40, 20, 10, 5, 2};
    std::vector<std::int32_t> labels;
    tensor<float, 2> similarities{{classes, classes}};

    lfm_fixture()
    {
        for (std::size_t c = 0; c < counts.size(); ++c) labels.insert(labels.end(), std::size_t(counts[c]), std::int32_t(c));
        for (index_t i = 0; i < classes; ++i)
            for (index_t j = 0; j < classes; ++j) similarities(i, j) = i == j ? 1.0f : 1.0f / float(1 + std::abs(i - j));
    }
    index_t instances() const { return index_t(labels.size()); }
    class_index index() const { return class_index::from_labels(make_view(labels.data(), labels.size()), classes); }
    text_similarity_pair_sampler<> sampler(double tau = 0.2) const
    {
        return text_similarity_pair_sampler<>(precomputed_similarity(similarities.view()), index(), {.tau = tau});
    }
};

/// Caller buffers for B targets.
struct target_storage {
    std::vector<std::int32_t> first, second;
    std::vector<float> lambda;
    explicit target_storage(index_t batch) : first(std::size_t(batch)), second(std::size_t(batch)), lambda(std::size_t(batch)) {}
    pair_target_buffers<float> buffers()
    {
        return {make_view(first.data(), first.size()), make_view(second.data(), second.size()),
                make_view(lambda.data(), lambda.size())};
    }
};

}  // namespace

// ---------------------------------------------------------------------------------------
// Label shift
// ---------------------------------------------------------------------------------------

TEST_CASE("LFM's lambda_y is the minimiser of Theorem 1's objective", "[mixup][lfm]")
{
    constexpr int steps = 100'000;  // grid spacing 1e-5
    const std::vector<std::pair<index_t, index_t>> counts = {{500, 5}, {5, 500}, {100, 100}, {37, 12}, {1, 2}, {60, 61}};
    for (double alpha : {0.0, 0.25, 1.0, 1.5, 3.0}) {
        const lfm_shift shift(alpha);
        for (const auto& [n_i, n_j] : counts) {
            const double p = double(n_i) / double(n_i + n_j);
            for (int k = 0; k <= 20; ++k) {
                const double lambda_x = k / 20.0;
                const double expected = grid_argmin(lambda_x, alpha, p, steps);
                INFO("alpha " << alpha << ", n " << n_i << "/" << n_j << ", lambda_x " << lambda_x);
                REQUIRE(shift(lambda_x, n_i, n_j) == Approx(expected).margin(1.01 / steps));
            }
        }
    }
}

TEST_CASE("LFM label shift: formula, direction, clamping and per-stage alpha", "[mixup][lfm]")
{
    const lfm_shift shift(1.0);
    // n_i > n_j: the label moves towards the rarer second class.
    CHECK(shift(0.7, 300, 100) == Approx(0.7 - 0.5));
    CHECK(shift(0.3, 100, 300) == Approx(0.8));
    CHECK(shift(0.2, 1000, 1) == 0.0);
    CHECK(shift(0.9, 1, 1000) == 1.0);
    CHECK(shift(0.42, 17, 17) == 0.42);
    CHECK(lfm_shift(0.0)(0.3, 1000, 1) == 0.3);

    lfm_shift staged{1.25, 1.5};
    CHECK(staged.stages() == 2);
    CHECK(staged.alpha() == 1.25);
    CHECK(staged(0.8, 30, 10) == Approx(0.8 - 1.25 * 0.5));
    staged.set_stage(1);
    CHECK(staged.alpha() == 1.5);
    CHECK(staged(0.9, 30, 10) == Approx(0.9 - 0.75));
    CHECK_THROWS_AS(staged.set_stage(2), index_error);

    CHECK_THROWS_WITH(shift(0.5, 0, 3), Catch::Contains("'n_first'"));
    CHECK_THROWS_WITH(shift(0.5, 3, -1), Catch::Contains("'n_second'"));
    CHECK_THROWS_AS(lfm_shift(-0.1), argument_error);
    CHECK_THROWS_AS(lfm_shift(NAN), argument_error);
    CHECK_THROWS_AS((lfm_shift{1.0, INFINITY}), argument_error);
}

TEST_CASE("Remix: the published rules, not the swapped ones", "[mixup][remix]")
{
    const remix_shift remix(3.0, 0.5);
    // First class frequent (n_i / n_j >= kappa) and the image mostly the rare second: label 0.
    CHECK(remix(0.3, 300, 100) == 0.0);
    CHECK(remix(0.3, 301, 100) == 0.0);
    CHECK(remix(0.5, 300, 100) == 0.5);  // lambda_x < tau fails
    CHECK(remix(0.7, 300, 100) == 0.7);  // the frequent image dominates: plain mixup
    // First class rare (n_i / n_j <= 1 / kappa) and the image mostly the rare first: label 1.
    CHECK(remix(0.7, 100, 300) == 1.0);
    CHECK(remix(0.5, 100, 300) == 0.5);  // 1 - lambda_x < tau fails
    CHECK(remix(0.3, 100, 300) == 0.3);
    // Ratio inside (1 / kappa, kappa): plain mixup.
    CHECK(remix(0.1, 250, 100) == 0.1);
    CHECK(remix(0.9, 100, 250) == 0.9);
    CHECK(remix(0.2, 100, 100) == 0.2);
    CHECK_THROWS_AS(remix_shift(0.5), argument_error);
    CHECK_THROWS_AS(remix_shift(3, 1.5), argument_error);
    CHECK_THROWS_AS(remix(0.5, 0, 1), argument_error);
    CHECK(standard_shift{}(0.37, 1000, 1) == 0.37);
}

// ---------------------------------------------------------------------------------------
// Lambda distributions
// ---------------------------------------------------------------------------------------

TEST_CASE("lambda distributions", "[mixup][lambda]")
{
    philox4x32_10 engine(9);
    const auto mean_of = [&](const auto& d, int n) {
        double sum = 0;
        for (int k = 0; k < n; ++k) {
            const double v = d(engine);
            REQUIRE((v >= 0 && v <= 1));
            sum += v;
        }
        return sum / n;
    };
    CHECK(mean_of(beta_lambda(0.5), 200'000) == Approx(0.5).margin(0.005));
    CHECK(mean_of(beta_lambda(2, 5), 200'000) == Approx(2.0 / 7).margin(0.003));
    CHECK(mean_of(uniform_lambda(0.2, 0.6), 200'000) == Approx(0.4).margin(0.003));
    CHECK(fixed_lambda(0.3)(engine) == 0.3);
    CHECK(off_lambda{}(engine) == 1.0);
    CHECK(beta_lambda().a() == 0.5);
    CHECK(beta_lambda(0.2).b() == 0.2);
    CHECK_THROWS_AS(beta_lambda(0), argument_error);
    CHECK_THROWS_AS(beta_lambda(1, -1), argument_error);
    CHECK_THROWS_AS(uniform_lambda(0.6, 0.2), argument_error);
    CHECK_THROWS_AS(uniform_lambda(-0.1, 0.2), argument_error);
    CHECK_THROWS_AS(fixed_lambda(1.5), argument_error);
}

// ---------------------------------------------------------------------------------------
// Mixers
// ---------------------------------------------------------------------------------------

TEST_CASE("input mixup over [B, 2, 3] samples, per batch and per pair", "[mixup][input]")
{
    const lfm_fixture f;
    const index_t batch = 4;
    tensor<float, 3> dataset({f.instances(), 2, 3});
    for (index_t i = 0; i < f.instances(); ++i)
        for (index_t a = 0; a < 2; ++a)
            for (index_t b = 0; b < 3; ++b) dataset(i, a, b) = float(i * 10 + a * 3 + b);
    const std::vector<index_pair> pairs = {{0, 45}, {44, 3}, {70, 1}, {10, 60}};
    tensor<float, 3> out({batch, 2, 3});
    std::vector<float> lambda_x(batch);
    target_storage targets(batch);

    for (auto scope : {lambda_scope::per_batch, lambda_scope::per_pair}) {
        const mixup_batcher batcher(f.sampler(), lfm_shift(1.0), beta_lambda(0.5), scope);
        philox4x32_10 engine(4);
        batcher.make_batch(pairs, std::as_const(dataset).view(), out.view(), make_view(lambda_x.data(), batch),
                           targets.buffers(), engine);
        for (index_t b = 0; b < batch; ++b) {
            const float l = lambda_x[std::size_t(b)];
            REQUIRE((l >= 0 && l <= 1));
            for (index_t a = 0; a < 2; ++a)
                for (index_t c = 0; c < 3; ++c)
                    REQUIRE(out(b, a, c) == Approx(l * dataset(pairs[std::size_t(b)].first, a, c) +
                                                   (1 - l) * dataset(pairs[std::size_t(b)].second, a, c)));
        }
        const bool shared = std::all_of(lambda_x.begin(), lambda_x.end(), [&](float l) { return l == lambda_x[0]; });
        CHECK(shared == (scope == lambda_scope::per_batch));
    }

    // lambda = 1 returns the first sample bit for bit.
    const mixup_batcher fixed(f.sampler(), standard_shift{}, fixed_lambda(1.0));
    philox4x32_10 engine(1);
    fixed.make_batch(pairs, std::as_const(dataset).view(), out.view(), make_view(lambda_x.data(), batch),
                     targets.buffers(), engine);
    for (index_t b = 0; b < batch; ++b)
        for (index_t a = 0; a < 2; ++a)
            for (index_t c = 0; c < 3; ++c) REQUIRE(out(b, a, c) == dataset(pairs[std::size_t(b)].first, a, c));
}

TEST_CASE("CutMix pastes a clipped box and corrects lambda to the visible area", "[mixup][cutmix]")
{
    const lfm_fixture f;
    const index_t batch = 16, channels = 3, height = 12, width = 20;
    tensor<float, 4> first({batch, channels, height, width}, 0.0f);
    tensor<float, 4> second({batch, channels, height, width}, 1.0f);
    tensor<float, 4> out({batch, channels, height, width});
    std::vector<index_pair> pairs;
    for (index_t b = 0; b < batch; ++b) pairs.push_back({b, f.instances() - 1 - b});
    std::vector<float> lambda_x(batch);
    target_storage targets(batch);

    for (auto scope : {lambda_scope::per_pair, lambda_scope::per_batch}) {
        const mixup_batcher batcher(f.sampler(), lfm_shift(0.0), uniform_lambda(), scope);
        philox4x32_10 engine(17);
        batcher.mix_loaded(pairs, std::as_const(first).view(), std::as_const(second).view(), out.view(),
                           make_view(lambda_x.data(), batch), targets.buffers(), engine, cutmix{});
        std::vector<double> pasted_share(batch);
        for (index_t b = 0; b < batch; ++b) {
            double pasted = 0;
            for (index_t c = 0; c < channels; ++c)
                for (index_t y = 0; y < height; ++y)
                    for (index_t x = 0; x < width; ++x) {
                        pasted += out(b, c, y, x);
                        REQUIRE(out(b, c, y, x) == out(b, 0, y, x));  // same box in every channel
                    }
            pasted_share[std::size_t(b)] = pasted / double(channels * height * width);
            // Corrected lambda_x is the first image's visible share; alpha 0 keeps lambda_y = lambda_x.
            REQUIRE(lambda_x[std::size_t(b)] == Approx(1.0 - pasted_share[std::size_t(b)]).margin(1e-6));
            REQUIRE(targets.lambda[std::size_t(b)] == lambda_x[std::size_t(b)]);
        }
        if (scope == lambda_scope::per_batch)
            for (index_t b = 1; b < batch; ++b)
                for (index_t y = 0; y < height; ++y)
                    for (index_t x = 0; x < width; ++x) REQUIRE(out(b, 0, y, x) == out(0, 0, y, x));
    }

    // The box itself: sides floor(sqrt(1 - lambda) H), floor(sqrt(1 - lambda) W), clipped.
    const auto centred = cutmix::box_for(0.75, 12, 20, 6, 10);  // side ratio 0.5: 6 x 10
    CHECK(centred.area() == 60);
    CHECK((centred.top == 3 && centred.bottom == 9 && centred.left == 5 && centred.right == 15));
    const auto corner = cutmix::box_for(0.75, 12, 20, 0, 0);  // clipped to a quarter
    CHECK((corner.top == 0 && corner.bottom == 3 && corner.left == 0 && corner.right == 5));
    CHECK(cutmix::box_for(1.0, 12, 20, 5, 5).area() == 0);
    CHECK(cutmix::box_for(0.0, 12, 20, 6, 10).area() == 240);
}

TEST_CASE("feature mixup re-normalises mixed features to unit length", "[mixup][feature]")
{
    const lfm_fixture f;
    const index_t batch = 3, width = 4;
    tensor<float, 2> first({batch, width}, 0.0f), second({batch, width}, 0.0f), out({batch, width});
    first(0, 0) = 1;  second(0, 1) = 1;    // orthogonal
    first(1, 2) = 1;  second(1, 2) = -1;   // opposite: the 0.5 mix is the zero vector
    first(2, 3) = 1;  second(2, 3) = 1;    // equal
    const std::vector<index_pair> pairs = {{0, 50}, {1, 51}, {2, 52}};
    std::vector<float> lambda_x(batch);
    target_storage targets(batch);
    const mixup_batcher batcher(f.sampler(), lfm_shift(1.0), fixed_lambda(0.5));
    philox4x32_10 engine(2);
    batcher.mix_loaded(pairs, std::as_const(first).view(), std::as_const(second).view(), out.view(),
                       make_view(lambda_x.data(), batch), targets.buffers(), engine, feature_mixup{});
    CHECK(out(0, 0) == Approx(std::sqrt(0.5)));
    CHECK(out(0, 1) == Approx(std::sqrt(0.5)));
    for (index_t d = 0; d < width; ++d) CHECK(out(1, d) == 0.0f);
    CHECK(out(2, 3) == Approx(1.0));

    batcher.mix_loaded(pairs, std::as_const(first).view(), std::as_const(second).view(), out.view(),
                       make_view(lambda_x.data(), batch), targets.buffers(), engine, feature_mixup{.renormalise = false});
    CHECK(out(0, 0) == 0.5f);
    CHECK(out(0, 1) == 0.5f);
}

// ---------------------------------------------------------------------------------------
// The composed batcher and its targets
// ---------------------------------------------------------------------------------------

TEST_CASE("lfm_mixup: text-similarity pairs, LFM targets, Beta lambda", "[mixup][batcher]")
{
    const lfm_fixture f;
    const lfm_mixup lfm(f.sampler(), lfm_shift(1.0), beta_lambda(0.5), lambda_scope::per_pair);
    const auto epoch = lfm.epoch(philox4x32_10(8), 0);
    REQUIRE(epoch.size() == f.instances());
    const index_t batch = 16;
    const auto pairs = epoch.batches(batch)[0];
    tensor<float, 2> dataset({f.instances(), 6}, 1.0f), out({batch, 6});
    std::vector<float> lambda_x(batch);
    target_storage targets(batch);
    philox4x32_10 engine(12);
    lfm.make_batch(pairs, std::as_const(dataset).view(), out.view(), make_view(lambda_x.data(), batch), targets.buffers(),
                   engine);
    for (index_t b = 0; b < batch; ++b) {
        const auto& pair = pairs[std::size_t(b)];
        const auto y_i = f.index().label(pair.first), y_j = f.index().label(pair.second);
        CHECK(targets.first[std::size_t(b)] == y_i);
        CHECK(targets.second[std::size_t(b)] == y_j);
        CHECK(y_i != y_j);
        const double n_i = double(f.counts[std::size_t(y_i)]), n_j = double(f.counts[std::size_t(y_j)]);
        const double expected = std::clamp(double(lambda_x[std::size_t(b)]) - (n_i - n_j) / (n_i + n_j), 0.0, 1.0);
        CHECK(targets.lambda[std::size_t(b)] == Approx(expected).margin(1e-6));
    }

    // draw_targets on the same engine state gives the same lambdas and targets.
    std::vector<float> lambda_again(batch);
    target_storage again(batch);
    philox4x32_10 same(12);
    lfm.draw_targets(pairs, make_view(lambda_again.data(), batch), again.buffers(), same);
    CHECK(lambda_again == lambda_x);
    CHECK(again.lambda == targets.lambda);
    CHECK(again.first == targets.first);

    // Dense targets: lambda_y on y_first, 1 - lambda_y on y_second, rows summing to 1.
    tensor<float, 2> dense({batch, lfm_fixture::classes});
    write_dense_targets(targets.buffers().targets(), dense.view());
    for (index_t b = 0; b < batch; ++b) {
        float sum = 0;
        for (index_t c = 0; c < lfm_fixture::classes; ++c) sum += dense(b, c);
        CHECK(sum == Approx(1.0f));
        CHECK(dense(b, targets.first[std::size_t(b)]) == Approx(targets.lambda[std::size_t(b)]));
        CHECK(dense(b, targets.second[std::size_t(b)]) == Approx(1 - targets.lambda[std::size_t(b)]));
    }
}

TEST_CASE("swapping one template argument swaps one ingredient", "[mixup][batcher]")
{
    const lfm_fixture f;
    const index_t batch = 8;
    tensor<float, 2> dataset({f.instances(), 3}), out({batch, 3});
    for (index_t i = 0; i < f.instances(); ++i)
        for (index_t d = 0; d < 3; ++d) dataset(i, d) = float(i + d);
    std::vector<float> lambda_x(batch);
    target_storage targets(batch);

    SECTION("standard mixup: random partners, lambda_y = lambda_x")
    {
        const standard_mixup plain(random_pair_sampler(f.index()), standard_shift{}, beta_lambda(1.0));
        const auto epoch = plain.epoch(philox4x32_10(1), 2);
        const auto pairs = epoch.batches(batch)[0];
        philox4x32_10 engine(3);
        plain.make_batch(pairs, std::as_const(dataset).view(), out.view(), make_view(lambda_x.data(), batch),
                         targets.buffers(), engine);
        for (index_t b = 0; b < batch; ++b) CHECK(targets.lambda[std::size_t(b)] == lambda_x[std::size_t(b)]);
    }
    SECTION("Remix label rule with text-similarity pairs and uniform lambda")
    {
        const mixup_batcher<text_similarity_pair_sampler<>, remix_shift, uniform_lambda> remix_text(
            f.sampler(), remix_shift(3, 0.5), uniform_lambda(), lambda_scope::per_pair);
        const auto epoch = remix_text.epoch(philox4x32_10(1), 0);
        const auto pairs = epoch.batches(batch)[1];
        philox4x32_10 engine(3);
        remix_text.make_batch(pairs, std::as_const(dataset).view(), out.view(), make_view(lambda_x.data(), batch),
                              targets.buffers(), engine);
        const remix_shift rule(3, 0.5);
        for (index_t b = 0; b < batch; ++b) {
            const auto n_i = f.counts[std::size_t(targets.first[std::size_t(b)])];
            const auto n_j = f.counts[std::size_t(targets.second[std::size_t(b)])];
            CHECK(targets.lambda[std::size_t(b)] == float(rule(lambda_x[std::size_t(b)], n_i, n_j)));
        }
    }
    SECTION("mixup off: samples and hard labels pass unchanged")
    {
        const mixup_batcher<text_similarity_pair_sampler<>, lfm_shift, off_lambda> off(f.sampler(), lfm_shift(2.0));
        const auto epoch = off.epoch(philox4x32_10(1), 0);
        const auto pairs = epoch.batches(batch)[0];
        philox4x32_10 engine(3);
        off.make_batch(pairs, std::as_const(dataset).view(), out.view(), make_view(lambda_x.data(), batch),
                       targets.buffers(), engine);
        for (index_t b = 0; b < batch; ++b) {
            const index_t first = pairs[std::size_t(b)].first;
            CHECK(lambda_x[std::size_t(b)] == 1.0f);
            CHECK(targets.lambda[std::size_t(b)] == 1.0f);
            CHECK(targets.first[std::size_t(b)] == f.index().label(first));
            CHECK(targets.second[std::size_t(b)] == targets.first[std::size_t(b)]);
            for (index_t d = 0; d < 3; ++d) CHECK(out(b, d) == dataset(first, d));
        }
    }
}

TEST_CASE("a batch is a deterministic function of the pairs and the engine", "[mixup][batcher]")
{
    const lfm_fixture f;
    const lfm_mixup lfm(f.sampler(), lfm_shift(1.0), beta_lambda(0.2), lambda_scope::per_pair);
    const auto epoch = lfm.epoch(philox4x32_10(5), 1);
    const auto pairs = epoch.batches(10)[2];
    tensor<float, 4> images({f.instances(), 2, 4, 4});
    philox4x32_10 fill(6);
    for (float& v : images) v = uniform_real<float>(fill);
    const auto build = [&](std::uint64_t seed) {
        tensor<float, 4> out({10, 2, 4, 4});
        std::vector<float> lambda_x(10);
        target_storage targets(10);
        philox4x32_10 engine(seed);
        lfm.make_batch(pairs, std::as_const(images).view(), out.view(), make_view(lambda_x.data(), 10),
                       targets.buffers(), engine, cutmix{});
        return std::vector<float>(out.begin(), out.end());
    };
    CHECK(build(1) == build(1));
    CHECK(build(1) != build(2));
}

TEST_CASE("mixup rejects bad input with errors naming the argument", "[mixup][errors]")
{
    const lfm_fixture f;
    const lfm_mixup lfm(f.sampler());
    const index_t batch = 2;
    tensor<float, 2> dataset({f.instances(), 4}), out({batch, 4});
    std::vector<float> lambda_x(batch);
    target_storage targets(batch);
    philox4x32_10 engine(1);
    const auto lambda_view = make_view(lambda_x.data(), batch);

    const std::vector<index_pair> outside = {{0, 1}, {2, f.instances()}};
    CHECK_THROWS_WITH(lfm.make_batch(outside, std::as_const(dataset).view(), out.view(), lambda_view, targets.buffers(), engine),
                      Catch::Contains("'pairs'"));
    const std::vector<index_pair> negative = {{-1, 1}, {2, 3}};
    CHECK_THROWS_AS(lfm.draw_targets(negative, lambda_view, targets.buffers(), engine), index_error);

    const std::vector<index_pair> three = {{0, 1}, {2, 3}, {4, 5}};
    CHECK_THROWS_WITH(lfm.make_batch(three, std::as_const(dataset).view(), out.view(), lambda_view, targets.buffers(), engine),
                      Catch::Contains("'lambda_x'"));
    const std::vector<index_pair> two = {{0, 50}, {2, 60}};
    target_storage short_targets(1);
    CHECK_THROWS_WITH(lfm.draw_targets(two, lambda_view, short_targets.buffers(), engine), Catch::Contains("'targets.first'"));

    tensor<float, 2> wide({batch, 5});
    CHECK_THROWS_AS(lfm.make_batch(two, std::as_const(dataset).view(), wide.view(), lambda_view, targets.buffers(), engine),
                    shape_error);
    // Samples must be contiguous: a transposed batch is not.
    tensor<float, 2> square({4, 4}), square_out({4, 4});
    const std::vector<index_pair> four = {{0, 50}, {2, 60}, {3, 70}, {4, 71}};
    std::vector<float> four_lambdas(4);
    target_storage four_targets(4);
    CHECK_THROWS_WITH(lfm.mix_loaded(four, std::as_const(square).view().transposed(), std::as_const(square).view(),
                                     square_out.view(), make_view(four_lambdas.data(), 4), four_targets.buffers(), engine),
                      Catch::Contains("'first'") && Catch::Contains("contiguous"));

    std::vector<std::int32_t> first = {0, 7}, second = {1, 1};
    std::vector<float> lambda = {0.5f, 0.5f};
    tensor<float, 2> dense({2, 5});
    const pair_targets<float> bad{make_view(std::as_const(first).data(), 2), make_view(std::as_const(second).data(), 2),
                                  make_view(std::as_const(lambda).data(), 2)};
    CHECK_THROWS_AS(write_dense_targets(bad, dense.view()), index_error);
}
