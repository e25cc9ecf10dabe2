// What training a head needs: the metrics and optim rooms (accuracy, shot groups under both
// conventions, optimisers against torch.optim trajectories from tools/optim_reference.py)
// and the cosine text-classifier head, its gradients checked by finite differences.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <vector>

#include "tailor/backend/eigen/backend.hpp"
#include "tailor/head/cosine_head.hpp"
#include "tailor/metrics.hpp"
#include "tailor/optim.hpp"

using tailor::index_t;

TEST_CASE("confusion matrix, per-class and top-k accuracy", "[metrics]")
{
    const std::int32_t truth[] = {0, 0, 1, 1, 1, 2};
    const std::int32_t pred[] = {0, 1, 1, 1, 0, 2};
    auto t = tailor::make_view(truth, 6);
    auto p = tailor::make_view(pred, 6);
    const auto cm = tailor::metrics::confusion_matrix<std::int32_t>(p, t, 4);
    REQUIRE(cm(0, 0) == 1);
    REQUIRE(cm(0, 1) == 1);
    REQUIRE(cm(1, 0) == 1);
    REQUIRE(cm(1, 1) == 2);
    REQUIRE(cm(2, 2) == 1);
    const auto acc = tailor::metrics::per_class_accuracy<std::int32_t>(p, t, 4);
    REQUIRE(acc.accuracy(0) == 0.5);
    REQUIRE(acc.accuracy(1) == Approx(2.0 / 3.0));
    REQUIRE(acc.accuracy(2) == 1.0);
    REQUIRE(std::isnan(acc.accuracy(3)));  // no test sample

    const float scores[] = {0.1f, 0.5f, 0.4f,   // truth 2 ranks second
                            0.9f, 0.05f, 0.05f,  // truth 0 first
                            0.3f, 0.3f, 0.4f};   // truth 1 tied second: only one class is higher
    const std::int32_t labels[] = {2, 0, 1};
    auto s = tailor::make_view(scores, 3, 3);
    auto l = tailor::make_view(labels, 3);
    REQUIRE(tailor::metrics::top_k_accuracy<float, std::int32_t>(s, l, 1) == Approx(1.0 / 3.0));
    REQUIRE(tailor::metrics::top_k_accuracy<float, std::int32_t>(s, l, 2) == 1.0);
    std::int32_t argmax[3];
    tailor::metrics::argmax_rows<float>(s, tailor::make_view(argmax, 3));
    REQUIRE((argmax[0] == 1 && argmax[1] == 0 && argmax[2] == 2));

    REQUIRE_THROWS_AS((tailor::metrics::top_k_accuracy<float, std::int32_t>(s, l, 4)), tailor::argument_error);
    const std::int32_t bad[] = {0, 5, 1, 1, 0, 2};
    REQUIRE_THROWS_AS(tailor::metrics::per_class_accuracy<std::int32_t>(tailor::make_view(bad, 6), t, 4),
                      tailor::index_error);
}

TEST_CASE("shot groups follow the chosen convention, and empty groups give NaN", "[metrics]")
{
    using namespace tailor::metrics;
    // Training counts chosen on the boundaries the two conventions disagree about.
    const std::int64_t counts[] = {100, 20, 101, 19, 50, 7};
    // Class c has (c + 1) test samples, of which the first c are right.
    std::vector<std::int32_t> truth, pred;
    for (std::int32_t c = 0; c < 6; ++c)
        for (std::int32_t k = 0; k <= c; ++k) {
            truth.push_back(c);
            pred.push_back(k < c ? c : (c + 1) % 6);
        }
    const auto n = static_cast<index_t>(truth.size());
    const auto per_class =
        per_class_accuracy<std::int32_t>(tailor::make_view(pred.data(), n), tailor::make_view(truth.data(), n), 6);
    auto tc = tailor::make_view(counts, 6);

    REQUIRE(paper_convention.group_of(100) == shot_group::medium);
    REQUIRE(pooled_inclusive_convention.group_of(100) == shot_group::many);
    REQUIRE(paper_convention.group_of(20) == shot_group::medium);
    REQUIRE(pooled_inclusive_convention.group_of(20) == shot_group::few);

    const auto paper = shot_accuracy<std::int64_t>(per_class, tc, paper_convention);
    // many: class 2 (101) acc 2/3; medium: classes 0 (0/1), 1 (1/2), 4 (4/5); few: 3 (3/4), 5 (5/6)
    REQUIRE(paper[shot_group::many].accuracy == Approx(2.0 / 3.0));
    REQUIRE(paper[shot_group::medium].accuracy == Approx((0.0 + 0.5 + 0.8) / 3.0));
    REQUIRE(paper[shot_group::few].accuracy == Approx((0.75 + 5.0 / 6.0) / 2.0));
    REQUIRE(paper[shot_group::medium].classes == 3);
    const auto pooled = shot_accuracy<std::int64_t>(per_class, tc, pooled_inclusive_convention);
    // many: classes 0, 2 -> (0 + 2) / (1 + 3); few: 1, 3, 5 -> (1 + 3 + 5) / (2 + 4 + 6); medium: 4
    REQUIRE(pooled[shot_group::many].accuracy == Approx(2.0 / 4.0));
    REQUIRE(pooled[shot_group::few].accuracy == Approx(9.0 / 12.0));
    REQUIRE(pooled[shot_group::medium].accuracy == Approx(4.0 / 5.0));
    REQUIRE(pooled.overall.accuracy == Approx(15.0 / 21.0));

    const std::int64_t all_few[] = {1, 2, 3, 4, 5, 6};
    const auto skewed = shot_accuracy<std::int64_t>(per_class, tailor::make_view(all_few, 6), paper_convention);
    REQUIRE(skewed[shot_group::many].empty());
    REQUIRE(std::isnan(skewed[shot_group::many].accuracy));
    REQUIRE(skewed[shot_group::few].classes == 6);
    const std::int64_t short_counts[] = {1, 2};
    REQUIRE_THROWS_AS(shot_accuracy<std::int64_t>(per_class, tailor::make_view(short_counts, 2)), tailor::shape_error);
}

namespace {

nlohmann::json load_optim_fixture()
{
    std::ifstream in(std::string(TAILOR_FIXTURE_DIR) + "/optim/optim.json");
    REQUIRE(in.good());
    return nlohmann::json::parse(in);
}

template <class Optimizer>
std::vector<double> run_trajectory(const nlohmann::json& c, auto make)
{
    std::vector<double> p = c["start"].get<std::vector<double>>();
    std::vector<double> g(p.size());
    const auto n = static_cast<index_t>(p.size());
    Optimizer opt = make(std::vector<tailor::optim::parameter<double>>{
        {tailor::make_view(p.data(), n), tailor::make_view(static_cast<const double*>(g.data()), n)}});
    for (const auto& step_grad : c["grads"]) {
        const auto gs = step_grad.get<std::vector<double>>();
        std::copy(gs.begin(), gs.end(), g.begin());
        opt.step();
    }
    return p;
}

}  // namespace

TEST_CASE("cosine schedule with warm-up matches the reference", "[optim]")
{
    const auto fx = load_optim_fixture()["schedule"];
    const tailor::optim::cosine_schedule s(fx["base"], fx["total"], fx["warmup"], fx["minimum"]);
    const auto lrs = fx["lrs"].get<std::vector<double>>();
    for (std::size_t t = 0; t < lrs.size(); ++t) REQUIRE(s(std::int64_t(t)) == Approx(lrs[t]).epsilon(1e-12));
    REQUIRE_THROWS_AS(tailor::optim::cosine_schedule(0.1, 10, 11), tailor::argument_error);
    REQUIRE_THROWS_AS(tailor::optim::cosine_schedule(0.1, 10, 0, 0.2), tailor::argument_error);
}

TEST_CASE("SGD with momentum and AdamW follow torch.optim step for step", "[optim]")
{
    using namespace tailor::optim;
    const auto fx = load_optim_fixture();
    const auto sc = fx["schedule"];
    const cosine_schedule schedule(sc["base"], sc["total"], sc["warmup"], sc["minimum"]);
    auto check = [](const std::vector<double>& got, const nlohmann::json& want) {
        const auto w = want.get<std::vector<double>>();
        REQUIRE(got.size() == w.size());
        for (std::size_t i = 0; i < w.size(); ++i) REQUIRE(got[i] == Approx(w[i]).epsilon(1e-10).margin(1e-12));
    };
    check(run_trajectory<sgd<double, cosine_schedule>>(fx["sgd"], [&](auto ps) {
              return sgd<double, cosine_schedule>(ps, sgd_momentum{0.9, 5e-4, false}, schedule);
          }),
          fx["sgd"]["final"]);
    check(run_trajectory<sgd<double, cosine_schedule>>(fx["sgd_nesterov"], [&](auto ps) {
              return sgd<double, cosine_schedule>(ps, sgd_momentum{0.8, 0.0, true}, schedule);
          }),
          fx["sgd_nesterov"]["final"]);
    check(run_trajectory<adamw_optimizer<double, cosine_schedule>>(fx["adamw"], [&](auto ps) {
              return adamw_optimizer<double, cosine_schedule>(ps, adamw{0.9, 0.99, 1e-8, 0.05}, schedule);
          }),
          fx["adamw"]["final"]);
}

TEST_CASE("optimizers reject bad hyper-parameters and mismatched gradients", "[optim]")
{
    using namespace tailor::optim;
    double p[3] = {}, g[2] = {};
    std::vector<parameter<double>> params{{tailor::make_view(p, 3), tailor::make_view(static_cast<const double*>(g), 2)}};
    REQUIRE_THROWS_AS(sgd<double>(params), tailor::shape_error);
    double g3[3] = {};
    std::vector<parameter<double>> ok{{tailor::make_view(p, 3), tailor::make_view(static_cast<const double*>(g3), 3)}};
    REQUIRE_THROWS_AS(sgd<double>(ok, sgd_momentum{1.5}), tailor::argument_error);
    REQUIRE_THROWS_AS(adamw_optimizer<double>(ok, adamw{0.9, 1.0}), tailor::argument_error);
    try {
        sgd<double>(ok, sgd_momentum{0.0, 0.0, true});
        FAIL("expected an argument_error");
    } catch (const tailor::argument_error& e) {
        REQUIRE_THAT(e.what(), Catch::Contains("'nesterov'"));
    }
}

TEST_CASE("cosine head: zero-shot logits at W = I, gradients match finite differences", "[head]")
{
    const index_t batch = 5, dim = 7, classes = 4;
    std::mt19937 rng(3);
    std::normal_distribution<double> normal(0.0, 1.0);
    tailor::matrix<double> text({classes, dim}), features({batch, dim}), upstream({batch, classes});
    for (auto& x : text) x = normal(rng);
    for (auto& x : features) x = normal(rng);
    for (auto& x : upstream) x = normal(rng);
    tailor::eigen::backend be;
    tailor::cosine_head<double> head(text.view(), 2.5);
    tailor::matrix<double> logits({batch, classes});
    tailor::cosine_head<double>::workspace ws;
    head.forward(be, features.view(), logits.view(), ws);
    for (index_t b = 0; b < batch; ++b)
        for (index_t c = 0; c < classes; ++c) {
            double dot = 0, nf = 0, nt = 0;
            for (index_t d = 0; d < dim; ++d) {
                dot += features(b, d) * text(c, d);
                nf += features(b, d) * features(b, d);
                nt += text(c, d) * text(c, d);
            }
            REQUIRE(logits(b, c) == Approx(2.5 * dot / std::sqrt(nf * nt)).epsilon(1e-12));
        }

    // A random W, then L = sum(upstream * logits): compare dL/dW and dL/dF with central differences.
    for (index_t i = 0; i < dim; ++i)
        for (index_t j = 0; j < dim; ++j) head.weight()(i, j) += 0.3 * normal(rng);
    auto objective = [&] {
        tailor::cosine_head<double>::workspace w2;
        tailor::matrix<double> z({batch, classes});
        head.forward(be, features.view(), z.view(), w2);
        double total = 0;
        for (index_t b = 0; b < batch; ++b)
            for (index_t c = 0; c < classes; ++c) total += upstream(b, c) * z(b, c);
        return total;
    };
    tailor::matrix<double> grad_w({dim, dim}), grad_f({batch, dim});
    head.forward(be, features.view(), logits.view(), ws);
    head.backward(be, features.view(), upstream.view(), ws, grad_w.view(), false, grad_f.view());
    const double h = 1e-6;
    for (index_t i = 0; i < dim; ++i)
        for (index_t j = 0; j < dim; ++j) {
            double& w = head.weight()(i, j);
            const double saved = w;
            w = saved + h;
            const double up = objective();
            w = saved - h;
            const double down = objective();
            w = saved;
            REQUIRE(grad_w(i, j) == Approx((up - down) / (2 * h)).epsilon(1e-6).margin(1e-8));
        }
    for (index_t b = 0; b < batch; ++b)
        for (index_t d = 0; d < dim; ++d) {
            const double saved = features(b, d);
            features(b, d) = saved + h;
            const double up = objective();
            features(b, d) = saved - h;
            const double down = objective();
            features(b, d) = saved;
            REQUIRE(grad_f(b, d) == Approx((up - down) / (2 * h)).epsilon(1e-6).margin(1e-8));
        }
    tailor::matrix<double> zero_text({2, dim});
    REQUIRE_THROWS_AS(tailor::cosine_head<double>(zero_text.view(), 1.0), tailor::argument_error);
    REQUIRE_THROWS_AS(tailor::cosine_head<double>(text.view(), 0.0), tailor::argument_error);
}
