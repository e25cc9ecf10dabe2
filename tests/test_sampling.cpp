// Tests for the sampling room: alias tables, class samplers, the text-similarity and random
// pair samplers, epochs and sharding, long-tail profiles, and the errors bad input raises.
#include "tailor/sampling.hpp"

#include "tailor/backend/eigen/backend.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <numeric>
#include <set>
#include <vector>

using namespace tailor;

namespace {

// ---------------------------------------------------------------------------------------
// Goodness of fit
// ---------------------------------------------------------------------------------------

/// Upper critical value of chi-square with `df` degrees of freedom at a one-sided normal
/// quantile z (Wilson–Hilferty); z = 4.26 is a tail probability of about 1e-5.
double chi_square_critical(double df, double z = 4.26)
{
    const double h = 2.0 / (9.0 * df);
    return df * std::pow(1.0 - h + z * std::sqrt(h), 3.0);
}

/// Pearson's statistic of `observed` against `probabilities` for `draws` draws; bins whose
/// expectation is under 5 are pooled into one. Checks the fit; an observation in a bin of
/// probability 0 fails outright.
void require_fits(const std::vector<double>& observed, const std::vector<double>& probabilities, double draws)
{
    REQUIRE(observed.size() == probabilities.size());
    double statistic = 0, pooled_expected = 0, pooled_observed = 0;
    int bins = 0;
    for (std::size_t k = 0; k < observed.size(); ++k) {
        const double expected = probabilities[k] * draws;
        if (probabilities[k] == 0) {
            REQUIRE(observed[k] == 0);
        } else if (expected < 5) {
            pooled_expected += expected;
            pooled_observed += observed[k];
        } else {
            statistic += (observed[k] - expected) * (observed[k] - expected) / expected;
            ++bins;
        }
    }
    if (pooled_expected > 0) {
        statistic += (pooled_observed - pooled_expected) * (pooled_observed - pooled_expected) / pooled_expected;
        ++bins;
    }
    REQUIRE(bins >= 2);
    INFO("chi-square " << statistic << " with " << bins - 1 << " degrees of freedom");
    CHECK(statistic < chi_square_critical(bins - 1));
}

// ---------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------

/// Random unit embeddings [C, D], deterministic.
tensor<float, 2> random_embeddings(index_t classes, index_t width, std::uint64_t seed)
{
    philox4x32_10 engine(seed);
    tensor<float, 2> e({classes, width});
    for (index_t c = 0; c < classes; ++c) {
        double norm = 0;
        for (index_t d = 0; d < width; ++d) {
            e(c, d) = standard_normal<float>(engine);
            norm += double(e(c, d)) * e(c, d);
        }
        for (index_t d = 0; d < width; ++d) e(c, d) = float(e(c, d) / std::sqrt(norm));
    }
    return e;
}

/// s = E E^T computed here in double, independently of the backend.
tensor<float, 2> cosine_matrix(const tensor<float, 2>& e)
{
    const index_t classes = e.extent(0), width = e.extent(1);
    tensor<float, 2> s({classes, classes});
    for (index_t i = 0; i < classes; ++i)
        for (index_t j = 0; j < classes; ++j) {
            double dot = 0;
            for (index_t d = 0; d < width; ++d) dot += double(e(i, d)) * e(j, d);
            s(i, j) = float(dot);
        }
    return s;
}

/// P(j | i) by Eq. (1) normalised over j != i (classes with n_j = 0 excluded), optionally
/// restricted to the k largest similarities: the reference the sampler is checked against.
std::vector<double> expected_partner_row(const tensor<float, 2>& s, index_t i, double tau,
                                         const std::vector<index_t>& counts, index_t top_k = 0)
{
    const index_t classes = s.extent(0);
    std::vector<index_t> candidates;
    for (index_t j = 0; j < classes; ++j)
        if (j != i && counts[std::size_t(j)] > 0) candidates.push_back(j);
    std::stable_sort(candidates.begin(), candidates.end(), [&](index_t a, index_t b) { return s(i, a) > s(i, b); });
    if (top_k > 0 && index_t(candidates.size()) > top_k) candidates.resize(std::size_t(top_k));
    std::vector<double> row(std::size_t(classes), 0.0);
    double sum = 0;
    for (index_t j : candidates) sum += std::exp(double(s(i, j)) / tau);
    for (index_t j : candidates) row[std::size_t(j)] = std::exp(double(s(i, j)) / tau) / sum;
    return row;
}

/// counts[c] instances of class c, numbered class by class.
std::vector<std::int32_t> grouped_labels(const std::vector<index_t>& counts)
{
    std::vector<std::int32_t> labels;
    for (std::size_t c = 0; c < counts.size(); ++c) labels.insert(labels.end(), std::size_t(counts[c]), std::int32_t(c));
    return labels;
}

/// Labels in a scrambled order, so instance ids do not follow classes.
std::vector<std::int32_t> scrambled_labels(const std::vector<index_t>& counts, std::uint64_t seed)
{
    auto labels = grouped_labels(counts);
    philox4x32_10 engine(seed);
    detail::shuffle(std::span(labels), engine);
    return labels;
}

class_index index_of(const std::vector<std::int32_t>& labels, index_t classes)
{
    return class_index::from_labels(make_view(labels.data(), labels.size()), classes);
}

/// Class frequencies of anchors over an instance epoch.
std::vector<double> class_histogram(const instance_epoch& epoch, const class_index& index)
{
    std::vector<double> histogram(std::size_t(index.classes()), 0.0);
    for (index_t instance : epoch) histogram[std::size_t(index.label(instance))] += 1;
    return histogram;
}

/// Rebuilds the single-process stream from R shards by their positions.
template <class Item>
std::vector<Item> interleave(const std::vector<epoch_sequence<Item>>& shards)
{
    index_t length = shards.front().stream_length();
    std::vector<Item> stream(static_cast<std::size_t>(length));
    std::vector<bool> seen(std::size_t(length), false);
    for (const auto& s : shards)
        for (index_t k = 0; k < s.size(); ++k) {
            const index_t p = s.position(k);
            REQUIRE(p < length);
            REQUIRE_FALSE(seen[std::size_t(p)]);  // disjoint
            seen[std::size_t(p)] = true;
            stream[std::size_t(p)] = s[k];
        }
    REQUIRE(std::all_of(seen.begin(), seen.end(), [](bool b) { return b; }));  // covering
    return stream;
}

const std::vector<index_t> small_long_tail = {60, 35, 20, 12, 7, 4, 2, 1};

}  // namespace

// ---------------------------------------------------------------------------------------
// Alias tables
// ---------------------------------------------------------------------------------------

TEST_CASE("alias_table draws follow the weights (chi-square), zero weights never", "[sampling][alias]")
{
    const std::vector<double> weights = {1.0, 0.0, 2.5, 0.1, 7.0, 3.0, 0.0, 0.001, 12.0, 0.4};
    const alias_table table(weights);
    REQUIRE(table.size() == 10);
    const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
    std::vector<double> probabilities;
    for (std::size_t k = 0; k < weights.size(); ++k) {
        CHECK(table.probability(index_t(k)) == Approx(weights[k] / total).epsilon(1e-15));
        probabilities.push_back(weights[k] / total);
    }
    philox4x32_10 engine(42);
    const int draws = 1'000'000;
    std::vector<double> observed(weights.size(), 0.0);
    for (int n = 0; n < draws; ++n) observed[std::size_t(table(engine))] += 1;
    require_fits(observed, probabilities, draws);
}

TEST_CASE("alias_table over many skewed outcomes fits (chi-square)", "[sampling][alias]")
{
    philox4x32_10 weight_engine(7);
    std::vector<double> weights(1000);
    for (auto& w : weights) w = std::exp(6.0 * uniform_real<double>(weight_engine));  // 1 .. 400
    const alias_table table(weights);
    philox4x32_10 engine(8);
    const int draws = 2'000'000;
    std::vector<double> observed(weights.size(), 0.0);
    for (int n = 0; n < draws; ++n) observed[std::size_t(table(engine))] += 1;
    require_fits(observed, {table.probabilities().begin(), table.probabilities().end()}, draws);
}

TEST_CASE("alias_table edge cases: one outcome, equal weights, a single non-zero weight", "[sampling][alias]")
{
    philox4x32_10 engine(1);
    const alias_table one(std::vector<double>{3.0});
    for (int n = 0; n < 100; ++n) REQUIRE(one(engine) == 0);
    const alias_table spike(std::vector<double>{0, 0, 0, 1e-300, 0});
    for (int n = 0; n < 1000; ++n) REQUIRE(spike(engine) == 3);
    const alias_table equal(std::vector<double>(7, 2.0));
    for (int k = 0; k < 7; ++k) CHECK(equal.probability(k) == Approx(1.0 / 7));
}

TEST_CASE("alias tables reject bad weights", "[sampling][alias][errors]")
{
    using V = std::vector<double>;
    CHECK_THROWS_AS(alias_table(V{}), argument_error);
    CHECK_THROWS_AS(alias_table(V{1.0, -0.5}), argument_error);
    CHECK_THROWS_AS(alias_table(V{1.0, NAN}), argument_error);
    CHECK_THROWS_AS(alias_table(V{1.0, INFINITY}), argument_error);
    CHECK_THROWS_AS(alias_table(V{0.0, 0.0}), argument_error);
    CHECK_THROWS_WITH(alias_table(V{1.0, -0.5}), Catch::Contains("'weights'") && Catch::Contains("-0.5"));
    CHECK_THROWS_AS(conditional_alias_table(V{1, 1, 0, 0}, 2, 2), argument_error);  // row 1 all zero
    CHECK_THROWS_WITH(conditional_alias_table(V{1, 1, 0, 0}, 2, 2), Catch::Contains("row 1"));
    CHECK_THROWS_AS(conditional_alias_table(V{1, 1, 1}, 2, 2), shape_error);
}

TEST_CASE("conditional_alias_table: dense and listed rows", "[sampling][alias]")
{
    const std::vector<double> weights = {0, 1, 3, 2, 0, 2};
    const conditional_alias_table dense(weights, 2, 3);
    CHECK(dense.probability(0, 0) == 0);
    CHECK(dense.probability(0, 2) == Approx(0.75));
    CHECK(dense.probability(1, 0) == Approx(0.5));
    const std::vector<std::int32_t> outcomes = {7, 4, 9, 5, 5, 2};
    const conditional_alias_table listed(weights, outcomes, 2, 3);
    CHECK(listed.lists_outcomes());
    CHECK(listed.probability(0, 9) == Approx(0.75));
    CHECK(listed.probability(0, 7) == 0);
    CHECK(listed.probability(1, 5) == Approx(0.5));  // 5 listed twice, once with weight 0
    philox4x32_10 engine(3);
    for (int n = 0; n < 1000; ++n) {
        const auto a = listed(0, engine);
        REQUIRE((a == 4 || a == 9));
        const auto b = listed(1, engine);
        REQUIRE((b == 5 || b == 2));
    }
}

// ---------------------------------------------------------------------------------------
// Text-similarity pair sampler
// ---------------------------------------------------------------------------------------

TEST_CASE("pair sampler: P(j | i) is the softmax of s_ij / tau over j != i, for several tau", "[sampling][pairs]")
{
    const index_t classes = 12;
    const auto embeddings = random_embeddings(classes, 6, 11);
    const auto s = cosine_matrix(embeddings);
    const std::vector<index_t> counts(classes, 5);
    const auto labels = grouped_labels(counts);

    for (double tau : {0.05, 0.2, 1.0}) {
        DYNAMIC_SECTION("tau = " << tau)
        {
            const text_similarity_pair_sampler sampler(precomputed_similarity(s.view()), index_of(labels, classes),
                                                       {.tau = tau});
            philox4x32_10 engine(100 + std::uint64_t(tau * 1000));
            for (index_t i : {index_t(0), index_t(5), index_t(11)}) {
                const auto expected = expected_partner_row(s, i, tau, counts);
                for (index_t j = 0; j < classes; ++j)
                    REQUIRE(sampler.partner_probability(i, j) == Approx(expected[std::size_t(j)]).margin(1e-12));
                CHECK(sampler.partner_probability(i, i) == 0);
                const int draws = 200'000;
                std::vector<double> observed(std::size_t(classes), 0.0);
                for (int n = 0; n < draws; ++n) observed[std::size_t(sampler.draw_partner_class(i, engine))] += 1;
                require_fits(observed, expected, draws);
            }
        }
    }
}

TEST_CASE("pair sampler: text embeddings through the Eigen GEMM give the same table as cosines", "[sampling][pairs]")
{
    const index_t classes = 9;
    auto embeddings = random_embeddings(classes, 5, 21);
    // Non-unit rows: the source normalises them, so the result is still the cosine.
    for (index_t d = 0; d < 5; ++d) embeddings(3, d) *= 4.0f;
    const auto unit = random_embeddings(classes, 5, 21);
    const auto s = cosine_matrix(unit);
    const auto labels = grouped_labels(std::vector<index_t>(classes, 3));
    const text_embedding_similarity text(std::as_const(embeddings).view(), eigen::backend{});
    const text_similarity_pair_sampler from_text(text, index_of(labels, classes), {.tau = 0.1});
    const text_similarity_pair_sampler from_matrix(precomputed_similarity(s.view()), index_of(labels, classes),
                                                   {.tau = 0.1});
    for (index_t i = 0; i < classes; ++i)
        for (index_t j = 0; j < classes; ++j)
            CHECK(from_text.partner_probability(i, j) == Approx(from_matrix.partner_probability(i, j)).margin(1e-5));
}

TEST_CASE("pair sampler: top-k keeps the k most similar classes, softmax applied once", "[sampling][pairs]")
{
    const index_t classes = 15, k = 4;
    const auto s = cosine_matrix(random_embeddings(classes, 7, 31));
    const std::vector<index_t> counts(classes, 2);
    const auto labels = grouped_labels(counts);
    const double tau = 0.2;
    const text_similarity_pair_sampler sampler(precomputed_similarity(s.view()), index_of(labels, classes),
                                               {.tau = tau, .top_k = k});
    philox4x32_10 engine(5);
    for (index_t i : {index_t(0), index_t(7), index_t(14)}) {
        const auto expected = expected_partner_row(s, i, tau, counts, k);
        REQUIRE(std::count_if(expected.begin(), expected.end(), [](double p) { return p > 0; }) == k);
        for (index_t j = 0; j < classes; ++j)
            REQUIRE(sampler.partner_probability(i, j) == Approx(expected[std::size_t(j)]).margin(1e-12));
        const int draws = 100'000;
        std::vector<double> observed(std::size_t(classes), 0.0);
        for (int n = 0; n < draws; ++n) observed[std::size_t(sampler.draw_partner_class(i, engine))] += 1;
        require_fits(observed, expected, draws);
    }
    // k = C - 1 is the full table.
    const text_similarity_pair_sampler all(precomputed_similarity(s.view()), index_of(labels, classes),
                                           {.tau = tau, .top_k = classes - 1});
    CHECK(all.partner_probability(3, 9) == Approx(expected_partner_row(s, 3, tau, counts)[9]).margin(1e-12));
}

TEST_CASE("pair sampler: batched partner draws equal one-at-a-time draws", "[sampling][pairs]")
{
    const index_t classes = 40;
    const auto s = cosine_matrix(random_embeddings(classes, 5, 35));
    const auto labels = grouped_labels(std::vector<index_t>(classes, 2));
    std::vector<std::int32_t> anchors(1000);
    for (std::size_t i = 0; i < anchors.size(); ++i) anchors[i] = std::int32_t((i * 7) % classes);
    for (index_t k : {index_t(0), index_t(5)}) {
        const text_similarity_pair_sampler sampler(precomputed_similarity(s.view()), index_of(labels, classes),
                                                   {.tau = 0.1, .top_k = k});
        philox4x32_10 one(6), many(6);
        std::vector<std::int32_t> batched(anchors.size());
        sampler.draw_partner_classes(anchors, batched, many);
        for (std::size_t i = 0; i < anchors.size(); ++i) REQUIRE(batched[i] == sampler.draw_partner_class(anchors[i], one));
        CHECK(one == many);
        std::vector<std::int32_t> bad = {0, std::int32_t(classes)};
        std::vector<std::int32_t> out(2);
        CHECK_THROWS_AS(sampler.draw_partner_classes(bad, out, many), index_error);
    }
}

TEST_CASE("pair sampler: classes without instances are never partners", "[sampling][pairs]")
{
    const index_t classes = 6;
    const auto s = cosine_matrix(random_embeddings(classes, 4, 41));
    const std::vector<index_t> counts = {5, 0, 3, 4, 0, 2};
    const auto labels = grouped_labels(counts);
    const text_similarity_pair_sampler sampler(precomputed_similarity(s.view()), index_of(labels, classes), {.tau = 0.5});
    for (index_t i = 0; i < classes; ++i) {
        CHECK(sampler.partner_probability(i, 1) == 0);
        CHECK(sampler.partner_probability(i, 4) == 0);
        const auto expected = expected_partner_row(s, i, 0.5, counts);
        for (index_t j = 0; j < classes; ++j)
            CHECK(sampler.partner_probability(i, j) == Approx(expected[std::size_t(j)]).margin(1e-12));
    }
    const auto epoch = sampler.epoch(philox4x32_10(1), 0);
    for (const auto& pair : epoch) {
        CHECK(counts[std::size_t(sampler.index().label(pair.second))] > 0);
    }
}

TEST_CASE("LFM epoch: every instance anchors once, partners differ in class, pools without replacement",
          "[sampling][pairs][epoch]")
{
    const index_t classes = static_cast<index_t>(small_long_tail.size());
    const auto s = cosine_matrix(random_embeddings(classes, 5, 51));
    const auto labels = scrambled_labels(small_long_tail, 52);
    const text_similarity_pair_sampler sampler(precomputed_similarity(s.view()), index_of(labels, classes), {.tau = 0.3});
    const class_index& index = sampler.index();
    const philox4x32_10 generator(2024);

    for (index_t e : {index_t(0), index_t(1), index_t(9)}) {
        const auto epoch = sampler.epoch(generator, e);
        REQUIRE(epoch.size() == index.instances());
        std::vector<index_t> anchors;
        std::map<std::int32_t, std::vector<index_t>> partners_of_class;
        for (const auto& pair : epoch) {
            anchors.push_back(pair.first);
            REQUIRE(index.label(pair.first) != index.label(pair.second));
            partners_of_class[index.label(pair.second)].push_back(pair.second);
        }
        std::sort(anchors.begin(), anchors.end());
        std::vector<index_t> all(std::size_t(index.instances()));
        std::iota(all.begin(), all.end(), index_t{0});
        REQUIRE(anchors == all);
        // Each complete run of n_j uses of class j is a permutation of its members; the last
        // partial run has no repeats.
        for (const auto& [c, used] : partners_of_class) {
            const auto members = index.members(c);
            const std::set<index_t> member_set(members.begin(), members.end());
            const std::size_t n = members.size();
            for (std::size_t begin = 0; begin < used.size(); begin += n) {
                const std::size_t end = std::min(used.size(), begin + n);
                const std::set<index_t> run(used.begin() + long(begin), used.begin() + long(end));
                REQUIRE(run.size() == end - begin);
                for (index_t instance : run) REQUIRE(member_set.count(instance) == 1);
            }
        }
    }
}

TEST_CASE("LFM epochs: partner class given anchor class follows P(j | i) (chi-square)", "[sampling][pairs][epoch]")
{
    const index_t classes = 5;
    const auto s = cosine_matrix(random_embeddings(classes, 4, 61));
    const std::vector<index_t> counts = {400, 250, 150, 120, 80};
    const auto labels = scrambled_labels(counts, 62);
    const double tau = 0.25;
    const text_similarity_pair_sampler sampler(precomputed_similarity(s.view()), index_of(labels, classes), {.tau = tau});
    const philox4x32_10 generator(9);
    std::vector<std::vector<double>> joint(std::size_t(classes), std::vector<double>(std::size_t(classes), 0.0));
    for (index_t e = 0; e < 20; ++e)
        for (const auto& pair : sampler.epoch(generator, e))
            joint[std::size_t(sampler.index().label(pair.first))][std::size_t(sampler.index().label(pair.second))] += 1;
    for (index_t i = 0; i < classes; ++i) {
        const double row_total = std::accumulate(joint[std::size_t(i)].begin(), joint[std::size_t(i)].end(), 0.0);
        CHECK(row_total == 20.0 * double(counts[std::size_t(i)]));  // anchors instance-balanced
        require_fits(joint[std::size_t(i)], expected_partner_row(s, i, tau, counts), row_total);
    }
}

// ---------------------------------------------------------------------------------------
// Class samplers
// ---------------------------------------------------------------------------------------

TEST_CASE("class weightings give the documented class distributions", "[sampling][class]")
{
    const std::vector<index_t> counts = {100, 36, 9, 4, 1};
    const double total = 150;
    auto p = class_probabilities(instance_balanced{}, counts);
    for (std::size_t c = 0; c < counts.size(); ++c) CHECK(p[c] == Approx(double(counts[c]) / total));
    p = class_probabilities(class_balanced{}, counts);
    for (double v : p) CHECK(v == Approx(0.2));
    p = class_probabilities(square_root{}, counts);
    for (std::size_t c = 0; c < counts.size(); ++c) CHECK(p[c] == Approx(std::sqrt(double(counts[c])) / 22.0));
    p = class_probabilities(inverse_frequency{}, counts);
    const double inverse_sum = 1.0 / 100 + 1.0 / 36 + 1.0 / 9 + 1.0 / 4 + 1.0;
    for (std::size_t c = 0; c < counts.size(); ++c) CHECK(p[c] == Approx(1.0 / double(counts[c]) / inverse_sum));

    // Repeat factor, t = 0.1: f = n / 150; r = max(1, sqrt(0.1 / f)).
    const repeat_factor rfs(0.1);
    std::vector<double> repeated;
    for (index_t n : counts) repeated.push_back(double(n) * std::max(1.0, std::sqrt(0.1 / (double(n) / total))));
    const double repeated_sum = std::accumulate(repeated.begin(), repeated.end(), 0.0);
    p = class_probabilities(rfs, counts);
    for (std::size_t c = 0; c < counts.size(); ++c) CHECK(p[c] == Approx(repeated[c] / repeated_sum));
    CHECK(rfs.factor(100, 150) == 1.0);
    CHECK(rfs.factor(1, 150) == Approx(std::sqrt(15.0)));
    CHECK(rfs.epoch_length(counts) == std::llround(repeated_sum));

    // Progressive over E = 4 epochs: instance-balanced at 0, class-balanced from 4 on.
    const progressive schedule(4);
    for (index_t e : {index_t(0), index_t(1), index_t(4), index_t(9)}) {
        const double t = double(std::min<index_t>(e, 4)) / 4.0;
        p = class_probabilities(schedule, counts, e);
        for (std::size_t c = 0; c < counts.size(); ++c)
            CHECK(p[c] == Approx((1 - t) * double(counts[c]) / total + t * 0.2));
    }
}

TEMPLATE_TEST_CASE("class samplers draw classes at their weighting's frequencies (chi-square)",
                   "[sampling][class]", class_balanced, square_root, inverse_frequency)
{
    const std::vector<index_t> counts = {3000, 1200, 500, 200, 80, 30, 12, 5};
    const auto labels = scrambled_labels(counts, 71);
    const class_sampler<TestType> sampler(index_of(labels, 8));
    const auto expected = sampler.class_probabilities();
    double draws = 0;
    std::vector<double> observed(8, 0.0);
    for (index_t e = 0; e < 4; ++e) {
        const auto epoch = sampler.epoch(philox4x32_10(72), e);
        REQUIRE(epoch.size() == 5027);
        const auto h = class_histogram(epoch, sampler.index());
        for (std::size_t c = 0; c < 8; ++c) observed[c] += h[c];
        draws += double(epoch.size());
    }
    require_fits(observed, expected, draws);
}

TEST_CASE("repeat-factor and progressive samplers: frequencies and epoch lengths", "[sampling][class]")
{
    const std::vector<index_t> counts = {3000, 1200, 500, 200, 80, 30, 12, 5};
    const auto labels = scrambled_labels(counts, 81);
    SECTION("repeat factor")
    {
        const class_sampler sampler(index_of(labels, 8), repeat_factor(0.05));
        REQUIRE(sampler.epoch_length() > 5027);
        const auto epoch = sampler.epoch(philox4x32_10(82), 0);
        REQUIRE(epoch.size() == sampler.epoch_length());
        require_fits(class_histogram(epoch, sampler.index()), sampler.class_probabilities(), double(epoch.size()));
    }
    SECTION("progressive, every epoch its own mixture")
    {
        const class_sampler sampler(index_of(labels, 8), progressive(6));
        for (index_t e : {index_t(0), index_t(3), index_t(6)}) {
            std::vector<double> observed(8, 0.0);
            double draws = 0;
            for (std::uint64_t seed = 0; seed < 3; ++seed) {
                const auto epoch = sampler.epoch(philox4x32_10(seed), e);
                const auto h = class_histogram(epoch, sampler.index());
                for (std::size_t c = 0; c < 8; ++c) observed[c] += h[c];
                draws += double(epoch.size());
            }
            require_fits(observed, sampler.class_probabilities(e), draws);
        }
    }
}

TEST_CASE("instance-balanced epochs are shuffles; class-aware epochs cycle each class's pool", "[sampling][class]")
{
    const auto labels = scrambled_labels(small_long_tail, 91);
    const class_sampler shuffled(index_of(labels, 8));
    auto epoch = shuffled.epoch(philox4x32_10(1), 3);
    std::vector<index_t> sorted(epoch.begin(), epoch.end());
    std::sort(sorted.begin(), sorted.end());
    std::vector<index_t> all(labels.size());
    std::iota(all.begin(), all.end(), index_t{0});
    CHECK(sorted == all);
    CHECK_FALSE(std::equal(epoch.begin(), epoch.end(), all.begin()));

    const class_sampler balanced(index_of(labels, 8), class_balanced{});
    const auto b = balanced.epoch(philox4x32_10(1), 0);
    std::map<std::int32_t, std::vector<index_t>> by_class;
    for (index_t instance : b) by_class[balanced.index().label(instance)].push_back(instance);
    for (const auto& [c, used] : by_class) {
        const std::size_t n = std::size_t(small_long_tail[std::size_t(c)]);
        const std::set<index_t> first_run(used.begin(), used.begin() + long(std::min(n, used.size())));
        CHECK(first_run.size() == std::min(n, used.size()));
    }
}

// ---------------------------------------------------------------------------------------
// Determinism, epochs, sharding
// ---------------------------------------------------------------------------------------

TEST_CASE("epochs are deterministic, differ between epochs and seeds, and every epoch works",
          "[sampling][epoch]")
{
    const index_t classes = 8;
    const auto s = cosine_matrix(random_embeddings(classes, 4, 101));
    const auto labels = scrambled_labels(small_long_tail, 102);
    const text_similarity_pair_sampler sampler(precomputed_similarity(s.view()), index_of(labels, classes));
    const philox4x32_10 generator(77);

    const auto e3 = sampler.epoch(generator, 3);
    const auto again = sampler.epoch(philox4x32_10(77), 3);
    CHECK(std::equal(e3.begin(), e3.end(), again.begin(), again.end()));
    // Asking for epochs in another order changes nothing: an epoch is a pure function.
    for (index_t e = 0; e < 3; ++e) (void)sampler.epoch(generator, e);
    const auto after = sampler.epoch(generator, 3);
    CHECK(std::equal(e3.begin(), e3.end(), after.begin(), after.end()));

    std::set<std::vector<index_t>> distinct;
    for (index_t e = 0; e < 12; ++e) {
        const auto epoch = sampler.epoch(generator, e);
        REQUIRE(epoch.size() == 141);
        REQUIRE(epoch.epoch() == e);
        std::vector<index_t> flat;
        for (const auto& pair : epoch) {
            REQUIRE(sampler.index().label(pair.first) != sampler.index().label(pair.second));
            flat.push_back(pair.first);
            flat.push_back(pair.second);
        }
        distinct.insert(flat);
    }
    CHECK(distinct.size() == 12);
    const auto other_seed = sampler.epoch(philox4x32_10(78), 3);
    const auto other_stream = sampler.epoch(philox4x32_10(77, 1), 3);
    CHECK_FALSE(std::equal(e3.begin(), e3.end(), other_seed.begin(), other_seed.end()));
    CHECK_FALSE(std::equal(e3.begin(), e3.end(), other_stream.begin(), other_stream.end()));
}

TEST_CASE("shards are disjoint and their union is the single-process stream", "[sampling][epoch][shard]")
{
    const index_t classes = 8;
    const auto s = cosine_matrix(random_embeddings(classes, 4, 111));
    const auto labels = scrambled_labels(small_long_tail, 112);
    const philox4x32_10 generator(5);

    const text_similarity_pair_sampler lfm(precomputed_similarity(s.view()), index_of(labels, classes), {.tau = 0.1});
    const text_similarity_pair_sampler<class_balanced> lfm_balanced(precomputed_similarity(s.view()),
                                                                   index_of(labels, classes), {.tau = 0.1, .top_k = 3});
    const random_pair_sampler random_pairs(index_of(labels, classes));
    const class_sampler<square_root> singles(index_of(labels, classes));

    for (index_t world : {index_t(1), index_t(2), index_t(3), index_t(7)}) {
        for (index_t e : {index_t(0), index_t(4)}) {
            DYNAMIC_SECTION("world " << world << ", epoch " << e)
            {
                std::vector<pair_epoch> a, b, c;
                std::vector<instance_epoch> d;
                for (index_t rank = 0; rank < world; ++rank) {
                    const shard part{rank, world};
                    a.push_back(lfm.epoch(generator, e, part));
                    b.push_back(lfm_balanced.epoch(generator, e, part));
                    c.push_back(random_pairs.epoch(generator, e, part));
                    d.push_back(singles.epoch(generator, e, part));
                    CHECK(a.back().size() == part.share_of(141));
                }
                const auto whole_a = lfm.epoch(generator, e);
                const auto whole_b = lfm_balanced.epoch(generator, e);
                const auto whole_c = random_pairs.epoch(generator, e);
                const auto whole_d = singles.epoch(generator, e);
                CHECK(interleave(a) == std::vector<index_pair>(whole_a.begin(), whole_a.end()));
                CHECK(interleave(b) == std::vector<index_pair>(whole_b.begin(), whole_b.end()));
                CHECK(interleave(c) == std::vector<index_pair>(whole_c.begin(), whole_c.end()));
                CHECK(interleave(d) == std::vector<index_t>(whole_d.begin(), whole_d.end()));
            }
        }
    }
}

TEST_CASE("epochs come in batches of pairs", "[sampling][epoch]")
{
    const auto labels = scrambled_labels(small_long_tail, 121);
    const random_pair_sampler sampler(index_of(labels, 8));
    const auto epoch = sampler.epoch(philox4x32_10(1), 0);
    REQUIRE(epoch.size() == 141);
    const auto batches = epoch.batches(32);
    CHECK(batches.size() == 5);
    std::vector<index_pair> joined;
    index_t count = 0;
    for (auto batch : batches) {
        CHECK(batch.size() == (count < 4 ? 32u : 13u));
        joined.insert(joined.end(), batch.begin(), batch.end());
        ++count;
    }
    CHECK(count == 5);
    CHECK(std::equal(joined.begin(), joined.end(), epoch.begin(), epoch.end()));
    CHECK(epoch.batches(32, true).size() == 4);
    CHECK(epoch.batches(32)[4].size() == 13);
    CHECK_THROWS_AS(epoch.batches(0), argument_error);
}

// ---------------------------------------------------------------------------------------
// Long-tail profiles and subsets
// ---------------------------------------------------------------------------------------

TEST_CASE("long-tail profiles: CIFAR-LT exponential counts, step, Pareto", "[sampling][long_tail]")
{
    CHECK(exponential_profile(10, 5000, 100) ==
          std::vector<index_t>{5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50});
    const auto cifar100 = exponential_profile(100, 500, 100);
    CHECK(cifar100.front() == 500);
    CHECK(cifar100.back() == 5);
    CHECK(std::accumulate(cifar100.begin(), cifar100.end(), index_t{0}) == 10847);
    CHECK(exponential_profile(1, 30, 10) == std::vector<index_t>{30});

    CHECK(step_profile(5, 100, 10) == std::vector<index_t>{100, 100, 10, 10, 10});
    CHECK(step_profile(4, 100, 4) == std::vector<index_t>{100, 100, 25, 25});

    const auto pareto = pareto_profile(1000, 1280, 256);
    CHECK(pareto.front() == 1280);
    CHECK(pareto.back() == 5);
    CHECK(std::is_sorted(pareto.rbegin(), pareto.rend()));
    // Convex in log space: the head falls faster than the exponential profile's.
    const auto exponential = exponential_profile(1000, 1280, 256);
    CHECK(pareto[100] < exponential[100]);
    CHECK(pareto[900] < exponential[900] + 5);
}

TEST_CASE("long-tail profiles reject impossible parameters", "[sampling][long_tail][errors]")
{
    CHECK_THROWS_AS(exponential_profile(0, 100, 10), argument_error);
    CHECK_THROWS_AS(exponential_profile(10, 0, 10), argument_error);
    CHECK_THROWS_AS(exponential_profile(10, -5, 10), argument_error);
    CHECK_THROWS_AS(exponential_profile(10, 100, 0.5), argument_error);
    CHECK_THROWS_AS(exponential_profile(10, 100, NAN), argument_error);
    CHECK_THROWS_WITH(exponential_profile(10, 100, 1000), Catch::Contains("'imbalance_factor'"));
    CHECK_THROWS_AS(step_profile(4, 10, 20), argument_error);
    CHECK_THROWS_AS(pareto_profile(4, 10, 5, -1), argument_error);
}

TEST_CASE("a seeded long-tailed subset of a balanced label list", "[sampling][long_tail]")
{
    std::vector<std::int32_t> balanced;
    for (int repeat = 0; repeat < 50; ++repeat)
        for (std::int32_t c = 0; c < 10; ++c) balanced.push_back(c);
    const auto view = make_view(balanced.data(), balanced.size());
    const auto counts = exponential_profile(10, 50, 10);
    philox4x32_10 engine(3);
    const auto subset = choose_long_tail_subset(view, counts, engine);
    CHECK(std::is_sorted(subset.begin(), subset.end()));
    CHECK(std::adjacent_find(subset.begin(), subset.end()) == subset.end());
    std::vector<index_t> got(10, 0);
    for (index_t i : subset) ++got[std::size_t(balanced[std::size_t(i)])];
    CHECK(got == counts);

    philox4x32_10 same(3), other(4);
    CHECK(choose_long_tail_subset(view, counts, same) == subset);
    CHECK(choose_long_tail_subset(view, counts, other) != subset);

    std::vector<index_t> too_many = counts;
    too_many[9] = 51;
    CHECK_THROWS_WITH(choose_long_tail_subset(view, too_many, engine),
                      Catch::Contains("'counts'") && Catch::Contains("class 9"));
    const std::vector<std::int32_t> out_of_range = {0, 1, 12};
    CHECK_THROWS_AS(choose_long_tail_subset(make_view(out_of_range.data(), 3), counts, engine), index_error);
}

// ---------------------------------------------------------------------------------------
// Bad input: a clear tailor:: error each, never a hang
// ---------------------------------------------------------------------------------------

TEST_CASE("samplers reject bad input with errors naming the argument", "[sampling][errors]")
{
    const index_t classes = 4;
    const auto s = cosine_matrix(random_embeddings(classes, 3, 131));
    const precomputed_similarity similarity(s.view());
    const auto labels = grouped_labels({3, 2, 2, 1});
    const auto index = index_of(labels, classes);

    SECTION("labels and counts")
    {
        const std::vector<std::int32_t> none;
        CHECK_THROWS_AS(class_index::from_labels(make_view(none.data(), 0), 4), argument_error);
        CHECK_THROWS_AS(class_index::from_labels(make_view(labels.data(), labels.size()), 0), argument_error);
        const std::vector<std::int32_t> bad = {0, 4};
        CHECK_THROWS_AS(class_index::from_labels(make_view(bad.data(), 2), 4), index_error);
        const std::vector<std::int32_t> negative = {0, -1};
        CHECK_THROWS_WITH(class_index::from_labels(make_view(negative.data(), 2), 4),
                          Catch::Contains("'labels'") && Catch::Contains("-1 at instance 1"));
        CHECK_THROWS_WITH(class_index::from_counts(std::vector<index_t>{3, -2}), Catch::Contains("'counts'"));
        CHECK_THROWS_AS(class_index::from_counts(std::vector<index_t>{0, 0}), argument_error);
        CHECK_THROWS_AS(class_index::from_counts(std::vector<index_t>{}), argument_error);
    }
    SECTION("temperature, top-k, similarities")
    {
        CHECK_THROWS_WITH(text_similarity_pair_sampler(similarity, index, {.tau = 0}), Catch::Contains("'tau'"));
        CHECK_THROWS_AS(text_similarity_pair_sampler(similarity, index, {.tau = -1}), argument_error);
        CHECK_THROWS_AS(text_similarity_pair_sampler(similarity, index, {.tau = NAN}), argument_error);
        CHECK_THROWS_AS(text_similarity_pair_sampler(similarity, index, {.tau = INFINITY}), argument_error);
        CHECK_THROWS_WITH(text_similarity_pair_sampler(similarity, index, {.top_k = 4}), Catch::Contains("'top_k'"));
        CHECK_THROWS_AS(text_similarity_pair_sampler(similarity, index, {.top_k = 9}), argument_error);
        CHECK_THROWS_AS(text_similarity_pair_sampler(similarity, index, {.top_k = -1}), argument_error);
        auto broken = s;
        broken(1, 2) = NAN;
        CHECK_THROWS_WITH(text_similarity_pair_sampler(precomputed_similarity(broken.view()), index),
                          Catch::Contains("'similarities'") && Catch::Contains("(1, 2)"));
        broken(1, 2) = -INFINITY;
        CHECK_THROWS_AS(text_similarity_pair_sampler(precomputed_similarity(broken.view()), index), argument_error);
        const tensor<float, 2> wrong({3, 3}, 0.5f);
        CHECK_THROWS_AS(text_similarity_pair_sampler(precomputed_similarity(wrong.view()), index), shape_error);
        const tensor<float, 2> rectangular({4, 3}, 0.5f);
        CHECK_THROWS_AS(precomputed_similarity(rectangular.view()), shape_error);
        tensor<float, 2> zero_row = random_embeddings(classes, 3, 1);
        for (index_t d = 0; d < 3; ++d) zero_row(2, d) = 0;
        CHECK_THROWS_WITH(
            text_similarity_pair_sampler(text_embedding_similarity(std::as_const(zero_row).view(), eigen::backend{}), index),
            Catch::Contains("'embeddings'") && Catch::Contains("class 2"));
    }
    SECTION("a class with no partner left")
    {
        const auto lonely = index_of(grouped_labels({0, 5, 0, 0}), classes);
        CHECK_THROWS_WITH(text_similarity_pair_sampler(similarity, lonely),
                          Catch::Contains("no partner left") && Catch::Contains("class 1"));
        const tensor<float, 2> single({1, 1}, 1.0f);
        const std::vector<std::int32_t> one_class = {0, 0, 0};
        CHECK_THROWS_AS(text_similarity_pair_sampler(precomputed_similarity(single.view()), index_of(one_class, 1)),
                        argument_error);
    }
    SECTION("epochs and shards")
    {
        const text_similarity_pair_sampler sampler(similarity, index);
        const philox4x32_10 generator(1);
        CHECK_THROWS_WITH(sampler.epoch(generator, -1), Catch::Contains("'epoch'"));
        CHECK_THROWS_AS(sampler.epoch(generator, 0, shard{2, 2}), index_error);
        CHECK_THROWS_AS(sampler.epoch(generator, 0, shard{-1, 2}), index_error);
        CHECK_THROWS_AS(sampler.epoch(generator, 0, shard{0, 0}), argument_error);
        CHECK_THROWS_AS(class_sampler(index).epoch(generator, 0, shard{3, 1}), index_error);
        CHECK_THROWS_AS(repeat_factor(0), argument_error);
        CHECK_THROWS_AS(repeat_factor(NAN), argument_error);
        CHECK_THROWS_AS(progressive(0), argument_error);
    }
}
