// The conformance suite: every op of the backend concept, on every backend compiled in,
// against straightforward double-precision reference loops, on odd shapes (1, primes) and
// non-contiguous layouts (padded rows, column-major, transposed views).
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "tailor/backend/eigen/backend.hpp"
#if defined(TAILOR_HAVE_XTENSOR)
#include "tailor/backend/xtensor/backend.hpp"
using backends_under_test = std::tuple<tailor::eigen::backend, tailor::xtensor::backend>;
#else
using backends_under_test = std::tuple<tailor::eigen::backend>;
#endif

using tailor::index_t;
using tailor::make_view;
using tailor::matrix_view;
using tailor::vector_view;

namespace {

enum class layout { row_major, padded, column_major };
const layout all_layouts[] = {layout::row_major, layout::padded, layout::column_major};

std::string name(layout l)
{
    return l == layout::row_major ? "row-major" : l == layout::padded ? "padded" : "column-major";
}

/// A matrix stored in a chosen layout inside a larger buffer whose slack holds a sentinel,
/// so an op writing outside its view is caught.
template <class T>
struct stored_matrix {
    index_t rows, cols;
    layout how;
    index_t offset = 3;  // the view starts inside the buffer, past a sentinel
    std::vector<T> buffer;

    stored_matrix(index_t r, index_t c, layout l)
        : rows(r), cols(c), how(l), buffer(static_cast<std::size_t>(offset + (r + 2) * (c + 4) + 8), sentinel())
    {
    }
    static T sentinel() { return T(-777.25); }

    matrix_view<T> view()
    {
        T* base = buffer.data() + offset;
        switch (how) {
        case layout::row_major: return matrix_view<T>(base, {rows, cols});
        case layout::padded: return matrix_view<T>(base, {rows, cols}, {cols + 3, 1});
        default: return matrix_view<T>(base, {rows, cols}, {1, rows + 1});
        }
    }
    matrix_view<const T> cview() { return view(); }

    void fill_random(std::mt19937& rng, double lo = -2.0, double hi = 2.0)
    {
        std::uniform_real_distribution<double> u(lo, hi);
        auto v = view();
        for (index_t i = 0; i < rows; ++i)
            for (index_t j = 0; j < cols; ++j) v(i, j) = T(u(rng));
    }
    void fill_value(T value)
    {
        auto v = view();
        for (index_t i = 0; i < rows; ++i)
            for (index_t j = 0; j < cols; ++j) v(i, j) = value;
    }
    /// Every buffer slot outside the view still holds the sentinel.
    bool slack_untouched()
    {
        std::vector<char> inside(buffer.size(), 0);
        auto v = view();
        for (index_t i = 0; i < rows; ++i)
            for (index_t j = 0; j < cols; ++j) inside[static_cast<std::size_t>(&v(i, j) - buffer.data())] = 1;
        for (std::size_t k = 0; k < buffer.size(); ++k)
            if (!inside[k] && buffer[k] != sentinel()) return false;
        return true;
    }
};

struct shape3 {
    index_t m, k, n;
};
const shape3 gemm_shapes[] = {{1, 1, 1}, {1, 5, 1}, {7, 1, 3}, {13, 17, 11}, {37, 64, 29}, {2, 0, 3}};

bool close(double got, double want, double rel, double abs_tol = 0.0)
{
    if (std::isnan(want)) return std::isnan(got);
    if (std::isinf(want)) return got == want;
    return std::fabs(got - want) <= abs_tol + rel * std::max(1.0, std::fabs(want));
}

template <class T>
double tolerance()
{
    return std::is_same_v<T, float> ? 2e-5 : 1e-12;
}

struct square_plus {  // a custom associative op, to reach the generic reduction path
    template <class T>
    T operator()(T a, T b) const { return a + b; }
};

}  // namespace

TEMPLATE_LIST_TEST_CASE("gemm matches the reference on every layout and odd shapes", "[backend][gemm]",
                        backends_under_test)
{
    TestType be;
    std::mt19937 rng(7);
    for (const auto& s : gemm_shapes)
        for (layout la : all_layouts)
            for (layout lb : all_layouts)
                for (layout lc : all_layouts)
                    for (float beta : {0.f, 0.5f}) {
                        stored_matrix<float> a(s.m, s.k, la), b(s.k, s.n, lb), c(s.m, s.n, lc);
                        a.fill_random(rng);
                        b.fill_random(rng);
                        if (beta == 0.f)
                            c.fill_value(std::numeric_limits<float>::quiet_NaN());  // must not be read
                        else
                            c.fill_random(rng);
                        std::vector<double> want(static_cast<std::size_t>(s.m * s.n));
                        for (index_t i = 0; i < s.m; ++i)
                            for (index_t j = 0; j < s.n; ++j) {
                                double acc = 0;
                                for (index_t p = 0; p < s.k; ++p) acc += double(a.view()(i, p)) * b.view()(p, j);
                                want[std::size_t(i * s.n + j)] = 1.5 * acc + (beta == 0.f ? 0.0 : beta * double(c.view()(i, j)));
                            }
                        be.template gemm<float>(1.5f, a.cview(), b.cview(), beta, c.view());
                        INFO("m=" << s.m << " k=" << s.k << " n=" << s.n << " A " << name(la) << " B " << name(lb)
                                  << " C " << name(lc) << " beta " << beta);
                        for (index_t i = 0; i < s.m; ++i)
                            for (index_t j = 0; j < s.n; ++j)
                                REQUIRE(close(c.view()(i, j), want[std::size_t(i * s.n + j)], 1e-5 * (1 + s.k)));
                        REQUIRE(c.slack_untouched());
                    }
}

TEMPLATE_LIST_TEST_CASE("gemm takes transposes as views and applies the epilogue", "[backend][gemm]",
                        backends_under_test)
{
    TestType be;
    std::mt19937 rng(11);
    const index_t m = 19, k = 23, n = 5;
    stored_matrix<double> at(k, m, layout::row_major), bt(n, k, layout::padded), c(m, n, layout::row_major);
    at.fill_random(rng);
    bt.fill_random(rng);
    std::vector<double> bias(n);
    for (index_t j = 0; j < n; ++j) bias[std::size_t(j)] = 0.25 * double(j) - 0.5;
    be.template gemm<double>(1.0, at.cview().transposed(), bt.cview().transposed(), 0.0, c.view(),
                             tailor::bias_relu_epilogue<double>{bias.data()});
    for (index_t i = 0; i < m; ++i)
        for (index_t j = 0; j < n; ++j) {
            double acc = bias[std::size_t(j)];
            for (index_t p = 0; p < k; ++p) acc += at.view()(p, i) * bt.view()(j, p);
            REQUIRE(close(c.view()(i, j), std::max(acc, 0.0), 1e-12));
        }
}

TEMPLATE_LIST_TEST_CASE("gemm_batched multiplies every batch entry", "[backend][gemm]", backends_under_test)
{
    TestType be;
    std::mt19937 rng(3);
    const index_t batch = 3, m = 5, k = 7, n = 2;
    std::vector<float> a(std::size_t(batch * m * k)), b(std::size_t(batch * k * n)), c(std::size_t(batch * m * n), 1.f);
    std::uniform_real_distribution<float> u(-1, 1);
    for (auto& x : a) x = u(rng);
    for (auto& x : b) x = u(rng);
    tailor::tensor_view<const float, 3> av(a.data(), {batch, m, k}), bv(b.data(), {batch, k, n});
    tailor::tensor_view<float, 3> cv(c.data(), {batch, m, n});
    be.template gemm_batched<float>(2.f, av, bv, 1.f, cv);
    for (index_t q = 0; q < batch; ++q)
        for (index_t i = 0; i < m; ++i)
            for (index_t j = 0; j < n; ++j) {
                double acc = 0;
                for (index_t p = 0; p < k; ++p) acc += double(av(q, i, p)) * bv(q, p, j);
                REQUIRE(close(cv(q, i, j), 2 * acc + 1, 1e-5));
            }
    tailor::tensor_view<float, 3> wrong(c.data(), {batch, m + 1, n});
    REQUIRE_THROWS_AS(be.template gemm_batched<float>(1.f, av, bv, 0.f, wrong), tailor::shape_error);
}

TEMPLATE_LIST_TEST_CASE("gemm rejects mismatched shapes, naming the argument", "[backend][gemm][errors]",
                        backends_under_test)
{
    TestType be;
    float a[6] = {}, b[6] = {}, c[4] = {};
    auto A = tailor::make_view(a, 2, 3);
    try {
        be.template gemm<float>(1.f, A, tailor::make_view(b, 2, 3), 0.f, tailor::make_view(c, 2, 2));
        FAIL("expected a shape_error");
    } catch (const tailor::shape_error& e) {
        REQUIRE_THAT(e.what(), Catch::Contains("'b'") && Catch::Contains("[2, 3]"));
    }
    REQUIRE_THROWS_AS(be.template gemm<float>(1.f, A, tailor::make_view(b, 3, 2), 0.f, tailor::make_view(c, 4, 1)),
                      tailor::shape_error);
}

namespace {

/// Reference softmax family in double.
std::vector<double> ref_logsumexp(matrix_view<const float> x)
{
    std::vector<double> out(std::size_t(x.rows()));
    for (index_t i = 0; i < x.rows(); ++i) {
        double m = -std::numeric_limits<double>::infinity();
        for (index_t j = 0; j < x.cols(); ++j) m = std::max(m, double(x(i, j)));
        double s = 0;
        for (index_t j = 0; j < x.cols(); ++j) s += std::exp(double(x(i, j)) - m);
        out[std::size_t(i)] = std::isinf(m) ? m : m + std::log(s);
    }
    return out;
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("softmax, log-softmax and logsumexp are stable and exact", "[backend][softmax]",
                        backends_under_test)
{
    TestType be;
    std::mt19937 rng(5);
    const index_t shapes[][2] = {{1, 1}, {1, 7}, {7, 1}, {13, 17}, {64, 1000}};
    for (const auto& sh : shapes)
        for (layout lx : all_layouts)
            for (layout ly : all_layouts) {
                stored_matrix<float> x(sh[0], sh[1], lx), y(sh[0], sh[1], ly), ly_(sh[0], sh[1], ly);
                x.fill_random(rng, -30, 30);
                if (sh[1] > 3) {  // extreme logits must neither overflow nor lose the winner
                    x.view()(0, 1) = 1e4f;
                    x.view()(0, 2) = -1e4f;
                }
                const auto lse = ref_logsumexp(x.cview());
                std::vector<float> got_lse(static_cast<std::size_t>(sh[0]));
                be.template logsumexp_rows<float>(x.cview(), tailor::make_view(got_lse.data(), sh[0]));
                be.template softmax_rows<float>(x.cview(), y.view());
                be.template log_softmax_rows<float>(x.cview(), ly_.view());
                INFO(sh[0] << "x" << sh[1] << " X " << name(lx) << " Y " << name(ly));
                for (index_t i = 0; i < sh[0]; ++i) {
                    REQUIRE(close(got_lse[std::size_t(i)], lse[std::size_t(i)], 2e-6));
                    double total = 0;
                    for (index_t j = 0; j < sh[1]; ++j) {
                        const double lp = double(x.view()(i, j)) - lse[std::size_t(i)];
                        REQUIRE(close(ly_.view()(i, j), lp, 2e-6, 2e-6));
                        REQUIRE(close(y.view()(i, j), std::exp(lp), 1e-5, 1e-7));
                        total += y.view()(i, j);
                    }
                    REQUIRE(close(total, 1.0, 1e-5));
                }
                REQUIRE(y.slack_untouched());
                REQUIRE(ly_.slack_untouched());
            }
}

TEMPLATE_LIST_TEST_CASE("softmax works in place and handles infinities as documented", "[backend][softmax]",
                        backends_under_test)
{
    TestType be;
    const float inf = std::numeric_limits<float>::infinity();
    float x[3 * 4] = {1, 2, 3, 4,  -inf, 0, -inf, 0,  -inf, -inf, -inf, -inf};
    float lse[3];
    be.template logsumexp_rows<float>(tailor::make_view(x, 3, 4), tailor::make_view(lse, 3));
    REQUIRE(lse[1] == Approx(std::log(2.0)));
    REQUIRE(lse[2] == -inf);  // an all -inf row has no mass: log 0
    auto xv = tailor::make_view(x, 3, 4);
    be.template softmax_rows<float>(xv, xv);  // in place
    REQUIRE(x[0] + x[1] + x[2] + x[3] == Approx(1.f));
    REQUIRE(x[3] == Approx(std::exp(4.0) / (std::exp(1.0) + std::exp(2.0) + std::exp(3.0) + std::exp(4.0))));
    REQUIRE(x[4] == 0.f);
    REQUIRE(x[5] == Approx(0.5f));
    float nanrow[3] = {0.f, std::numeric_limits<float>::quiet_NaN(), 1.f}, out;
    be.template logsumexp_rows<float>(tailor::make_view(nanrow, 1, 3), tailor::make_view(&out, 1));
    REQUIRE(std::isnan(out));
    float infrow[3] = {0.f, inf, 1.f};
    be.template logsumexp_rows<float>(tailor::make_view(infrow, 1, 3), tailor::make_view(&out, 1));
    REQUIRE(out == inf);
}

TEMPLATE_LIST_TEST_CASE("layer norm matches the reference", "[backend][layer_norm]", backends_under_test)
{
    TestType be;
    std::mt19937 rng(9);
    for (index_t cols : {1, 2, 31, 768})
        for (layout lx : {layout::row_major, layout::column_major}) {
            const index_t rows = 11;
            stored_matrix<float> x(rows, cols, lx), y(rows, cols, layout::padded);
            x.fill_random(rng, -3, 5);
            std::vector<float> gamma(static_cast<std::size_t>(cols)), beta(static_cast<std::size_t>(cols));
            for (index_t j = 0; j < cols; ++j) {
                gamma[std::size_t(j)] = 1.f + 0.01f * float(j % 7);
                beta[std::size_t(j)] = -0.1f * float(j % 5);
            }
            be.template layer_norm_rows<float>(x.cview(), tailor::make_view(gamma.data(), cols),
                                               tailor::make_view(beta.data(), cols), 1e-5f, y.view());
            for (index_t i = 0; i < rows; ++i) {
                double mean = 0, var = 0;
                for (index_t j = 0; j < cols; ++j) mean += x.view()(i, j);
                mean /= double(cols);
                for (index_t j = 0; j < cols; ++j) var += (x.view()(i, j) - mean) * (x.view()(i, j) - mean);
                var /= double(cols);
                for (index_t j = 0; j < cols; ++j) {
                    const double want = (x.view()(i, j) - mean) / std::sqrt(var + 1e-5) * gamma[std::size_t(j)] +
                                        beta[std::size_t(j)];
                    REQUIRE(close(y.view()(i, j), want, 1e-4, 1e-5));
                }
            }
            REQUIRE(y.slack_untouched());
        }
    float x[4] = {}, y[4], g[3] = {}, b[2] = {};
    REQUIRE_THROWS_AS(be.template layer_norm_rows<float>(tailor::make_view(x, 2, 2), tailor::make_view(g, 3),
                                                         tailor::make_view(b, 2), 1e-5f, tailor::make_view(y, 2, 2)),
                      tailor::shape_error);
    REQUIRE_THROWS_AS(be.template layer_norm_rows<float>(tailor::make_view(x, 2, 2), tailor::make_view(g, 2),
                                                         tailor::make_view(b, 2), -1.f, tailor::make_view(y, 2, 2)),
                      tailor::argument_error);
}

TEMPLATE_LIST_TEST_CASE("elementwise maps, fill and copy respect strides", "[backend][elementwise]",
                        backends_under_test)
{
    TestType be;
    std::mt19937 rng(13);
    for (layout la : all_layouts)
        for (layout lb : all_layouts) {
            stored_matrix<float> a(17, 5, la), b(17, 5, lb), y(17, 5, layout::padded);
            a.fill_random(rng);
            b.fill_random(rng);
            be.transform(a.cview(), y.view(), [](float v) { return 2.f * v + 1.f; });
            for (index_t i = 0; i < 17; ++i)
                for (index_t j = 0; j < 5; ++j) REQUIRE(y.view()(i, j) == 2.f * a.view()(i, j) + 1.f);
            be.transform(a.cview(), b.cview(), y.view(), tailor::multiplies{});
            for (index_t i = 0; i < 17; ++i)
                for (index_t j = 0; j < 5; ++j) REQUIRE(y.view()(i, j) == a.view()(i, j) * b.view()(i, j));
            be.template copy<float, 2>(a.cview(), b.view());
            for (index_t i = 0; i < 17; ++i)
                for (index_t j = 0; j < 5; ++j) REQUIRE(b.view()(i, j) == a.view()(i, j));
            be.template fill<float, 2>(b.view(), 4.5f);
            for (index_t i = 0; i < 17; ++i)
                for (index_t j = 0; j < 5; ++j) REQUIRE(b.view()(i, j) == 4.5f);
            REQUIRE(y.slack_untouched());
            REQUIRE(b.slack_untouched());
        }
    float v[5] = {1, 2, 3, 4, 5}, w[5];
    be.transform(vector_view<const float>(v, {3}, {2}), tailor::make_view(w, 3), [](float q) { return -q; });
    REQUIRE((w[0] == -1.f && w[1] == -3.f && w[2] == -5.f));
    REQUIRE_THROWS_AS(be.transform(tailor::make_view(v, 5), tailor::make_view(w, 4), [](float q) { return q; }),
                      tailor::shape_error);
}

TEMPLATE_LIST_TEST_CASE("reductions over all, rows and columns", "[backend][reduce]", backends_under_test)
{
    TestType be;
    std::mt19937 rng(17);
    for (layout lx : all_layouts) {
        const index_t rows = 23, cols = 9;
        stored_matrix<double> x(rows, cols, lx);
        x.fill_random(rng);
        double total = 0, big = -1e300;
        std::vector<double> row_sum(rows, 0.0), col_max(cols, -1e300);
        for (index_t i = 0; i < rows; ++i)
            for (index_t j = 0; j < cols; ++j) {
                const double v = x.view()(i, j);
                total += v;
                big = std::max(big, v);
                row_sum[std::size_t(i)] += v;
                col_max[std::size_t(j)] = std::max(col_max[std::size_t(j)], v);
            }
        REQUIRE(close(be.reduce(x.cview(), 1.0, tailor::plus{}), total + 1.0, 1e-12));
        REQUIRE(be.reduce(x.cview(), -1e300, tailor::maximum{}) == big);
        REQUIRE(close(be.reduce(x.cview(), 0.0, square_plus{}), total, 1e-12));
        std::vector<double> out_rows(rows), out_cols(cols);
        be.template reduce_rows<double>(x.cview(), tailor::make_view(out_rows.data(), rows), 0.0, tailor::plus{});
        be.template reduce_cols<double>(x.cview(), tailor::make_view(out_cols.data(), cols), -1e300, tailor::maximum{});
        for (index_t i = 0; i < rows; ++i) REQUIRE(close(out_rows[std::size_t(i)], row_sum[std::size_t(i)], 1e-12));
        for (index_t j = 0; j < cols; ++j) REQUIRE(out_cols[std::size_t(j)] == col_max[std::size_t(j)]);
    }
    float empty_dummy = 0;
    REQUIRE(be.reduce(matrix_view<const float>(&empty_dummy, {0, 3}), 2.5f, tailor::plus{}) == 2.5f);
    float v[4] = {1, 2, 3, 4};
    REQUIRE(be.reduce(vector_view<const float>(v, {2}, {2}), 0.f, tailor::plus{}) == 4.f);
}

TEMPLATE_LIST_TEST_CASE("gather and scatter by index", "[backend][index]", backends_under_test)
{
    TestType be;
    std::mt19937 rng(19);
    stored_matrix<float> src(7, 3, layout::column_major), dst(5, 3, layout::padded);
    src.fill_random(rng);
    const std::int32_t idx[5] = {6, 0, 0, 3, 6};
    be.template gather_rows<float>(src.cview(), tailor::make_view(idx, 5), dst.view());
    for (index_t i = 0; i < 5; ++i)
        for (index_t j = 0; j < 3; ++j) REQUIRE(dst.view()(i, j) == src.view()(idx[i], j));

    stored_matrix<float> acc(7, 3, layout::row_major);
    acc.fill_value(1.f);
    be.template scatter_add_rows<float>(dst.cview(), tailor::make_view(idx, 5), acc.view());
    for (index_t j = 0; j < 3; ++j) {
        REQUIRE(acc.view()(6, j) == Approx(1.f + 2.f * src.view()(6, j)));  // index 6 appears twice
        REQUIRE(acc.view()(0, j) == Approx(1.f + 2.f * src.view()(0, j)));
        REQUIRE(acc.view()(3, j) == Approx(1.f + src.view()(3, j)));
        REQUIRE(acc.view()(1, j) == 1.f);
    }

    const std::int64_t cols_idx[7] = {0, 2, 1, 1, 0, 2, 2};
    float picked[7];
    be.template gather_cols<float>(src.cview(), tailor::make_view(cols_idx, 7), tailor::make_view(picked, 7));
    for (index_t i = 0; i < 7; ++i) REQUIRE(picked[i] == src.view()(i, cols_idx[i]));

    const std::int32_t bad[5] = {0, 1, 7, 2, 3};
    try {
        be.template gather_rows<float>(src.cview(), tailor::make_view(bad, 5), dst.view());
        FAIL("expected an index_error");
    } catch (const tailor::index_error& e) {
        REQUIRE_THAT(e.what(), Catch::Contains("'idx'") && Catch::Contains("7 at position 2"));
    }
    const std::int64_t negative[7] = {0, 0, -1, 0, 0, 0, 0};
    REQUIRE_THROWS_AS(be.template gather_cols<float>(src.cview(), tailor::make_view(negative, 7),
                                                     tailor::make_view(picked, 7)),
                      tailor::index_error);
}

namespace {

/// A fused per-row cross-entropy written only with the row kernels: the shape every
/// softmax-family loss takes.
struct cross_entropy_row {
    const std::int32_t* labels;
    matrix_view<float> grad;
    template <class Row, class Kernels>
    float operator()(index_t r, const Row& row, const Kernels& k) const
    {
        const float lse = k.logsumexp(row);
        k.exp_shifted(row, lse, 1.f, grad.row(r));
        grad(r, labels[r]) -= 1.f;
        return lse - row(labels[r]);
    }
};

}  // namespace

TEMPLATE_LIST_TEST_CASE("map_rows runs a fused functor with the row kernels", "[backend][map_rows]",
                        backends_under_test)
{
    TestType be;
    std::mt19937 rng(23);
    for (layout lx : all_layouts) {
        const index_t rows = 37, cols = 101;
        stored_matrix<float> x(rows, cols, lx), grad(rows, cols, layout::padded);
        x.fill_random(rng, -8, 8);
        std::vector<std::int32_t> labels(rows);
        for (index_t i = 0; i < rows; ++i) labels[std::size_t(i)] = std::int32_t((i * 7) % cols);
        std::vector<float> loss(rows);
        be.template map_rows<float>(x.cview(), tailor::make_view(loss.data(), rows),
                                    cross_entropy_row{labels.data(), grad.view()});
        const auto lse = ref_logsumexp(x.cview());
        for (index_t i = 0; i < rows; ++i) {
            const auto y = labels[std::size_t(i)];
            REQUIRE(close(loss[std::size_t(i)], lse[std::size_t(i)] - x.view()(i, y), 2e-6, 2e-6));
            for (index_t j = 0; j < cols; ++j) {
                const double p = std::exp(double(x.view()(i, j)) - lse[std::size_t(i)]);
                REQUIRE(close(grad.view()(i, j), p - (j == y ? 1.0 : 0.0), 1e-5, 1e-7));
            }
        }
        REQUIRE(grad.slack_untouched());
    }
}

TEMPLATE_LIST_TEST_CASE("row kernels: max, sum, dot, sum_exp on strided rows", "[backend][row_kernels]",
                        backends_under_test)
{
    using kernels = typename TestType::row_kernels;
    STATIC_REQUIRE(tailor::row_kernel_set<kernels, float, tailor::host_space>);
    const kernels k{};
    float data[10] = {1, -1, 2, -1, 3, -1, 4, -1, 5, -1};
    vector_view<const float> odd(data, {5}, {2}), all(data, {10});
    REQUIRE(k.max(odd) == 5.f);
    REQUIRE(k.sum(odd) == 15.f);
    REQUIRE(k.dot(odd, odd) == 55.f);
    REQUIRE(k.sum_exp(odd, 5.f) == Approx(std::exp(-4.0) + std::exp(-3.0) + std::exp(-2.0) + std::exp(-1.0) + 1.0));
    REQUIRE(k.max(all) == 5.f);
    REQUIRE(k.max(vector_view<const float>(data, {0})) == -std::numeric_limits<float>::infinity());
    REQUIRE(k.logsumexp(vector_view<const float>(data, {0})) == -std::numeric_limits<float>::infinity());
}

TEMPLATE_LIST_TEST_CASE("row kernels: exp_shifted returns its row sum, masks -inf, may write in place",
                        "[backend][row_kernels]", backends_under_test)
{
    using kernels = typename TestType::row_kernels;
    const kernels k{};
    const float inf = std::numeric_limits<float>::infinity();
    std::mt19937 rng(5);
    std::uniform_real_distribution<float> uniform(-20.f, 20.f);
    // Lengths around the packet widths (4, 8, 16 floats) exercise every tail.
    for (index_t n : {1, 2, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 1000}) {
        for (int variant = 0; variant < 4; ++variant) {
            const bool masked = variant & 1, strided = variant & 2;
            const index_t stride = strided ? 3 : 1;
            std::vector<float> x(std::size_t(n * stride), 123.f), y(std::size_t(n * stride), 456.f);
            for (index_t j = 0; j < n; ++j) x[std::size_t(j * stride)] = uniform(rng);
            if (masked)
                for (index_t j = 0; j < n; j += 3) x[std::size_t(j * stride)] = -inf;
            const vector_view<const float> xv(x.data(), {n}, {stride});
            const vector_view<float> yv(y.data(), {n}, {stride});
            const float shift = 4.f, scale = 0.5f;
            const float total = k.exp_shifted(xv, shift, scale, yv);
            double expected_total = 0, written_total = 0;
            for (index_t j = 0; j < n; ++j) {
                const float xj = x[std::size_t(j * stride)], yj = y[std::size_t(j * stride)];
                const double expected = scale * std::exp(double(xj) - shift);
                if (xj == -inf)
                    REQUIRE(yj == 0.f);  // exactly nothing, not a clamped tiny value
                else
                    REQUIRE(close(yj, expected, 2e-6, 1e-30));
                expected_total += expected;
                written_total += yj;
            }
            REQUIRE(close(total, written_total, 2e-6, 1e-30));
            REQUIRE(close(total, expected_total, 2e-6, 1e-30));
            for (std::size_t i = 0; i < y.size(); ++i)
                if (i % std::size_t(stride) != 0) REQUIRE(y[i] == 456.f);  // the gaps stay untouched

            // In place: the result equals the out-of-place one bit for bit.
            std::vector<float> in_place = x;
            const vector_view<float> inv(in_place.data(), {n}, {stride});
            const float total_in_place = k.exp_shifted(vector_view<const float>(inv), shift, scale, inv);
            REQUIRE(total_in_place == total);
            for (index_t j = 0; j < n; ++j) REQUIRE(in_place[std::size_t(j * stride)] == y[std::size_t(j * stride)]);
        }
    }
    // Arguments far below the max (e^-100) come out as exactly 0 on every backend that
    // flushes them, and never as NaN.
    float far[3] = {0.f, -100.f, -1e30f}, out[3];
    const float total = k.exp_shifted(vector_view<const float>(far, {3}), 0.f, 1.f, vector_view<float>(out, {3}));
    REQUIRE(out[0] == 1.f);
    REQUIRE(out[1] < 1e-40f);
    REQUIRE(out[2] == 0.f);
    REQUIRE(total == Approx(1.f));
    // A NaN anywhere shows in the sum.
    float with_nan[20];
    for (float& v : with_nan) v = 1.f;
    with_nan[17] = std::numeric_limits<float>::quiet_NaN();
    float nan_out[20];
    REQUIRE(std::isnan(k.exp_shifted(vector_view<const float>(with_nan, {20}), 1.f, 1.f, vector_view<float>(nan_out, {20}))));
    REQUIRE(std::isnan(nan_out[17]));
}

TEMPLATE_LIST_TEST_CASE("row kernels: min_max, and exp_shifted told the minimum or shifted below the max, agree with "
                        "exp_shifted", "[backend][row_kernels]", backends_under_test)
{
    using kernels = typename TestType::row_kernels;
    const kernels k{};
    const float inf = std::numeric_limits<float>::infinity();
    std::mt19937 rng(11);
    std::uniform_real_distribution<float> uniform(-30.f, 30.f);
    for (index_t n : {1, 2, 15, 16, 17, 31, 32, 33, 64, 65, 1000}) {
        for (int variant = 0; variant < 4; ++variant) {
            const bool masked = variant & 1, strided = variant & 2;
            const index_t stride = strided ? 2 : 1;
            std::vector<float> x(std::size_t(n * stride), 1e9f);
            for (index_t j = 0; j < n; ++j) x[std::size_t(j * stride)] = uniform(rng);
            if (masked && n > 1) x[std::size_t((n / 2) * stride)] = -inf;
            const vector_view<const float> xv(x.data(), {n}, {stride});

            float low = inf, high = -inf;
            for (index_t j = 0; j < n; ++j) low = std::min(low, xv(j)), high = std::max(high, xv(j));
            const auto [got_low, got_high] = k.min_max(xv);
            REQUIRE(got_low == low);
            REQUIRE(got_high == high);

            INFO("n " << n << " masked " << masked << " strided " << strided);
            // The reference: exp_shifted at the row max, then again told the minimum. Contiguous
            // rows take the same packet loop each time, so the results agree bit for bit;
            // strided rows go through Eigen expressions, whose summation order follows the
            // output's address, so they agree to rounding.
            auto same = [&](float got, float expected) {
                return strided ? close(got, expected, 1e-6, 1e-30) : got == expected;
            };
            std::vector<float> want(static_cast<std::size_t>(n)), told(want), shifted(want);
            const float want_total = k.exp_shifted(xv, high, 1.f, vector_view<float>(want.data(), {n}));
            const float told_total = k.exp_shifted(xv, high, 1.f, vector_view<float>(told.data(), {n}), low);
            REQUIRE(same(told_total, want_total));
            for (std::size_t j = 0; j < want.size(); ++j) REQUIRE(same(told[j], want[j]));

            // Shifted by the first element (below the max by up to 60) it is the same softmax.
            const float first = xv(0);
            const float first_total = k.exp_shifted(xv, first, 1.f, vector_view<float>(shifted.data(), {n}));
            for (index_t j = 0; j < n; ++j) {
                REQUIRE(close(shifted[std::size_t(j)] / first_total, want[std::size_t(j)] / want_total, 3e-6, 1e-30));
                if (xv(j) == -inf) REQUIRE(shifted[std::size_t(j)] == 0.f);
            }
            for (std::size_t i = 0; i < x.size(); ++i)
                if (i % std::size_t(stride) != 0) REQUIRE(x[i] == 1e9f);
        }
    }
    float wide[3] = {0.f, 70.f, 1.f};
    const auto empty = k.min_max(vector_view<const float>(wide, {0}));
    REQUIRE(empty.first == inf);
    REQUIRE(empty.second == -inf);
}

TEMPLATE_LIST_TEST_CASE("row kernels: exp_shifted is accurate to about an ulp over the whole unclamped range",
                        "[backend][row_kernels]", backends_under_test)
{
    using kernels = typename TestType::row_kernels;
    const kernels k{};
    // Every argument from the zero bound (log(FLT_MIN) + 24, about -63.3) up to 88.7 in steps
    // of 1/1024, a row at a time, against exp in double.
    const index_t n = 4096;
    std::vector<float> x(static_cast<std::size_t>(n)), y(static_cast<std::size_t>(n));
    double worst = 0;
    for (float start = -63.f; start < 88.7f; start += float(n) / 1024.f) {
        for (index_t j = 0; j < n; ++j) x[std::size_t(j)] = std::min(start + float(j) / 1024.f, 88.7f);
        k.exp_shifted(vector_view<const float>(x.data(), {n}), 0.f, 1.f, vector_view<float>(y.data(), {n}));
        for (index_t j = 0; j < n; ++j) {
            const double want = std::exp(double(x[std::size_t(j)]));
            worst = std::max(worst, std::abs(double(y[std::size_t(j)]) - want) / want);
        }
    }
    INFO("largest relative error " << worst);
    REQUIRE(worst < 2.5e-7);  // 2.1 ulp of float's 1.19e-7
}

TEMPLATE_LIST_TEST_CASE("row kernels: exp_shifted_moments is exp_shifted with the max and the coefficient sums",
                        "[backend][row_kernels]", backends_under_test)
{
    using kernels = typename TestType::row_kernels;
    const kernels k{};
    const float inf = std::numeric_limits<float>::infinity();
    std::mt19937 rng(23);
    std::normal_distribution<float> normal(0.f, 4.f);
    std::uniform_real_distribution<float> share(0.f, 1.f);
    for (index_t n : {1, 2, 15, 16, 17, 31, 32, 33, 47, 1000}) {
        for (int variant = 0; variant < 8; ++variant) {
            const bool strided = variant & 1, sparse = variant & 2, masked = variant & 4;
            const index_t stride = strided ? 3 : 1;
            std::vector<float> x(std::size_t(n * stride), 7e9f), c(x.size(), 7e9f), y(x.size(), 7e9f);
            const vector_view<float> xv(x.data(), {n}, {stride}), cv(c.data(), {n}, {stride}), yv(y.data(), {n}, {stride});
            for (index_t j = 0; j < n; ++j) {
                xv(j) = normal(rng);
                cv(j) = sparse && j % 3 != 0 ? 0.f : share(rng);
            }
            // A -inf logit with no coefficient adds nothing; its exp is exactly 0.
            if (masked && n > 1) xv(n - 1) = -inf, cv(n - 1) = 0.f;
            float high = -inf;
            for (index_t j = 0; j < n; ++j) high = std::max(high, xv(j));
            for (const float shift : {high, xv(0), xv(0) - 5.f}) {
                INFO("n " << n << " variant " << variant << " shift " << shift);
                const tailor::exp_moments<float> got =
                    k.exp_shifted_moments(vector_view<const float>(xv), vector_view<const float>(cv), shift, yv);
                std::vector<float> want(static_cast<std::size_t>(n));
                const float want_total = k.exp_shifted(vector_view<const float>(xv), shift, 1.f, make_view(want.data(), n));
                double mass = 0, gap = 0;
                const double top = std::max(shift, high);
                for (index_t j = 0; j < n; ++j) {
                    mass += cv(j);
                    if (cv(j) != 0.f) gap += double(cv(j)) * (top - double(xv(j)));
                }
                REQUIRE(got.top == float(top));
                REQUIRE(close(got.total, want_total, 4e-6, 0));
                REQUIRE(close(got.mass, mass, 4e-6, 1e-30));
                REQUIRE(close(got.gap, gap, 4e-6, 1e-30));
                // The same exponentials as exp_shifted writes; the gaps between strided
                // entries are left alone.
                for (index_t j = 0; j < n; ++j) REQUIRE(yv(j) == want[std::size_t(j)]);
                for (std::size_t i = 0; i < y.size(); ++i)
                    if (i % std::size_t(stride) != 0) REQUIRE(y[i] == 7e9f);
            }
        }
    }
    // A coefficient on a -inf logit is an infinitely large gap; the row max rising past
    // earlier coefficients is what the lanes' own running maxima must account for.
    std::vector<float> x(40, 0.f), c(40, 0.f), y(40);
    x[3] = -inf, c[3] = 0.5f;
    const auto infinite = k.exp_shifted_moments(make_view<const float>(x.data(), 40), make_view<const float>(c.data(), 40),
                                                0.f, make_view(y.data(), 40));
    REQUIRE(infinite.gap == inf);
    REQUIRE(y[3] == 0.f);
    for (index_t j = 0; j < 40; ++j) x[std::size_t(j)] = float(j), c[std::size_t(j)] = 1.f;
    const auto rising = k.exp_shifted_moments(make_view<const float>(x.data(), 40), make_view<const float>(c.data(), 40),
                                              0.f, make_view(y.data(), 40));
    REQUIRE(rising.top == 39.f);
    REQUIRE(rising.mass == 40.f);
    REQUIRE(rising.gap == 780.f);  // sum of 39 - j
    // Lengths are checked.
    REQUIRE_THROWS_AS(k.exp_shifted_moments(make_view<const float>(x.data(), 40), make_view<const float>(c.data(), 39),
                                            0.f, make_view(y.data(), 40)),
                      tailor::error);
}

TEMPLATE_LIST_TEST_CASE("row kernels: scan_shares checks a target row and finds one or two classes",
                        "[backend][row_kernels]", backends_under_test)
{
    using kernels = typename TestType::row_kernels;
    const kernels k{};
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    std::mt19937 rng(5);
    for (index_t n : {1, 2, 15, 16, 17, 33, 1000}) {
        for (index_t stride : {1, 3}) {
            std::vector<float> row(std::size_t(n * stride), 9.f);  // the gaps hold non-zeros
            const tailor::vector_view<float> v(row.data(), {n}, {stride});
            const tailor::vector_view<const float> cv(v);
            auto clear = [&] {
                for (index_t j = 0; j < n; ++j) v(j) = (j % 5 == 0) ? -0.f : 0.f;
            };
            auto expect = [&](bool valid, int nonzeros, std::vector<index_t> labels) {
                const tailor::share_support got = k.scan_shares(cv);
                INFO("n " << n << " stride " << stride);
                REQUIRE(got.valid == valid);
                REQUIRE(got.nonzeros == nonzeros);
                for (std::size_t e = 0; e < labels.size(); ++e) REQUIRE(got.label[e] == labels[e]);
            };
            clear();
            expect(true, 0, {});
            std::uniform_int_distribution<index_t> pick(0, n - 1);
            for (int trial = 0; trial < 20; ++trial) {
                clear();
                const index_t a = pick(rng), b = pick(rng);
                v(a) = 0.25f;
                v(b) = std::numeric_limits<float>::denorm_min();  // the smallest share still counts
                if (a == b) expect(true, 1, {a});
                else expect(true, 2, {std::min(a, b), std::max(a, b)});
                if (n >= 3 && a != b) {
                    index_t c = pick(rng);
                    while (c == a || c == b) c = (c + 1) % n;
                    v(c) = std::numeric_limits<float>::max();
                    expect(true, 3, {std::min({a, b, c})});
                }
            }
            // Fully dense: counted up to three, the first two found.
            for (index_t j = 0; j < n; ++j) v(j) = 1.f / float(n);
            expect(true, std::min<int>(int(n), 3), n >= 2 ? std::vector<index_t>{0, 1} : std::vector<index_t>{0});
            for (float bad : {-1.f, -std::numeric_limits<float>::denorm_min(), nan, -nan, inf, -inf}) {
                clear();
                v(n - 1) = bad;
                REQUIRE_FALSE(k.scan_shares(cv).valid);
                for (index_t j = 0; j < n; ++j) v(j) = 0.5f;
                v(n / 2) = bad;
                REQUIRE_FALSE(k.scan_shares(cv).valid);
            }
        }
    }
    // double rows take the element-by-element path
    std::vector<double> d = {0.0, 0.3, -0.0, 0.0, 0.7};
    const auto got = k.scan_shares(tailor::vector_view<const double>(d.data(), {5}));
    REQUIRE(got.valid);
    REQUIRE(got.nonzeros == 2);
    REQUIRE(got.label[0] == 1);
    REQUIRE(got.label[1] == 4);
    d[2] = -1e-300;
    REQUIRE_FALSE(k.scan_shares(tailor::vector_view<const double>(d.data(), {5})).valid);
}
