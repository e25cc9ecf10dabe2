// VL-LTR: the LGR head, the CVLP losses and the AnSS scorer against PyTorch goldens
// (tools/vlltr_reference.py, written in the reference formulation that materialises K and
// G), finite differences in double, and bad-input errors; on every backend compiled in.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "tailor/backend/eigen/backend.hpp"
#include "tailor/head/lgr.hpp"
#include "tailor/loss/contrastive.hpp"
#include "tailor/loss/cross_entropy.hpp"
#include "tailor/loss/distillation.hpp"
#include "tailor/text/anchor_sentences.hpp"
#if defined(TAILOR_HAVE_XTENSOR)
#include "tailor/backend/xtensor/backend.hpp"
using vlltr_backends = std::tuple<tailor::eigen::backend, tailor::xtensor::backend>;
#else
using vlltr_backends = std::tuple<tailor::eigen::backend>;
#endif

using tailor::index_t;
using tailor::matrix_view;
using tailor::vector_view;
using json = nlohmann::json;

namespace {

json load_vlltr_fixture(const std::string& name)
{
    const std::string path = std::string(TAILOR_FIXTURE_DIR) + "/vlltr/" + name + ".json";
    std::ifstream in(path);
    INFO("fixture " << path);
    REQUIRE(in.good());
    return json::parse(in);
}

template <class T>
std::vector<T> as_vector(const json& j)
{
    std::vector<T> out;
    for (const auto& x : j) out.push_back(static_cast<T>(x.get<double>()));
    return out;
}

/// |a - b| <= atol + rtol |b| elementwise, reporting the first offender.
template <class T>
void require_close(const std::string& what, const T* actual, const std::vector<double>& expected, double rtol, double atol)
{
    for (std::size_t i = 0; i < expected.size(); ++i) {
        const double a = double(actual[i]), e = expected[i];
        if (!(std::abs(a - e) <= atol + rtol * std::abs(e))) {
            INFO(what << "[" << i << "]: tailor " << a << ", reference " << e);
            CHECK(false);
            return;
        }
    }
    SUCCEED(what);
}

template <class T>
struct precision;
template <>
struct precision<float> {
    static constexpr double rtol = 2e-4, atol = 2e-5;
};
template <>
struct precision<double> {
    static constexpr double rtol = 1e-9, atol = 1e-11;
};

// ------------------------------------------------------------------------------ LGR

template <class T>
struct lgr_fixture {
    json j;
    index_t batch, classes, slots, dim, hidden;
    std::vector<T> images, sentences;
    std::vector<std::int32_t> counts, labels;
    tailor::head::lgr_config config;

    explicit lgr_fixture(const std::string& name) : j(load_vlltr_fixture(name))
    {
        batch = j["batch"], classes = j["classes"], slots = j["slots"], dim = j["dim"], hidden = j["hidden"];
        images = as_vector<T>(j["images"]);
        sentences = as_vector<T>(j["sentences"]);
        for (auto c : j["counts"]) counts.push_back(c.get<int>());
        for (auto c : j["labels"]) labels.push_back(c.get<int>());
        config.dim = dim;
        config.classes = classes;
        config.hidden = hidden;
    }

    matrix_view<const T> image_view() const { return matrix_view<const T>(images.data(), {batch, dim}); }

    template <class B>
    tailor::head::lgr_anchor_bank<T> bank(B& be) const
    {
        return tailor::head::lgr_anchor_bank<T>::from_padded(
            be, tailor::tensor_view<const T, 3>(sentences.data(), {classes, slots, dim}),
            vector_view<const std::int32_t>(counts.data(), {classes}));
    }

    tailor::head::lgr_head<T> head() const
    {
        std::mt19937 engine(7);
        tailor::head::lgr_head<T> h(config, engine);
        h.params.for_each([&](const char* name, vector_view<T> v) {
            const auto values = as_vector<T>(j["params"][name]);
            REQUIRE(index_t(values.size()) == v.extent(0));
            for (index_t i = 0; i < v.extent(0); ++i) v(i) = values[std::size_t(i)];
        });
        h.params.logit_scale = static_cast<T>(j["params"]["logit_scale"][0].get<double>());
        return h;
    }
};

}  // namespace

TEMPLATE_LIST_TEST_CASE("LGR head matches the PyTorch reference formulation", "[vlltr][lgr]", vlltr_backends)
{
    TestType be;
    for (const std::string name : {"lgr_ragged", "lgr_full"}) {
        SECTION(name)
        {
            auto run = [&](auto tag) {
                using T = decltype(tag);
                const lgr_fixture<T> fx(name);
                auto head = fx.head();
                const auto bank = fx.bank(be);
                tailor::head::lgr_activations<T> act;
                std::vector<T> d_images(std::size_t(fx.batch * fx.dim));
                const tailor::loss::cross_entropy ce{fx.j["label_smoothing"].template get<double>()};
                const auto value = head.loss_and_gradients(
                    be, bank, fx.image_view(), ce, vector_view<const std::int32_t>(fx.labels.data(), {fx.batch}), act,
                    matrix_view<T>(d_images.data(), {fx.batch, fx.dim}));
                const double rtol = precision<T>::rtol, atol = precision<T>::atol;
                CHECK(value.image == Approx(fx.j["image_loss"].template get<double>()).epsilon(rtol));
                CHECK(value.text == Approx(fx.j["text_loss"].template get<double>()).epsilon(rtol));
                require_close(name + " image_logits", act.image_logits.data(), as_vector<double>(fx.j["image_logits"]), rtol, atol);
                require_close(name + " text_logits", act.text_logits.data(), as_vector<double>(fx.j["text_logits"]), rtol, atol);
                head.grads.for_each([&](const char* pname, vector_view<T> g) {
                    require_close(name + " d " + pname, g.data(), as_vector<double>(fx.j["grads"][pname]), rtol, atol);
                });
                CHECK(double(head.grads.logit_scale) ==
                      Approx(fx.j["grads"]["logit_scale"][0].template get<double>()).epsilon(rtol).margin(atol));
                require_close(name + " d_images", d_images.data(), as_vector<double>(fx.j["d_images"]), rtol, atol);

                std::vector<T> fused(std::size_t(fx.batch * fx.classes)), summed(fused.size());
                tailor::head::fuse_probabilities<T>(be, act.image_logits.view(), act.text_logits.view(),
                                                    T(fx.j["alpha"].template get<double>()),
                                                    matrix_view<T>(fused.data(), {fx.batch, fx.classes}));
                require_close(name + " fused", fused.data(), as_vector<double>(fx.j["fused_probabilities"]), rtol, atol);
                tailor::head::fuse_logits<T>(be, act.image_logits.view(), act.text_logits.view(),
                                             matrix_view<T>(summed.data(), {fx.batch, fx.classes}));
                CHECK(summed[3] == Approx(act.image_logits.data()[3] + act.text_logits.data()[3]));
            };
            run(float{});
            run(double{});
        }
    }
}

TEMPLATE_LIST_TEST_CASE("LGR gradients agree with finite differences in double", "[vlltr][lgr]", vlltr_backends)
{
    TestType be;
    const lgr_fixture<double> fx("lgr_ragged");
    auto head = fx.head();
    const auto bank = fx.bank(be);
    tailor::head::lgr_activations<double> act;
    std::vector<double> images = fx.images;
    const matrix_view<const double> image_view(images.data(), {fx.batch, fx.dim});
    const auto labels = vector_view<const std::int32_t>(fx.labels.data(), {fx.batch});
    const tailor::loss::cross_entropy ce{};
    std::vector<double> d_images(images.size());
    head.loss_and_gradients(be, bank, image_view, ce, labels, act, matrix_view<double>(d_images.data(), {fx.batch, fx.dim}));
    const auto analytic = head.grads;

    auto loss_now = [&] {
        tailor::head::lgr_activations<double> scratch;
        return head.loss_and_gradients(be, bank, image_view, ce, labels, scratch).total;
    };
    auto central = [&](double& x) {
        const double h = 1e-6, saved = x;
        x = saved + h;
        const double up = loss_now();
        x = saved - h;
        const double down = loss_now();
        x = saved;
        return (up - down) / (2 * h);
    };
    auto& p = head.params;
    auto& g = const_cast<tailor::head::lgr_parameters<double>&>(analytic);
    // A sample of entries from every parameter, plus the images.
    const std::vector<std::tuple<std::string, double*, double*>> probes = {
        {"query_weight", &p.query_weight(1, 2), &g.query_weight(1, 2)},
        {"query_weight", &p.query_weight(5, 0), &g.query_weight(5, 0)},
        {"key_weight", &p.key_weight(0, 3), &g.key_weight(0, 3)},
        {"key_weight", &p.key_weight(7, 7), &g.key_weight(7, 7)},
        {"query_norm_weight", &p.query_norm_weight(4), &g.query_norm_weight(4)},
        {"query_norm_bias", &p.query_norm_bias(2), &g.query_norm_bias(2)},
        {"key_norm_weight", &p.key_norm_weight(6), &g.key_norm_weight(6)},
        {"key_norm_bias", &p.key_norm_bias(1), &g.key_norm_bias(1)},
        {"hidden_weight", &p.hidden_weight(3, 5), &g.hidden_weight(3, 5)},
        {"hidden_bias", &p.hidden_bias(9), &g.hidden_bias(9)},
        {"output_weight", &p.output_weight(2, 11), &g.output_weight(2, 11)},
        {"output_bias", &p.output_bias(1), &g.output_bias(1)},
        {"logit_scale", &p.logit_scale, &g.logit_scale},
        {"images", &images[3], &d_images[3]},
        {"images", &images[17], &d_images[17]},
    };
    for (const auto& [name, param, grad] : probes) {
        INFO(name);
        CHECK(*grad == Approx(central(*param)).epsilon(1e-6).margin(1e-8));
    }
}

TEMPLATE_LIST_TEST_CASE("LGR bank: padded and packed forms agree, bad input is refused", "[vlltr][lgr]", vlltr_backends)
{
    TestType be;
    const lgr_fixture<double> fx("lgr_ragged");
    const auto padded = fx.bank(be);
    std::vector<double> packed;
    std::vector<std::int64_t> offsets{0};
    for (index_t c = 0; c < fx.classes; ++c) {
        for (index_t m = 0; m < fx.counts[std::size_t(c)]; ++m)
            for (index_t j = 0; j < fx.dim; ++j) packed.push_back(fx.sentences[std::size_t((c * fx.slots + m) * fx.dim + j)]);
        offsets.push_back(offsets.back() + fx.counts[std::size_t(c)]);
    }
    const auto from_packed = tailor::head::lgr_anchor_bank<double>::from_packed(
        be, matrix_view<const double>(packed.data(), {offsets.back(), fx.dim}),
        vector_view<const std::int64_t>(offsets.data(), {fx.classes + 1}), fx.slots);
    for (index_t i = 0; i < fx.classes * fx.slots; ++i)
        for (index_t j = 0; j < fx.dim; ++j) REQUIRE(from_packed.normalised()(i, j) == padded.normalised()(i, j));

    const tailor::tensor_view<const double, 3> sentences(fx.sentences.data(), {fx.classes, fx.slots, fx.dim});
    std::vector<std::int32_t> bad_counts = fx.counts;
    bad_counts[1] = 0;
    CHECK_THROWS_AS(tailor::head::lgr_anchor_bank<double>::from_padded(
                        be, sentences, vector_view<const std::int32_t>(bad_counts.data(), {fx.classes})),
                    tailor::index_error);
    bad_counts[1] = int(fx.slots) + 1;
    CHECK_THROWS_AS(tailor::head::lgr_anchor_bank<double>::from_padded(
                        be, sentences, vector_view<const std::int32_t>(bad_counts.data(), {fx.classes})),
                    tailor::index_error);
    CHECK_THROWS_AS(tailor::head::lgr_anchor_bank<double>::from_padded(
                        be, sentences, vector_view<const std::int32_t>(bad_counts.data(), {fx.classes - 1})),
                    tailor::shape_error);

    auto head = fx.head();
    tailor::head::lgr_activations<double> act;
    std::vector<double> wide(std::size_t(fx.batch * (fx.dim + 1)));
    CHECK_THROWS_WITH(head.forward(be, padded, matrix_view<const double>(wide.data(), {fx.batch, fx.dim + 1}), act),
                      Catch::Contains("images"));
    std::vector<double> images = fx.images;
    images[2] = std::nan("");
    CHECK_THROWS_AS(head.forward(be, padded, matrix_view<const double>(images.data(), {fx.batch, fx.dim}), act),
                    tailor::argument_error);
    std::vector<std::int32_t> labels = fx.labels;
    labels[0] = int(fx.classes);
    CHECK_THROWS_AS(head.loss_and_gradients(be, padded, fx.image_view(), tailor::loss::cross_entropy{},
                                            vector_view<const std::int32_t>(labels.data(), {fx.batch}), act),
                    tailor::index_error);
    std::vector<double> out(std::size_t(fx.batch * fx.classes));
    head.forward(be, padded, fx.image_view(), act);
    CHECK_THROWS_WITH(tailor::head::fuse_probabilities<double>(be, act.image_logits.view(), act.text_logits.view(), 1.5,
                                                               matrix_view<double>(out.data(), {fx.batch, fx.classes})),
                      Catch::Contains("alpha"));
    tailor::head::lgr_config bad = fx.config;
    bad.dim = 0;
    std::mt19937 engine(1);
    CHECK_THROWS_WITH((tailor::head::lgr_head<double>(bad, engine)), Catch::Contains("config.dim"));
}

// ------------------------------------------------------------------------------ CVLP losses

namespace {

template <class T>
struct cvlp_fixture {
    json j;
    index_t ni, nt, dim;
    std::vector<T> images, texts, teacher;
    std::vector<std::int32_t> image_labels, text_labels;

    explicit cvlp_fixture(const std::string& name) : j(load_vlltr_fixture(name))
    {
        ni = j["n_images"], nt = j["n_texts"], dim = j["dim"];
        images = as_vector<T>(j["images"]);
        texts = as_vector<T>(j["texts"]);
        teacher = as_vector<T>(j["teacher"]);
        for (auto c : j["image_labels"]) image_labels.push_back(c.get<int>());
        for (auto c : j["text_labels"]) text_labels.push_back(c.get<int>());
    }

    tailor::loss::contrastive_batch<T> batch() const
    {
        tailor::loss::contrastive_batch<T> b;
        b.images = matrix_view<const T>(images.data(), {ni, dim});
        b.texts = matrix_view<const T>(texts.data(), {nt, dim});
        b.image_labels = vector_view<const std::int32_t>(image_labels.data(), {ni});
        b.text_labels = vector_view<const std::int32_t>(text_labels.data(), {nt});
        b.image_begin = j["image_slice"][0], b.image_end = j["image_slice"][1];
        b.text_begin = j["text_slice"][0], b.text_end = j["text_slice"][1];
        return b;
    }
    matrix_view<const T> teacher_view() const
    {
        return teacher.empty() ? matrix_view<const T>{} : matrix_view<const T>(teacher.data(), {ni, nt});
    }
};

}  // namespace

TEMPLATE_LIST_TEST_CASE("CVLP losses match the PyTorch reference", "[vlltr][cvlp]", vlltr_backends)
{
    TestType be;
    for (const std::string name : {"cvlp_single", "cvlp_distill", "cvlp_rank_slice"}) {
        SECTION(name)
        {
            auto run = [&](auto tag) {
                using T = decltype(tag);
                const cvlp_fixture<T> fx(name);
                std::vector<T> di(fx.images.size()), dt(fx.texts.size());
                const T logit_scale = T(fx.j["logit_scale"].template get<double>());
                const T weight = T(fx.j["weight"].template get<double>());
                const T smoothing = T(fx.j["label_smoothing"].template get<double>());
                const auto value =
                    fx.teacher.empty()
                        ? tailor::loss::class_contrastive_loss<T>(be, fx.batch(), logit_scale, smoothing,
                                                                  matrix_view<T>(di.data(), {fx.ni, fx.dim}),
                                                                  matrix_view<T>(dt.data(), {fx.nt, fx.dim}))
                        : tailor::loss::pretraining_loss<T>(be, fx.batch(), logit_scale, fx.teacher_view(), weight,
                                                            smoothing, matrix_view<T>(di.data(), {fx.ni, fx.dim}),
                                                            matrix_view<T>(dt.data(), {fx.nt, fx.dim}));
                const double rtol = precision<T>::rtol, atol = precision<T>::atol;
                CHECK(value.value == Approx(fx.j["value"].template get<double>()).epsilon(rtol));
                CHECK(value.contrastive == Approx(fx.j["ccl"].template get<double>()).epsilon(rtol));
                CHECK(value.distillation == Approx(fx.j["dis"].template get<double>()).epsilon(rtol).margin(atol));
                CHECK(value.d_logit_scale == Approx(fx.j["d_logit_scale"].template get<double>()).epsilon(rtol).margin(atol));
                require_close(name + " d_images", di.data(), as_vector<double>(fx.j["d_images"]), rtol, atol);
                require_close(name + " d_texts", dt.data(), as_vector<double>(fx.j["d_texts"]), rtol, atol);
            };
            run(float{});
            run(double{});
        }
    }
}

TEMPLATE_LIST_TEST_CASE("CVLP gradients agree with finite differences; bad input is refused", "[vlltr][cvlp]",
                        vlltr_backends)
{
    TestType be;
    cvlp_fixture<double> fx("cvlp_rank_slice");
    std::vector<double> di(fx.images.size()), dt(fx.texts.size());
    double logit_scale = fx.j["logit_scale"].get<double>();
    auto evaluate = [&](bool distill_only) {
        const auto b = fx.batch();
        const matrix_view<double> gi(di.data(), {fx.ni, fx.dim}), gt(dt.data(), {fx.nt, fx.dim});
        return distill_only ? tailor::loss::distillation_loss<double>(be, b, logit_scale, fx.teacher_view(), gi, gt)
                            : tailor::loss::pretraining_loss<double>(be, b, logit_scale, fx.teacher_view(), 0.3, 0.1, gi, gt);
    };
    for (const bool distill_only : {false, true}) {
        INFO("distillation only: " << distill_only);
        const auto analytic = evaluate(distill_only);
        const auto saved_di = di, saved_dt = dt;
        auto central = [&](double& x) {
            const double h = 1e-6, saved = x;
            x = saved + h;
            const double up = evaluate(distill_only).value;
            x = saved - h;
            const double down = evaluate(distill_only).value;
            x = saved;
            return (up - down) / (2 * h);
        };
        CHECK(analytic.d_logit_scale == Approx(central(logit_scale)).epsilon(1e-6).margin(1e-9));
        for (std::size_t k : {0u, 7u, 29u, 47u}) {
            CHECK(saved_di[k] == Approx(central(fx.images[k])).epsilon(1e-6).margin(1e-9));
            CHECK(saved_dt[k] == Approx(central(fx.texts[k])).epsilon(1e-6).margin(1e-9));
        }
        if (distill_only) CHECK(analytic.value == Approx(analytic.distillation));
    }

    const matrix_view<double> gi(di.data(), {fx.ni, fx.dim}), gt(dt.data(), {fx.nt, fx.dim});
    auto b = fx.batch();
    CHECK_THROWS_WITH(tailor::loss::class_contrastive_loss<double>(be, b, 1.0, 1.5, gi, gt), Catch::Contains("label_smoothing"));
    CHECK_THROWS_WITH(tailor::loss::pretraining_loss<double>(be, b, 1.0, matrix_view<const double>{}, 0.5, 0.0, gi, gt),
                      Catch::Contains("teacher"));
    b.image_end = fx.ni + 1;
    CHECK_THROWS_AS(tailor::loss::class_contrastive_loss<double>(be, b, 1.0, 0.0, gi, gt), tailor::index_error);
    b = fx.batch();
    std::vector<std::int32_t> lonely = fx.image_labels;
    lonely[5] = 9;  // no sentence of class 9
    b.image_labels = vector_view<const std::int32_t>(lonely.data(), {fx.ni});
    CHECK_THROWS_WITH(tailor::loss::class_contrastive_loss<double>(be, b, 1.0, 0.0, gi, gt), Catch::Contains("positive"));
    b = fx.batch();
    CHECK_THROWS_AS(tailor::loss::class_contrastive_loss<double>(be, b, 1.0, 0.0, gi.slice(0, 0, 2), gt), tailor::shape_error);
}

// ------------------------------------------------------------------------------ AnSS

TEMPLATE_LIST_TEST_CASE("AnSS scores and selections match the PyTorch reference", "[vlltr][anss]", vlltr_backends)
{
    TestType be;
    const json j = load_vlltr_fixture("anss_small");
    auto run = [&](auto tag, index_t chunk) {
        using T = decltype(tag);
        const auto sentences = as_vector<T>(j["sentences"]);
        const auto images = as_vector<T>(j["images"]);
        std::vector<std::int64_t> offsets;
        for (auto o : j["offsets"]) offsets.push_back(o.get<std::int64_t>());
        std::vector<std::int32_t> labels;
        for (auto l : j["image_labels"]) labels.push_back(l.get<int>());
        const index_t d = j["dim"], s = offsets.back(), n = index_t(labels.size()), c = index_t(offsets.size()) - 1;
        tailor::text::anchor_selection_options options;
        options.scale = j["scale"].get<double>();
        options.keep = j["keep"].get<index_t>();
        options.chunk = chunk;
        const auto selection = tailor::text::select_anchor_sentences<T>(
            be, matrix_view<const T>(sentences.data(), {s, d}), vector_view<const std::int64_t>(offsets.data(), {c + 1}),
            matrix_view<const T>(images.data(), {n, d}), vector_view<const std::int32_t>(labels.data(), {n}), options);
        require_close("anss scores", selection.scores.data(), as_vector<double>(j["scores"]), 20 * precision<T>::rtol,
                      precision<T>::atol);
        for (index_t k = 0; k < c; ++k) {
            const auto& kept = j["kept"][std::size_t(k)];
            REQUIRE(selection.counts[std::size_t(k)] == int(kept.size()));
            for (std::size_t m = 0; m < kept.size(); ++m) CHECK(selection.at(k, index_t(m)) == kept[m].get<std::int64_t>());
            for (index_t m = index_t(kept.size()); m < options.keep; ++m) CHECK(selection.at(k, m) == -1);
        }

        // Capping at K images per class equals scoring against the capped batch.
        options.max_images_per_class = 2;
        const auto capped = tailor::text::select_anchor_sentences<T>(
            be, matrix_view<const T>(sentences.data(), {s, d}), vector_view<const std::int64_t>(offsets.data(), {c + 1}),
            matrix_view<const T>(images.data(), {n, d}), vector_view<const std::int32_t>(labels.data(), {n}), options);
        std::vector<T> small_images;
        std::vector<std::int32_t> small_labels;
        std::vector<int> seen(std::size_t(c), 0);
        for (index_t i = 0; i < n; ++i)
            if (seen[std::size_t(labels[std::size_t(i)])]++ < 2) {
                small_labels.push_back(labels[std::size_t(i)]);
                for (index_t q = 0; q < d; ++q) small_images.push_back(images[std::size_t(i * d + q)]);
            }
        options.max_images_per_class = 50;
        const index_t ns = index_t(small_labels.size());
        const auto reference = tailor::text::select_anchor_sentences<T>(
            be, matrix_view<const T>(sentences.data(), {s, d}), vector_view<const std::int64_t>(offsets.data(), {c + 1}),
            matrix_view<const T>(small_images.data(), {ns, d}), vector_view<const std::int32_t>(small_labels.data(), {ns}),
            options);
        for (index_t k = 0; k < s; ++k) CHECK(capped.scores[std::size_t(k)] == Approx(reference.scores[std::size_t(k)]));

        // The LGR bank takes the selection directly.
        std::vector<T> padded(std::size_t(c * options.keep * d));
        tailor::text::gather_selected_sentences<T>(selection, matrix_view<const T>(sentences.data(), {s, d}),
                                                   tailor::tensor_view<T, 3>(padded.data(), {c, options.keep, d}));
        const auto first = selection.at(0, 0);
        CHECK(padded[0] == sentences[std::size_t(first * d)]);

        std::vector<std::int32_t> bad = labels;
        bad[0] = int(c);
        CHECK_THROWS_AS(tailor::text::select_anchor_sentences<T>(
                            be, matrix_view<const T>(sentences.data(), {s, d}),
                            vector_view<const std::int64_t>(offsets.data(), {c + 1}),
                            matrix_view<const T>(images.data(), {n, d}), vector_view<const std::int32_t>(bad.data(), {n}),
                            options),
                        tailor::index_error);
        std::vector<std::int32_t> missing = labels;
        for (auto& l : missing)
            if (l == 1) l = 0;
        CHECK_THROWS_WITH(tailor::text::select_anchor_sentences<T>(
                              be, matrix_view<const T>(sentences.data(), {s, d}),
                              vector_view<const std::int64_t>(offsets.data(), {c + 1}),
                              matrix_view<const T>(images.data(), {n, d}),
                              vector_view<const std::int32_t>(missing.data(), {n}), options),
                          Catch::Contains("class 1"));
    };
    for (index_t chunk : {1, 3, 256}) {
        run(float{}, chunk);
        run(double{}, chunk);
    }
}
