// The losses on every backend compiled in: golden values and gradients from PyTorch
// autograd (tools/loss_reference.py), finite differences in double, the equivalences the
// definitions promise (pair with lambda 1 = hard label, dense one-hot = hard label, focal
// with gamma 0 = CE, ...), the reductions, layouts, NaN/Inf behaviour and the errors.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <numeric>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "tailor/backend/eigen/backend.hpp"
#include "tailor/loss.hpp"
#if defined(TAILOR_HAVE_XTENSOR)
#include "tailor/backend/xtensor/backend.hpp"
using loss_backends = std::tuple<tailor::eigen::backend, tailor::xtensor::backend>;
#else
using loss_backends = std::tuple<tailor::eigen::backend>;
#endif

#ifndef TAILOR_FIXTURE_DIR
#error "tests/CMakeLists.txt passes TAILOR_FIXTURE_DIR"
#endif

namespace loss = tailor::loss;
using json = nlohmann::json;
using tailor::index_t;
using tailor::make_view;
using tailor::matrix_view;
using tailor::vector_view;

namespace {

// ---- the documented error model -------------------------------------------------------------
// Against the float64 reference, with A_i the largest |adjusted logit| of row i (s |z| for
// LDAM, |z + M| / T for MMS, ...), W_i = sum_k t_ik w_k and f_i the reduction factor times v_i:
//   per-sample loss:  |got - ref| <= rho (|ref| + v_i W_i (1 + A_i))
//   gradient entry:   |got - ref| <= rho (1 + A_i) max(f_i s W_i, max_j |ref_ij|)
// rho is 1e-6 for float (about 8 float ulps; the exp, the row sum and the rounding of the
// adjusted logits each contribute a few) and 1e-13 for double. The worst ratios seen are
// about 1e-7 (float) and 3e-16 (double): TAILOR_LOSS_ERROR_REPORT=1 prints them.
template <class T>
constexpr double rho = std::is_same_v<T, float> ? 1e-6 : 1e-13;

json load_fixture(const std::string& name)
{
    const std::string path = std::string(TAILOR_FIXTURE_DIR) + "/losses/" + name + ".json";
    std::ifstream in(path);
    INFO("fixture " << path);
    REQUIRE(in.good());
    return json::parse(in);
}

/// Fixture numbers are float32 values; both instantiations read them through float.
template <class T>
std::vector<T> numbers(const json& array)
{
    std::vector<T> out;
    for (const auto& v : array) out.push_back(static_cast<T>(static_cast<float>(v.get<double>())));
    return out;
}

template <class T, class F>
void with_policy(const std::string& name, const json& p, F&& f)
{
    if (name == "cross_entropy") {
        f(loss::cross_entropy{p["label_smoothing"].get<double>()});
    } else if (name == "balanced_softmax") {
        f(loss::balanced_softmax<T>(p["counts"].get<std::vector<double>>()));
    } else if (name == "logit_adjustment") {
        f(loss::logit_adjustment<T>(p["counts"].get<std::vector<double>>(), p["tau"].get<double>()));
    } else if (name == "focal") {
        f(loss::focal{p["gamma"].get<double>()});
    } else if (name == "ldam") {
        f(loss::ldam<T>(p["counts"].get<std::vector<double>>(), p["max_margin"].get<double>(), p["s"].get<double>()));
    } else if (name == "mms") {
        std::vector<T> flat;
        for (const auto& row : p["embeddings"])
            for (T v : numbers<T>(row)) flat.push_back(v);
        const auto classes = static_cast<index_t>(p["embeddings"].size());
        f(loss::mms<T>(make_view<const T>(flat.data(), classes, index_t(flat.size()) / classes),
                       p["lambda"].get<double>(), p["temperature"].get<double>()));
    } else if (name == "equalization") {
        f(loss::equalization<T>(p["counts"].get<std::vector<double>>(), p["lambda"].get<double>(),
                                p["beta"].get<double>()));
    } else {
        FAIL("unknown loss " << name);
    }
}

loss::reduction reduction_named(const std::string& name)
{
    if (name == "none") return loss::reduction::none;
    if (name == "sum") return loss::reduction::sum;
    if (name == "mean") return loss::reduction::mean;
    REQUIRE(name == "weighted_mean");
    return loss::reduction::weighted_mean;
}

/// A target of any of the three kinds, owning its storage.
template <class T>
struct stored_target {
    std::string kind;
    index_t batch = 0, classes = 0;
    std::vector<std::int32_t> first, second;
    std::vector<T> lambda, probabilities;

    static stored_target from_json(const json& t, index_t batch, index_t classes)
    {
        stored_target s;
        s.kind = t["kind"].get<std::string>();
        s.batch = batch;
        s.classes = classes;
        if (s.kind == "hard") {
            s.first = t["labels"].get<std::vector<std::int32_t>>();
        } else if (s.kind == "pair") {
            s.first = t["first"].get<std::vector<std::int32_t>>();
            s.second = t["second"].get<std::vector<std::int32_t>>();
            s.lambda = numbers<T>(t["lambda"]);
        } else {
            s.probabilities = numbers<T>(t["probabilities"]);
        }
        return s;
    }

    /// The per-class shares t_ik as a dense row-major matrix.
    std::vector<double> dense() const
    {
        std::vector<double> t(std::size_t(batch * classes), 0.0);
        for (index_t i = 0; i < batch; ++i) {
            const auto at = [&](index_t k) -> double& { return t[std::size_t(i * classes + k)]; };
            if (kind == "hard") {
                at(first[std::size_t(i)]) = 1;
            } else if (kind == "pair") {
                at(first[std::size_t(i)]) += lambda[std::size_t(i)];
                at(second[std::size_t(i)]) += 1.0 - double(lambda[std::size_t(i)]);
            } else {
                for (index_t k = 0; k < classes; ++k) at(k) = probabilities[std::size_t(i * classes + k)];
            }
        }
        return t;
    }

    template <class F>
    decltype(auto) visit(F&& f) const
    {
        if (kind == "hard") return f(tailor::hard_targets<std::int32_t>{make_view(first.data(), batch)});
        if (kind == "pair")
            return f(tailor::pair_targets<T, std::int32_t>{make_view(first.data(), batch), make_view(second.data(), batch),
                                                          make_view(lambda.data(), batch)});
        return f(tailor::dense_targets<T>{make_view(probabilities.data(), batch, classes)});
    }
};

template <class T>
struct outputs {
    T value;
    std::vector<T> per_sample, grad;
};

/// Runs the driver into fresh buffers, or into `reuse`'s: Eigen's vectorised reductions
/// peel to the buffer's alignment, so bitwise comparisons need the same addresses.
template <class T, class Backend, class Policy, class Targets>
outputs<T> evaluate(Backend& be, const Policy& policy, const std::vector<T>& logits, index_t batch, index_t classes,
                    const Targets& targets, const loss::loss_options<T>& options = {}, outputs<T>* reuse = nullptr)
{
    outputs<T> fresh;
    outputs<T>& out = reuse ? *reuse : fresh;
    out.per_sample.assign(std::size_t(batch), T(-1));
    out.grad.assign(std::size_t(batch * classes), T(-1));
    out.value = loss::value_and_gradient(be, policy, make_view(logits.data(), batch, classes), targets,
                                         make_view(out.grad.data(), batch, classes), options,
                                         make_view(out.per_sample.data(), batch));
    return out;
}

/// The largest |error| / (tolerance / rho) seen per loss and type: set TAILOR_LOSS_ERROR_REPORT
/// to print it, which is how rho was chosen.
std::map<std::string, double>& observed_error()
{
    static std::map<std::string, double> worst;
    return worst;
}

bool within(double got, double want, double tolerance)
{
    if (std::isnan(want)) return std::isnan(got);
    if (std::isinf(want)) return got == want;
    return std::fabs(got - want) <= tolerance;
}

/// Runs one fixture case in T and checks it against the reference with the error model.
template <class T, class Backend>
void check_case(Backend& be, const std::string& name, const json& c)
{
    const auto batch = c["batch"].get<index_t>(), classes = c["classes"].get<index_t>();
    const auto logits = numbers<T>(c["logits"]);
    const auto target = stored_target<T>::from_json(c["target"], batch, classes);
    std::vector<T> class_weights, sample_weights;
    loss::loss_options<T> options;
    options.reduce = reduction_named(c["reduction"].get<std::string>());
    if (!c["class_weights"].is_null()) {
        class_weights = numbers<T>(c["class_weights"]);
        options.class_weights = make_view<const T>(class_weights.data(), classes);
    }
    if (!c["sample_weights"].is_null()) {
        sample_weights = numbers<T>(c["sample_weights"]);
        options.sample_weights = make_view<const T>(sample_weights.data(), batch);
    }
    outputs<T> got;
    with_policy<T>(name, c["params"], [&](const auto& policy) {
        got = target.visit([&](const auto& targets) { return evaluate(be, policy, logits, batch, classes, targets, options); });
    });

    // per-sample weights W_i, v_i and the reduction factor, for the error model
    const auto t = target.dense();
    std::vector<double> mass(static_cast<std::size_t>(batch)), v(static_cast<std::size_t>(batch), 1.0);
    double total_weight = 0;
    for (index_t i = 0; i < batch; ++i) {
        for (index_t k = 0; k < classes; ++k)
            mass[std::size_t(i)] += t[std::size_t(i * classes + k)] * (class_weights.empty() ? 1.0 : class_weights[std::size_t(k)]);
        if (!sample_weights.empty()) v[std::size_t(i)] = sample_weights[std::size_t(i)];
        total_weight += v[std::size_t(i)] * mass[std::size_t(i)];
    }
    if (name == "cross_entropy")  // smoothing spreads eps of the mass uniformly: bound by the larger
        for (index_t i = 0; i < batch; ++i) {
            double sum_w = 0;
            for (index_t k = 0; k < classes; ++k) sum_w += class_weights.empty() ? 1.0 : class_weights[std::size_t(k)];
            mass[std::size_t(i)] = std::max(mass[std::size_t(i)], sum_w / double(classes));
        }
    const double factor = options.reduce == loss::reduction::mean            ? 1.0 / double(batch)
                          : options.reduce == loss::reduction::weighted_mean ? 1.0 / total_weight
                                                                             : 1.0;
    const double slope = c["slope"].get<double>();
    const double r = rho<T>;

    INFO(name << ": " << c["name"].get<std::string>() << " in " << (std::is_same_v<T, float> ? "float" : "double"));
    double value_scale = std::fabs(c["value"].get<double>());
    for (index_t i = 0; i < batch; ++i) {
        const double magnitude = c["magnitude"][std::size_t(i)].get<double>();
        const double want = c["per_sample"][std::size_t(i)].get<double>();
        const double tolerance = r * (std::fabs(want) + v[std::size_t(i)] * mass[std::size_t(i)] * (1 + magnitude));
        value_scale += factor * (std::fabs(want) + v[std::size_t(i)] * mass[std::size_t(i)] * (1 + magnitude));
        auto& worst = observed_error()[name + (std::is_same_v<T, float> ? " float" : " double")];
        if (std::isfinite(want)) worst = std::max(worst, std::fabs(got.per_sample[std::size_t(i)] - want) / tolerance * r);
        INFO("sample " << i << " got " << got.per_sample[std::size_t(i)] << " want " << want);
        CHECK(within(got.per_sample[std::size_t(i)], want, tolerance));
        double row_scale = factor * v[std::size_t(i)] * slope * mass[std::size_t(i)];
        for (index_t j = 0; j < classes; ++j)
            row_scale = std::max(row_scale, std::fabs(c["grad"][std::size_t(i * classes + j)].get<double>()));
        for (index_t j = 0; j < classes; ++j) {
            const double g = c["grad"][std::size_t(i * classes + j)].get<double>();
            if (std::isfinite(g))
                worst = std::max(worst, std::fabs(got.grad[std::size_t(i * classes + j)] - g) / ((1 + magnitude) * row_scale));
            INFO("grad(" << i << ", " << j << ") got " << got.grad[std::size_t(i * classes + j)] << " want " << g);
            CHECK(within(got.grad[std::size_t(i * classes + j)], g, r * (1 + magnitude) * row_scale));
        }
    }
    INFO("value got " << got.value << " want " << c["value"].get<double>());
    CHECK(within(got.value, c["value"].get<double>(), r * value_scale));
}

const char* const fixture_losses[] = {"cross_entropy", "balanced_softmax", "logit_adjustment", "focal",
                                      "ldam",          "mms",              "equalization"};

std::vector<float> random_values(std::size_t n, unsigned seed, double spread = 2.0)
{
    std::mt19937 rng(seed);
    std::normal_distribution<double> normal(0.0, spread);
    std::vector<float> v(n);
    for (auto& x : v) x = static_cast<float>(normal(rng));
    return v;
}

template <class T>
std::vector<T> cast(const std::vector<float>& v)
{
    return std::vector<T>(v.begin(), v.end());
}

const std::vector<int> test_counts = {120, 60, 33, 9, 4, 2, 1};  // C = 7, long-tailed

/// Every loss with parameters suited to a check, built for T, handed to f(name, policy).
template <class T, class F>
void for_each_policy(F&& f, bool gentle = false)
{
    std::vector<T> embeddings = cast<T>(random_values(7 * 5, 99, 1.0));
    const auto e = make_view<const T>(embeddings.data(), 7, 5);
    f("cross_entropy", loss::cross_entropy{});
    f("cross_entropy smoothed", loss::cross_entropy{0.1});
    f("balanced_softmax", loss::balanced_softmax<T>(test_counts));
    f("logit_adjustment", loss::logit_adjustment<T>(test_counts, 1.5));
    f("focal gamma 2", loss::focal{2.0});
    f("focal gamma 0.5", loss::focal{0.5});
    f("ldam", gentle ? loss::ldam<T>(test_counts, 0.5, 4.0) : loss::ldam<T>(test_counts));
    f("mms", gentle ? loss::mms<T>(e, 0.3, 0.2) : loss::mms<T>(e));
    f("equalization beta 1", loss::equalization<T>(test_counts, 0.05, 1.0));
    f("equalization beta 0.6", loss::equalization<T>(test_counts, 0.05, 0.6));
}

/// Targets for B = 4, C = 7 of every kind.
template <class T>
struct batch_targets {
    static constexpr index_t batch = 4, classes = 7;
    std::vector<std::int32_t> labels = {0, 6, 3, 3}, first = {0, 6, 3, 5}, second = {2, 1, 3, 0};
    std::vector<T> lambda = {T(0.7), T(0.25), T(0.4), T(1)};
    std::vector<T> probabilities = []() {
        std::vector<T> p(batch * classes, T(0));
        p[0 * classes + 0] = T(0.6);
        p[0 * classes + 4] = T(0.4);
        for (index_t k = 0; k < classes; ++k) p[std::size_t(1 * classes + k)] = T(1) / T(classes);
        p[2 * classes + 5] = T(1);
        p[3 * classes + 1] = T(0.2);
        p[3 * classes + 2] = T(0.3);
        p[3 * classes + 6] = T(0.5);
        return p;
    }();

    tailor::hard_targets<std::int32_t> hard() const { return {make_view(labels.data(), batch)}; }
    tailor::pair_targets<T, std::int32_t> pair() const
    {
        return {make_view(first.data(), batch), make_view(second.data(), batch), make_view(lambda.data(), batch)};
    }
    tailor::dense_targets<T> dense() const { return {make_view(probabilities.data(), batch, classes)}; }
};

}  // namespace

// ---- golden values from PyTorch ------------------------------------------------------------

TEMPLATE_LIST_TEST_CASE("losses match PyTorch autograd goldens in float and double", "[loss][golden]", loss_backends)
{
    TestType be;
    for (const char* name : fixture_losses) {
        const json fixture = load_fixture(name);
        REQUIRE(fixture["cases"].size() >= 10);
        for (const auto& c : fixture["cases"]) {
            check_case<float>(be, name, c);
            check_case<double>(be, name, c);
        }
    }
    if (std::getenv("TAILOR_LOSS_ERROR_REPORT"))
        for (const auto& [what, worst] : observed_error()) std::cout << what << ": error / scale " << worst << "\n";
}

// ---- finite differences ---------------------------------------------------------------------

TEMPLATE_LIST_TEST_CASE("gradients match central finite differences in double", "[loss][gradient]", loss_backends)
{
    TestType be;
    using T = double;
    const batch_targets<T> targets;
    const index_t batch = targets.batch, classes = targets.classes;
    const auto logits = cast<T>(random_values(std::size_t(batch * classes), 5));
    std::vector<T> class_weights = {1.5, 0.5, 1.0, 2.0, 0.25, 1.0, 3.0}, sample_weights = {1.0, 0.5, 2.0, 1.25};
    for (auto reduce : {loss::reduction::mean, loss::reduction::weighted_mean, loss::reduction::none}) {
        loss::loss_options<T> options;
        options.reduce = reduce;
        options.class_weights = make_view<const T>(class_weights.data(), classes);
        options.sample_weights = make_view<const T>(sample_weights.data(), batch);
        for_each_policy<T>(
            [&](const std::string& name, const auto& policy) {
                auto check = [&](const auto& kind_targets, const char* kind) {
                    const auto analytic = evaluate(be, policy, logits, batch, classes, kind_targets, options);
                    double largest = 0;
                    for (T g : analytic.grad) largest = std::max(largest, std::fabs(g));
                    for (index_t p = 0; p < batch * classes; ++p) {
                        const T h = 1e-6;
                        auto moved = logits;
                        moved[std::size_t(p)] += h;
                        const T up = evaluate(be, policy, moved, batch, classes, kind_targets, options).value;
                        moved[std::size_t(p)] -= 2 * h;
                        const T down = evaluate(be, policy, moved, batch, classes, kind_targets, options).value;
                        const double numeric = (up - down) / (2 * h);
                        INFO(name << " " << kind << " " << loss::name(reduce) << " at " << p << ": analytic "
                                  << analytic.grad[std::size_t(p)] << " numeric " << numeric);
                        CHECK(std::fabs(analytic.grad[std::size_t(p)] - numeric) <= 1e-6 * (1 + largest));
                    }
                };
                check(targets.hard(), "hard");
                check(targets.pair(), "pair");
                check(targets.dense(), "dense");
            },
            /*gentle=*/true);
    }
}

// ---- what the definitions promise ----------------------------------------------------------

TEMPLATE_LIST_TEST_CASE("pair targets with lambda 1 or equal classes are exactly the hard label",
                        "[loss][targets]", loss_backends)
{
    TestType be;
    using T = float;
    const index_t batch = 4, classes = 7;
    const auto logits = random_values(std::size_t(batch * classes), 17);
    std::vector<std::int32_t> labels = {0, 6, 3, 3}, others = {5, 0, 1, 3};
    std::vector<T> ones(std::size_t(batch), T(1)), zeros(std::size_t(batch), T(0)), any = {0.1f, 0.9f, 0.5f, 0.3f};
    const tailor::hard_targets<std::int32_t> hard{make_view(labels.data(), batch)};
    const tailor::pair_targets<T, std::int32_t> lambda_one{make_view(labels.data(), batch), make_view(others.data(), batch),
                                                           make_view(ones.data(), batch)};
    const tailor::pair_targets<T, std::int32_t> lambda_zero{make_view(others.data(), batch), make_view(labels.data(), batch),
                                                            make_view(zeros.data(), batch)};
    const tailor::pair_targets<T, std::int32_t> same{make_view(labels.data(), batch), make_view(labels.data(), batch),
                                                     make_view(any.data(), batch)};
    for_each_policy<T>([&](const std::string& name, const auto& policy) {
        INFO(name);
        outputs<T> buffers;
        const auto want = evaluate(be, policy, logits, batch, classes, hard, {}, &buffers);
        for (const auto* pair : {&lambda_one, &lambda_zero, &same}) {
            const auto got = evaluate(be, policy, logits, batch, classes, *pair, {}, &buffers);
            CHECK(got.value == want.value);
            CHECK(got.per_sample == want.per_sample);
            CHECK(got.grad == want.grad);
        }
    });
}

TEMPLATE_LIST_TEST_CASE("dense targets agree with hard and pair targets of the same distribution",
                        "[loss][targets]", loss_backends)
{
    TestType be;
    using T = float;
    const batch_targets<T> targets;
    const index_t batch = targets.batch, classes = targets.classes;
    const auto logits = random_values(std::size_t(batch * classes), 19);
    std::vector<T> one_hot(std::size_t(batch * classes), T(0)), from_pair(std::size_t(batch * classes), T(0));
    for (index_t i = 0; i < batch; ++i) {
        one_hot[std::size_t(i * classes + targets.labels[std::size_t(i)])] = T(1);
        from_pair[std::size_t(i * classes + targets.first[std::size_t(i)])] += targets.lambda[std::size_t(i)];
        from_pair[std::size_t(i * classes + targets.second[std::size_t(i)])] += T(1) - targets.lambda[std::size_t(i)];
    }
    std::vector<T> class_weights = {1.5f, 0.5f, 1.f, 2.f, 0.25f, 1.f, 3.f};
    loss::loss_options<T> options;
    options.reduce = loss::reduction::weighted_mean;
    options.class_weights = make_view<const T>(class_weights.data(), classes);
    auto agree = [](const outputs<T>& a, const outputs<T>& b) {
        CHECK(a.value == Approx(b.value).epsilon(2e-6));
        for (std::size_t i = 0; i < a.per_sample.size(); ++i) CHECK(a.per_sample[i] == Approx(b.per_sample[i]).epsilon(2e-6));
        for (std::size_t i = 0; i < a.grad.size(); ++i) CHECK(a.grad[i] == Approx(b.grad[i]).epsilon(2e-6).margin(1e-6));
    };
    for_each_policy<T>([&](const std::string& name, const auto& policy) {
        INFO(name);
        agree(evaluate(be, policy, logits, batch, classes, tailor::dense_targets<T>{make_view(one_hot.data(), batch, classes)},
                       options),
              evaluate(be, policy, logits, batch, classes, targets.hard(), options));
        agree(evaluate(be, policy, logits, batch, classes,
                       tailor::dense_targets<T>{make_view(from_pair.data(), batch, classes)}, options),
              evaluate(be, policy, logits, batch, classes, targets.pair(), options));
    });
}

TEMPLATE_LIST_TEST_CASE("the one-pass shift by the target logit gives way to the row max when the sum exceeds e^64",
                        "[loss][targets]", loss_backends)
{
    // A sum above e^64 (a shift more than 64 below the max, or many arguments near 64) may
    // have overflowed, so the row is taken again at its max.
    using T = float;
    using kernels = typename TestType::row_kernels;
    T out[3];
    auto shift_for = [&](std::vector<T> row, index_t label) {
        loss::sparse_target<T> target;
        target.count = 1;
        target.label[0] = label;
        const auto n = static_cast<index_t>(row.size());
        return loss::detail::softmax_numerators(make_view<const T>(row.data(), n), target, make_view(out, n), kernels{}).shift;
    };
    CHECK(shift_for({0.f, 70.f, 1.f}, 0) == 70.f);  // refused at 0
    CHECK(shift_for({0.f, 70.f, 7.f}, 2) == 7.f);   // e^63 is accepted
    CHECK(shift_for({63.5f, 63.5f, 0.f}, 2) == 63.5f);  // two terms of e^63.5 sum above e^64
    CHECK(shift_for({63.5f, 0.f, -1.f}, 1) == 0.f);     // one is accepted
}

TEMPLATE_LIST_TEST_CASE("each policy's dense row equals its sparse row on a one- or two-class target",
                        "[loss][targets]", loss_backends)
{
    // The driver sends dense rows with one or two nonzero classes down the sparse path, so
    // the dense row functions are compared with the sparse ones here, row by row.
    using T = float;
    using kernels = typename TestType::row_kernels;
    constexpr index_t classes = 7;
    const auto logits = random_values(std::size_t(classes), 37);
    const std::vector<T> weights = {1.5f, 0.5f, 1.f, 2.f, 0.25f, 1.f, 3.f};
    struct two_class {
        int count;
        index_t label[2];
        T share[2];
    };
    const two_class targets[] = {{1, {3, 0}, {1.f, 0.f}}, {1, {5, 0}, {0.4f, 0.f}}, {2, {0, 4}, {0.7f, 0.3f}},
                                 {2, {1, 6}, {0.5f, 0.2f}}, {2, {2, 3}, {0.999f, 0.001f}}};
    for_each_policy<T>([&](const std::string& name, const auto& policy) {
        for (const bool weighted : {false, true}) {
            for (const two_class& target : targets) {
                std::vector<T> dense(classes, T(0)), grad_dense(classes), grad_sparse(classes);
                loss::sparse_target<T> sparse;
                sparse.count = target.count;
                for (int e = 0; e < target.count; ++e) {
                    dense[std::size_t(target.label[e])] = target.share[e];
                    sparse.label[e] = target.label[e];
                    sparse.share[e] = target.share[e];
                    sparse.coefficient[e] = target.share[e] * (weighted ? weights[std::size_t(target.label[e])] : T(1));
                }
                const T* w = weighted ? weights.data() : nullptr;
                const T weight_sum = weighted ? std::accumulate(weights.begin(), weights.end(), T(0)) : T(classes);
                auto context = [&](std::vector<T>& grad) {
                    return loss::row_context<T>{make_view<const T>(logits.data(), classes), make_view(grad.data(), classes),
                                                classes, T(0.5), w, weight_sum};
                };
                const T from_dense = policy.row(context(grad_dense), loss::dense_target<T>{dense.data()}, kernels{});
                const T from_sparse = policy.row(context(grad_sparse), sparse, kernels{});
                INFO(name << (weighted ? " weighted" : "") << ", classes " << target.label[0] << " and "
                          << target.label[1]);
                CHECK(from_dense == Approx(from_sparse).epsilon(2e-6).margin(1e-7));
                for (index_t j = 0; j < classes; ++j)
                    CHECK(grad_dense[std::size_t(j)] == Approx(grad_sparse[std::size_t(j)]).epsilon(2e-6).margin(1e-7));
            }
        }
    });
}

/// A backend's row kernels that count their min_max calls: the dense cross-entropy makes one
/// only when it takes the two-pass form at the row max.
template <class Kernels>
struct min_max_counting_kernels : Kernels {
    int* calls;
    template <class T>
    auto min_max(vector_view<T> x) const
    {
        ++*calls;
        return Kernels::min_max(x);
    }
};

TEMPLATE_LIST_TEST_CASE("a dense cross-entropy row is one fused pass unless its max lies far above its first logits",
                        "[loss][targets]", loss_backends)
{
    // The fused pass shifts by the largest of the first 16 logits; a row max more than 32
    // above it, or a sum that is not finite, sends the row to the two-pass form, which must
    // give the same loss and gradient.
    using T = float;
    using kernels = typename TestType::row_kernels;
    constexpr index_t classes = 40;
    const T inf = std::numeric_limits<T>::infinity();
    const std::vector<float> base = random_values(std::size_t(classes), 41);
    std::vector<T> share = random_values(std::size_t(classes), 43), weights(classes);
    for (T& t : share) t = std::exp(t);
    const T share_sum = std::accumulate(share.begin(), share.end(), T(0));
    for (T& t : share) t /= share_sum;
    for (index_t j = 0; j < classes; ++j) weights[std::size_t(j)] = 0.25f + 0.5f * float(j % 7);
    const T first_max = *std::max_element(base.begin(), base.begin() + 16);
    struct row_case {
        const char* name;
        std::vector<T> logits;
        std::vector<T> share;
        bool fused;
    };
    std::vector<row_case> cases;
    cases.push_back({"spread logits", base, share, true});
    cases.push_back({"max 31 above the first 16", base, share, true});
    cases.back().logits[30] = first_max + 31.f;
    cases.push_back({"max 40 above the first 16", base, share, false});
    cases.back().logits[30] = first_max + 40.f;
    cases.push_back({"a -inf logit without mass", base, share, true});
    cases.back().logits[20] = -inf, cases.back().share[20] = 0.f;
    cases.push_back({"a -inf logit holding mass", base, share, true});
    cases.back().logits[20] = -inf;
    cases.push_back({"the first 16 logits -inf", base, share, false});
    for (index_t j = 0; j < 16; ++j) cases.back().logits[std::size_t(j)] = -inf, cases.back().share[std::size_t(j)] = 0.f;
    const T weight_sum = std::accumulate(weights.begin(), weights.end(), T(0));
    for (const row_case& c : cases) {
        for (const T smoothing : {T(0), T(0.1)}) {
            for (const bool weighted : {false, true}) {
                INFO(c.name << ", smoothing " << smoothing << (weighted ? ", weighted" : ""));
                std::vector<T> grad_fused(classes), grad_two_pass(classes);
                auto context = [&](std::vector<T>& grad) {
                    return loss::row_context<T>{make_view<const T>(c.logits.data(), classes), make_view(grad.data(), classes),
                                                classes, T(0.5), weighted ? weights.data() : nullptr,
                                                weighted ? weight_sum : T(classes)};
                };
                const loss::dense_target<T> target{c.share.data()};
                int calls = 0;
                min_max_counting_kernels<kernels> counting{};
                counting.calls = &calls;
                const T fused = loss::detail::softmax_cross_entropy(context(grad_fused), make_view<const T>(c.logits.data(), classes),
                                                                    T(1), target, smoothing, counting);
                const T two_pass = loss::detail::softmax_cross_entropy_at_max(
                    context(grad_two_pass), make_view<const T>(c.logits.data(), classes), T(1), target, smoothing, kernels{});
                CHECK(calls == (c.fused ? 0 : 1));
                if (std::isinf(two_pass)) CHECK(fused == two_pass);
                else CHECK(fused == Approx(two_pass).epsilon(2e-6));
                for (index_t j = 0; j < classes; ++j)
                    CHECK(grad_fused[std::size_t(j)] ==
                          Approx(grad_two_pass[std::size_t(j)]).epsilon(2e-6).margin(1e-7));
            }
        }
    }
}

TEMPLATE_LIST_TEST_CASE("focal's dense rows agree between whole-number gamma (products) and any gamma (log space)",
                        "[loss][focal]", loss_backends)
{
    // A whole-number gamma takes the vectorised form; the next double above it takes the
    // per-class double form. Rows: spread targets over every class, a confident row (the
    // top class above 1/2, which the vectorised form hands to the double form), a -inf logit
    // carrying target mass, and class weights.
    TestType be;
    using T = float;
    const index_t batch = 4, classes = 37;
    auto logits = random_values(std::size_t(batch * classes), 41);
    logits[std::size_t(1 * classes + 5)] += 12.f;
    logits[std::size_t(2 * classes + 9)] = -std::numeric_limits<T>::infinity();
    const auto raw = random_values(std::size_t(batch * classes), 43);
    std::vector<T> targets(raw.size());
    for (std::size_t i = 0; i < raw.size(); ++i) targets[i] = std::exp(raw[i]) / T(classes);
    targets[std::size_t(3 * classes + 2)] = 0.f;
    std::vector<T> weights(static_cast<std::size_t>(classes));
    for (index_t k = 0; k < classes; ++k) weights[std::size_t(k)] = T(0.5) + T(k % 4) / T(2);
    for (const bool weighted : {false, true}) {
        loss::loss_options<T> options;
        if (weighted) options.class_weights = make_view<const T>(weights.data(), classes);
        for (double gamma : {0.0, 1.0, 2.0, 3.0, 5.0}) {
            INFO("gamma " << gamma << (weighted ? " weighted" : ""));
            const tailor::dense_targets<T> dense{make_view<const T>(targets.data(), batch, classes)};
            const auto products = evaluate(be, loss::focal{gamma}, logits, batch, classes, dense, options);
            const auto in_log_space = evaluate(be, loss::focal{std::nextafter(gamma, 10.0)}, logits, batch, classes, dense, options);
            for (index_t i = 0; i < batch; ++i) {
                if (i == 2) {
                    CHECK(std::isinf(products.per_sample[std::size_t(i)]));
                    CHECK(std::isinf(in_log_space.per_sample[std::size_t(i)]));
                } else {
                    CHECK(products.per_sample[std::size_t(i)] == Approx(in_log_space.per_sample[std::size_t(i)]).epsilon(2e-6));
                }
            }
            for (std::size_t j = 0; j < products.grad.size(); ++j)
                CHECK(products.grad[j] == Approx(in_log_space.grad[j]).epsilon(2e-5).margin(1e-7));
        }
    }
}

TEMPLATE_LIST_TEST_CASE("each loss reduces to cross-entropy when its extra parameter is neutral", "[loss][identities]",
                        loss_backends)
{
    TestType be;
    using T = float;
    const batch_targets<T> targets;
    const index_t batch = targets.batch, classes = targets.classes;
    const auto logits = random_values(std::size_t(batch * classes), 23);
    std::vector<T> embeddings = random_values(7 * 3, 29);
    const auto e = make_view<const T>(embeddings.data(), 7, 3);
    auto agree = [&](const auto& policy, const auto& kind_targets) {
        const auto a = evaluate(be, policy, logits, batch, classes, kind_targets);
        const auto b = evaluate(be, loss::cross_entropy{}, logits, batch, classes, kind_targets);
        CHECK(a.value == Approx(b.value).epsilon(1e-6));
        for (std::size_t i = 0; i < a.grad.size(); ++i) CHECK(a.grad[i] == Approx(b.grad[i]).epsilon(1e-5).margin(1e-7));
    };
    auto all_kinds = [&](const auto& policy) {
        agree(policy, targets.hard());
        agree(policy, targets.pair());
        agree(policy, targets.dense());
    };
    SECTION("focal, gamma = 0") { all_kinds(loss::focal{0.0}); }
    SECTION("LDAM, no margin, s = 1") { all_kinds(loss::ldam<T>(test_counts, 0.0, 1.0)); }
    SECTION("MMS, lambda = 0, T = 1") { all_kinds(loss::mms<T>(e, 0.0, 1.0)); }
    SECTION("equalization, beta = 0") { all_kinds(loss::equalization<T>(test_counts, 0.5, 0.0)); }
    SECTION("balanced softmax and logit adjustment with equal counts")
    {
        const std::vector<int> equal(7, 10);
        all_kinds(loss::balanced_softmax<T>(equal));
        all_kinds(loss::logit_adjustment<T>(equal, 2.0));
    }
    SECTION("logit adjustment with tau = 1 is balanced softmax")
    {
        const auto a = evaluate(be, loss::logit_adjustment<T>(test_counts, 1.0), logits, batch, classes, targets.pair());
        const auto b = evaluate(be, loss::balanced_softmax<T>(test_counts), logits, batch, classes, targets.pair());
        CHECK(a.value == Approx(b.value).epsilon(1e-6));
        for (std::size_t i = 0; i < a.grad.size(); ++i) CHECK(a.grad[i] == Approx(b.grad[i]).epsilon(1e-5).margin(1e-7));
    }
}

TEMPLATE_LIST_TEST_CASE("focal loss stays finite and exact for confident predictions and gamma < 1", "[loss][focal]",
                        loss_backends)
{
    TestType be;
    // p_y rounds to 1 in float: (1 - p)^gamma must be 0, not NaN, and so must the gradient.
    std::vector<float> logits = {40.f, 0.f, -3.f, 0.f, 15.f, 0.f}, grad(6);
    std::vector<std::int32_t> labels = {0, 1};
    for (double gamma : {0.1, 0.5, 0.9, 2.0}) {
        const float value = loss::value_and_gradient(be, loss::focal{gamma}, make_view(logits.data(), 2, 3),
                                                     make_view(labels.data(), 2), make_view(grad.data(), 2, 3));
        INFO("gamma " << gamma);
        CHECK(std::isfinite(value));
        CHECK(value >= 0.f);
        for (float g : grad) CHECK(std::isfinite(g));
        CHECK(std::fabs(grad[0]) < 1e-12f);  // the confident row contributes nothing
    }
}

// ---- reductions ----------------------------------------------------------------------------

TEMPLATE_LIST_TEST_CASE("reductions: none, sum, mean and weighted mean, with their gradients", "[loss][reduction]",
                        loss_backends)
{
    TestType be;
    using T = double;
    const batch_targets<T> targets;
    const index_t batch = targets.batch, classes = targets.classes;
    const auto logits = cast<T>(random_values(std::size_t(batch * classes), 31));
    std::vector<T> class_weights = {1.5, 0.5, 1.0, 2.0, 0.25, 1.0, 3.0}, sample_weights = {1.0, 0.5, 2.0, 1.25};
    for_each_policy<T>([&](const std::string& name, const auto& policy) {
        INFO(name);
        outputs<T> buffers;
        auto with = [&](loss::reduction r, bool weighted) {
            loss::loss_options<T> options;
            options.reduce = r;
            options.class_weights = make_view<const T>(class_weights.data(), classes);
            if (weighted) options.sample_weights = make_view<const T>(sample_weights.data(), batch);
            return evaluate(be, policy, logits, batch, classes, targets.pair(), options, &buffers);
        };
        const auto none = with(loss::reduction::none, false);
        const auto sum = with(loss::reduction::sum, false);
        const auto mean = with(loss::reduction::mean, false);
        const auto weighted = with(loss::reduction::weighted_mean, true);
        const auto none_weighted = with(loss::reduction::none, true);
        double total = 0, total_weight = 0;
        for (index_t i = 0; i < batch; ++i) {
            total += none.per_sample[std::size_t(i)];
            const T w_i = targets.lambda[std::size_t(i)] * class_weights[std::size_t(targets.first[std::size_t(i)])] +
                          (1 - targets.lambda[std::size_t(i)]) * class_weights[std::size_t(targets.second[std::size_t(i)])];
            total_weight += sample_weights[std::size_t(i)] * w_i;
            // sample weights scale a row's value and gradient: upstream weights for `none`
            CHECK(none_weighted.per_sample[std::size_t(i)] ==
                  Approx(sample_weights[std::size_t(i)] * none.per_sample[std::size_t(i)]).epsilon(1e-13));
            for (index_t j = 0; j < classes; ++j)
                CHECK(none_weighted.grad[std::size_t(i * classes + j)] ==
                      Approx(sample_weights[std::size_t(i)] * none.grad[std::size_t(i * classes + j)]).epsilon(1e-12).margin(1e-15));
        }
        CHECK(none.value == Approx(total).epsilon(1e-13));
        CHECK(sum.value == Approx(total).epsilon(1e-13));
        CHECK(mean.value == Approx(total / double(batch)).epsilon(1e-13));
        double weighted_total = 0;
        for (T v : none_weighted.per_sample) weighted_total += v;
        CHECK(weighted.value == Approx(weighted_total / total_weight).epsilon(1e-13));
        for (std::size_t p = 0; p < none.grad.size(); ++p) {
            CHECK(sum.grad[p] == none.grad[p]);
            CHECK(mean.grad[p] == Approx(none.grad[p] / double(batch)).epsilon(1e-12).margin(1e-15));
            CHECK(weighted.grad[p] == Approx(none_weighted.grad[p] / total_weight).epsilon(1e-12).margin(1e-15));
        }
    });
}

// ---- layouts --------------------------------------------------------------------------------

TEMPLATE_LIST_TEST_CASE("strided logits, gradients, targets and weights give the contiguous results", "[loss][layout]",
                        loss_backends)
{
    TestType be;
    using T = float;
    const batch_targets<T> targets;
    const index_t batch = targets.batch, classes = targets.classes;
    const auto logits = random_values(std::size_t(batch * classes), 37);
    std::vector<T> class_weights = {1.5f, 0.5f, 1.f, 2.f, 0.25f, 1.f, 3.f};
    // column-major logits and gradient, padded dense targets, strided class weights
    std::vector<T> logits_cm(std::size_t(batch * classes)), grad_cm(std::size_t(batch * classes), -1.f);
    for (index_t i = 0; i < batch; ++i)
        for (index_t j = 0; j < classes; ++j) logits_cm[std::size_t(j * batch + i)] = logits[std::size_t(i * classes + j)];
    std::vector<T> padded(std::size_t(batch * (classes + 3)), 0.f), weights_strided(std::size_t(2 * classes), 0.f);
    for (index_t i = 0; i < batch; ++i)
        for (index_t j = 0; j < classes; ++j)
            padded[std::size_t(i * (classes + 3) + j)] = targets.probabilities[std::size_t(i * classes + j)];
    for (index_t k = 0; k < classes; ++k) weights_strided[std::size_t(2 * k)] = class_weights[std::size_t(k)];
    const matrix_view<const T> logits_view(logits_cm.data(), {batch, classes}, {1, batch});
    const matrix_view<T> grad_view(grad_cm.data(), {batch, classes}, {1, batch});
    const tailor::dense_targets<T> padded_targets{matrix_view<const T>(padded.data(), {batch, classes}, {classes + 3, 1})};

    loss::loss_options<T> contiguous_options, strided_options;
    contiguous_options.class_weights = make_view<const T>(class_weights.data(), classes);
    strided_options.class_weights = vector_view<const T>(weights_strided.data(), {classes}, {2});
    for_each_policy<T>([&](const std::string& name, const auto& policy) {
        INFO(name);
        const auto want = evaluate(be, policy, logits, batch, classes, targets.dense(), contiguous_options);
        const T value = loss::value_and_gradient(be, policy, logits_view, padded_targets, grad_view, strided_options);
        CHECK(value == want.value);
        for (index_t i = 0; i < batch; ++i)
            for (index_t j = 0; j < classes; ++j) CHECK(grad_view(i, j) == want.grad[std::size_t(i * classes + j)]);
    });
}

TEMPLATE_LIST_TEST_CASE("labels may be int32 or int64, as targets or plain views", "[loss][targets]", loss_backends)
{
    TestType be;
    const auto logits = random_values(3 * 5, 41);
    std::vector<std::int32_t> small = {4, 0, 2};
    std::vector<std::int64_t> wide = {4, 0, 2};
    std::vector<float> g32(15), g64(15), gplain(15);
    const float a = loss::value_and_gradient(be, loss::focal{}, make_view(logits.data(), 3, 5),
                                             tailor::hard_targets<std::int32_t>{make_view(small.data(), 3)},
                                             make_view(g32.data(), 3, 5));
    const float b = loss::value_and_gradient(be, loss::focal{}, make_view(logits.data(), 3, 5),
                                             tailor::hard_targets<std::int64_t>{make_view(wide.data(), 3)},
                                             make_view(g64.data(), 3, 5));
    const float c = loss::value_and_gradient(be, loss::focal{}, make_view(logits.data(), 3, 5), make_view(wide.data(), 3),
                                             make_view(gplain.data(), 3, 5));
    CHECK(a == b);
    CHECK(a == c);
    CHECK(g32 == g64);
    CHECK(g32 == gplain);
}

// ---- NaN and infinities --------------------------------------------------------------------

TEMPLATE_LIST_TEST_CASE("a NaN or +inf logit makes its row NaN and leaves the others; -inf is probability 0",
                        "[loss][nan]", loss_backends)
{
    TestType be;
    using T = float;
    const batch_targets<T> targets;
    const index_t batch = targets.batch, classes = targets.classes;
    const auto clean = random_values(std::size_t(batch * classes), 43);
    for_each_policy<T>([&](const std::string& name, const auto& policy) {
        INFO(name);
        const auto reference = evaluate(be, policy, clean, batch, classes, targets.pair(), {loss::reduction::none});
        for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
            auto logits = clean;
            logits[std::size_t(1 * classes + 2)] = bad;  // row 1
            const auto got = evaluate(be, policy, logits, batch, classes, targets.pair(), {loss::reduction::none});
            CHECK(std::isnan(got.per_sample[1]));
            for (index_t j = 0; j < classes; ++j) CHECK(std::isnan(got.grad[std::size_t(classes + j)]));
            for (index_t i : {0, 2, 3}) {
                CHECK(got.per_sample[std::size_t(i)] == reference.per_sample[std::size_t(i)]);
                for (index_t j = 0; j < classes; ++j)
                    CHECK(got.grad[std::size_t(i * classes + j)] == reference.grad[std::size_t(i * classes + j)]);
            }
        }
        // -inf on a class without target mass: finite, that class gets probability 0 (label
        // smoothing gives every class mass, so there the loss is +inf, as in PyTorch)
        auto logits = clean;
        logits[std::size_t(0 * classes + 5)] = -std::numeric_limits<float>::infinity();  // row 0 targets 0 and 2
        const auto got = evaluate(be, policy, logits, batch, classes, targets.pair(), {loss::reduction::none});
        if (name == "cross_entropy smoothed") {
            CHECK(got.per_sample[0] == std::numeric_limits<float>::infinity());
        } else {
            CHECK(std::isfinite(got.per_sample[0]));
            CHECK(got.grad[5] == 0.f);
        }
        for (index_t j = 0; j < classes; ++j) CHECK(std::isfinite(got.grad[std::size_t(j)]));
        // -inf on a target class: the loss is +inf, the gradient stays finite
        logits[std::size_t(0 * classes + 0)] = -std::numeric_limits<float>::infinity();
        const auto target_inf = evaluate(be, policy, logits, batch, classes, targets.hard(), {loss::reduction::none});
        CHECK(target_inf.per_sample[0] == std::numeric_limits<float>::infinity());
        for (index_t j = 0; j < classes; ++j) CHECK(std::isfinite(target_inf.grad[std::size_t(j)]));
    });
}

// ---- errors at the boundary ----------------------------------------------------------------

TEMPLATE_LIST_TEST_CASE("invalid inputs throw tailor errors naming the argument", "[loss][errors]", loss_backends)
{
    TestType be;
    using T = float;
    const batch_targets<T> targets;
    const index_t batch = targets.batch, classes = targets.classes;
    const auto logits = random_values(std::size_t(batch * classes), 47);
    std::vector<T> grad(static_cast<std::size_t>(batch * classes)), per_sample(static_cast<std::size_t>(batch));
    const auto z = make_view(logits.data(), batch, classes);
    const auto g = make_view(grad.data(), batch, classes);
    auto throws = [](auto&& call, const std::string& argument) {
        try {
            call();
            FAIL("expected a tailor error naming '" << argument << "'");
        } catch (const tailor::argument_error& e) {
            INFO(e.what());
            CHECK_THAT(e.what(), Catch::Contains("'" + argument + "'"));
        }
    };
    const loss::cross_entropy ce;

    SECTION("shapes")
    {
        std::vector<T> small(std::size_t(batch * (classes - 1)));
        REQUIRE_THROWS_AS(loss::value_and_gradient(be, ce, z, targets.hard(), make_view(small.data(), batch, classes - 1)),
                          tailor::shape_error);
        throws([&] { loss::value_and_gradient(be, ce, z, targets.hard(), make_view(small.data(), batch, classes - 1)); }, "grad");
        throws([&] { loss::value_and_gradient(be, ce, z.slice(0, 0, 3), targets.hard(), g.slice(0, 0, 3)); }, "labels");
        throws([&] { loss::value_and_gradient(be, ce, z.slice(1, 0, 6), targets.dense(), g.slice(1, 0, 6)); }, "targets");
        throws([&] { loss::value_and_gradient(be, loss::balanced_softmax<T>(std::vector<int>{1, 2, 3}), z, targets.hard(), g); },
               "logits");
        throws([&] { loss::value_and_gradient(be, ce, z.slice(1, 0, 0), targets.hard(), g.slice(1, 0, 0)); }, "logits");
        throws([&] { loss::value_and_gradient(be, ce, z, targets.hard(), g, {loss::reduction::none}); }, "per_sample");
        throws([&] {
            loss::value_and_gradient(be, ce, z, targets.hard(), g, {}, make_view(per_sample.data(), batch - 1));
        }, "per_sample");
        // the gradient may not overwrite the logits it is computed from
        auto aliased = logits;
        throws([&] {
            loss::value_and_gradient(be, ce, make_view<const T>(aliased.data(), batch, classes), targets.hard(),
                                     make_view(aliased.data(), batch, classes));
        }, "grad");
    }
    SECTION("labels and pair targets")
    {
        std::vector<std::int32_t> bad = {0, 7, 1, 2}, negative = {0, 1, -1, 2};
        REQUIRE_THROWS_AS(loss::value_and_gradient(be, ce, z, make_view(bad.data(), batch), g), tailor::index_error);
        throws([&] { loss::value_and_gradient(be, ce, z, make_view(negative.data(), batch), g); }, "labels");
        auto pair = targets.pair();
        pair.second = make_view<const std::int32_t>(bad.data(), batch);
        throws([&] { loss::value_and_gradient(be, ce, z, pair, g); }, "targets.second");
        std::vector<T> lambda = {0.5f, 1.5f, 0.f, 1.f};
        pair = targets.pair();
        pair.lambda = make_view<const T>(lambda.data(), batch);
        throws([&] { loss::value_and_gradient(be, ce, z, pair, g); }, "targets.lambda");
        lambda[1] = std::numeric_limits<T>::quiet_NaN();
        throws([&] { loss::value_and_gradient(be, ce, z, pair, g); }, "targets.lambda");
    }
    SECTION("dense targets with negative or non-finite entries")
    {
        for (T bad : {-0.25f, std::numeric_limits<T>::quiet_NaN(), std::numeric_limits<T>::infinity()}) {
            auto probabilities = targets.probabilities;
            probabilities[9] = bad;
            throws([&] {
                loss::value_and_gradient(be, ce, z, tailor::dense_targets<T>{make_view(probabilities.data(), batch, classes)}, g);
            }, "targets");
        }
        auto with_negative_zero = targets.probabilities;
        with_negative_zero[3] = -0.f;  // a zero is a zero
        CHECK_NOTHROW(loss::value_and_gradient(
            be, ce, z, tailor::dense_targets<T>{make_view(with_negative_zero.data(), batch, classes)}, g));
    }
    SECTION("weights")
    {
        std::vector<T> w = {1.f, 1.f, -1.f, 1.f, 1.f, 1.f, 1.f}, v = {1.f, 1.f, 1.f};
        throws([&] { loss::value_and_gradient(be, ce, z, targets.hard(), g, {loss::reduction::mean, make_view<const T>(w.data(), 7)}); },
               "class_weights");
        throws([&] { loss::value_and_gradient(be, ce, z, targets.hard(), g, {loss::reduction::mean, make_view<const T>(w.data(), 6)}); },
               "class_weights");
        throws([&] {
            loss::value_and_gradient(be, ce, z, targets.hard(), g, {loss::reduction::mean, {}, make_view<const T>(v.data(), 3)});
        }, "sample_weights");
        std::vector<T> zero(7, 0.f);
        throws([&] {
            loss::value_and_gradient(be, ce, z, targets.hard(), g,
                                     {loss::reduction::weighted_mean, make_view<const T>(zero.data(), 7)});
        }, "options.reduce");
    }
    SECTION("counts and parameters")
    {
        const std::vector<int> with_zero = {5, 0, 3};
        throws([&] { loss::balanced_softmax<T> bad(with_zero); }, "counts");
        try {
            loss::balanced_softmax<T> bad(with_zero);
        } catch (const tailor::argument_error& e) {
            CHECK_THAT(e.what(), Catch::Contains("count > 0") && Catch::Contains("class 1") && Catch::Contains("log 0"));
        }
        throws([&] { loss::logit_adjustment<T> bad(with_zero); }, "counts");
        throws([&] { loss::logit_adjustment<T> bad(test_counts, std::nan("")); }, "tau");
        throws([&] { loss::ldam<T> bad(with_zero); }, "counts");
        throws([&] { loss::ldam<T> bad(test_counts, 0.5, 0.0); }, "s");
        throws([&] { loss::ldam<T> bad(test_counts, -0.1, 30.0); }, "max_margin");
        throws([&] { loss::ldam<T> bad(test_counts, 3.0, 30.0); }, "max_margin");  // s * max_m > 60
        throws([&] { loss::class_balanced_weights<T>(with_zero, 0.99); }, "counts");
        throws([&] { loss::class_balanced_weights<T>(test_counts, 1.0); }, "beta");
        throws([&] { loss::class_balanced_weights<T>(test_counts, -0.1); }, "beta");
        throws([&] { loss::drw_schedule<T> bad(test_counts, -1); }, "start_epoch");
        throws([&] { loss::equalization<T> bad(test_counts, 0.1, 1.5); }, "beta");
        throws([&] { loss::equalization<T> bad(test_counts, -0.1, 1.0); }, "lambda");
        throws([&] { loss::equalization<T> bad(std::vector<int>{0, 0}, 0.1, 1.0); }, "counts");
        const std::vector<double> negative = {3.0, -1.0};
        throws([&] { loss::balanced_softmax<T> bad(negative); }, "counts");
        throws([&] { loss::balanced_softmax<T> bad(std::vector<int>{}); }, "counts");
        std::vector<T> embeddings = {1.f, 0.f, 0.f, 0.f};
        throws([&] { loss::mms<T> bad(make_view<const T>(embeddings.data(), 2, 2)); }, "embeddings");
        embeddings[3] = 1.f;
        throws([&] { loss::mms<T> bad(make_view<const T>(embeddings.data(), 2, 2), 0.3, 0.0); }, "temperature");
        throws([&] { loss::mms<T> bad(make_view<const T>(embeddings.data(), 2, 2), -0.3, 0.1); }, "lambda");
        throws([&] { loss::value_and_gradient(be, loss::focal{-1.0}, z, targets.hard(), g); }, "gamma");
        throws([&] { loss::value_and_gradient(be, loss::focal{std::nan("")}, z, targets.hard(), g); }, "gamma");
        throws([&] { loss::value_and_gradient(be, loss::cross_entropy{1.5}, z, targets.hard(), g); }, "label_smoothing");
    }
}

// ---- weights, schedules, the post-hoc adjustment --------------------------------------------

TEST_CASE("class-balanced weights follow the effective number and sum to C", "[loss][weights]")
{
    const std::vector<int> counts = {5000, 500, 50, 5, 1};
    for (double beta : {0.0, 0.9, 0.999, 0.9999}) {
        const auto w = loss::class_balanced_weights<double>(counts, beta);
        double total = 0, raw_total = 0;
        std::vector<double> raw;
        for (int n : counts) raw.push_back((1 - beta) / (1 - std::pow(beta, n)));
        for (double r : raw) raw_total += r;
        for (index_t k = 0; k < 5; ++k) {
            total += w(k);
            CHECK(w(k) == Approx(raw[std::size_t(k)] * 5 / raw_total).epsilon(1e-12));
        }
        CHECK(total == Approx(5.0).epsilon(1e-14));
        if (beta == 0.0)
            for (index_t k = 0; k < 5; ++k) CHECK(w(k) == 1.0);
    }
    // beta -> 1 approaches inverse frequency
    const auto w = loss::class_balanced_weights<double>(std::vector<int>{100, 10}, 1 - 1e-9);
    CHECK(w(1) / w(0) == Approx(10.0).epsilon(1e-6));
}

TEST_CASE("the DRW schedule switches class-balanced weights on at its epoch", "[loss][weights]")
{
    const loss::drw_schedule<float> drw(test_counts, 160);
    const auto cb = loss::class_balanced_weights<float>(test_counts, 0.9999);
    CHECK(drw.class_weights(0).empty());
    CHECK(drw.class_weights(159).empty());
    CHECK_FALSE(drw.active(159));
    CHECK(drw.active(160));
    const auto on = drw.class_weights(160);
    REQUIRE(on.extent(0) == 7);
    for (index_t k = 0; k < 7; ++k) CHECK(on(k) == cb(k));
    CHECK(drw.class_weights(199).data() == on.data());
}

TEMPLATE_LIST_TEST_CASE("post-hoc logit adjustment subtracts tau log pi", "[loss][adjustment]", loss_backends)
{
    TestType be;
    const loss::logit_adjustment<double> la(test_counts, 1.25);
    const auto logits = cast<double>(random_values(3 * 7, 53));
    std::vector<double> out(21);
    loss::posthoc_adjust(be, la, make_view(logits.data(), 3, 7), make_view(out.data(), 3, 7));
    double total = 0;
    for (int n : test_counts) total += n;
    for (index_t i = 0; i < 3; ++i)
        for (index_t k = 0; k < 7; ++k)
            CHECK(out[std::size_t(i * 7 + k)] ==
                  Approx(logits[std::size_t(i * 7 + k)] - 1.25 * std::log(test_counts[std::size_t(k)] / total)).epsilon(1e-14));
    // in place
    auto in_place = logits;
    loss::posthoc_adjust(be, la, make_view<const double>(in_place.data(), 3, 7), make_view(in_place.data(), 3, 7));
    CHECK(in_place == out);
}

TEMPLATE_LIST_TEST_CASE("an empty batch costs nothing and returns 0", "[loss][reduction]", loss_backends)
{
    TestType be;
    std::vector<float> none;
    std::vector<std::int32_t> labels;
    for (auto r : {loss::reduction::none, loss::reduction::sum, loss::reduction::mean, loss::reduction::weighted_mean})
        CHECK(loss::value_and_gradient(be, loss::cross_entropy{}, make_view<const float>(none.data(), 0, 5),
                                       make_view(labels.data(), 0), make_view(none.data(), 0, 5),
                                       loss::loss_options<float>{r}) == 0.f);
}
