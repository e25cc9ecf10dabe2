// The xtensor bridges (view an xtensor object, adapt a view as an xtensor expression) and
// a few direct checks of the xtensor backend's GEMM on layouts BLAS takes in place.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include <xtensor/xarray.hpp>
#include <xtensor/xfixed.hpp>
#include <xtensor/xmanipulation.hpp>
#include <xtensor/xtensor.hpp>
#include <xtensor/xview.hpp>

#include "tailor/backend/xtensor/adapt.hpp"
#include "tailor/backend/xtensor/backend.hpp"

using tailor::index_t;
using tailor::matrix_view;
using tailor::vector_view;
namespace tx = tailor::xtensor;

namespace {

xt::xtensor<float, 2> counting(std::size_t rows, std::size_t cols)
{
    xt::xtensor<float, 2> m = xt::zeros<float>({rows, cols});
    for (std::size_t i = 0; i < rows; ++i)
        for (std::size_t j = 0; j < cols; ++j) m(i, j) = float(10 * i + j);
    return m;
}

template <class T, std::size_t R>
using view_element_t = typename tailor::tensor_view<T, R>::element_type;

template <class E>
concept viewable = requires(E&& e) { tx::view(std::forward<E>(e)); };

/// C = alpha A B + beta C in double, element by element.
template <class A, class B, class C>
std::vector<double> reference_gemm(double alpha, const A& a, const B& b, double beta, const C& c)
{
    std::vector<double> out;
    for (index_t i = 0; i < a.rows(); ++i)
        for (index_t j = 0; j < b.cols(); ++j) {
            double acc = 0;
            for (index_t p = 0; p < a.cols(); ++p) acc += double(a(i, p)) * double(b(p, j));
            out.push_back(alpha * acc + (beta == 0 ? 0.0 : beta * double(c(i, j))));
        }
    return out;
}

template <class C>
void require_matches(const C& c, const std::vector<double>& want, double tol)
{
    std::size_t k = 0;
    for (index_t i = 0; i < c.rows(); ++i)
        for (index_t j = 0; j < c.cols(); ++j, ++k) REQUIRE(double(c(i, j)) == Approx(want[k]).epsilon(tol).margin(tol));
}

}  // namespace

TEST_CASE("xtensor view: a row-major xtensor is seen in place, writes go through", "[xtensor][adapt]")
{
    auto m = counting(3, 4);
    auto v = tx::view(m);
    STATIC_REQUIRE(std::is_same_v<decltype(v), tailor::tensor_view<float, 2>>);
    REQUIRE(v.data() == m.data());
    REQUIRE(v.extents() == tailor::extents_t<2>{3, 4});
    REQUIRE(v.strides() == tailor::extents_t<2>{4, 1});
    REQUIRE(v.is_contiguous());
    for (index_t i = 0; i < 3; ++i)
        for (index_t j = 0; j < 4; ++j) REQUIRE(v(i, j) == m(i, j));
    v(2, 1) = -5.f;
    REQUIRE(m(2, 1) == -5.f);

    const auto& cm = m;
    STATIC_REQUIRE(std::is_same_v<decltype(tx::view(cm)), tailor::tensor_view<const float, 2>>);
    // A temporary container would leave the view dangling; non-owning temporaries are fine.
    STATIC_REQUIRE(viewable<xt::xtensor<float, 2>&>);
    STATIC_REQUIRE(!viewable<xt::xtensor<float, 2>>);
    STATIC_REQUIRE(!viewable<xt::xarray<float>>);
    STATIC_REQUIRE(viewable<tx::adaptor<float, 2>>);
}

TEST_CASE("xtensor view: extents of 1 keep xtensor's stride 0, which views accept", "[xtensor][adapt]")
{
    xt::xtensor<double, 2> row = {{1.0, 2.0, 3.0}};
    auto v = tx::view(row);
    REQUIRE(v.stride(0) == 0);
    REQUIRE(v.is_contiguous());
    REQUIRE(v.has_unit_inner_stride());
    REQUIRE(v(0, 2) == 3.0);
    xt::xtensor<double, 2> col = {{1.0}, {2.0}};
    auto c = tx::view(col);
    REQUIRE(c.stride(1) == 0);
    REQUIRE(c(1, 0) == 2.0);
}

TEST_CASE("xtensor view: column-major, fixed, dynamic-rank and strided xtensor objects", "[xtensor][adapt]")
{
    SECTION("column-major")
    {
        xt::xtensor<float, 2, xt::layout_type::column_major> m = counting(3, 5);
        auto v = tx::view(m);
        REQUIRE(v.strides() == tailor::extents_t<2>{1, 3});
        for (index_t i = 0; i < 3; ++i)
            for (index_t j = 0; j < 5; ++j) REQUIRE(v(i, j) == m(i, j));
        REQUIRE(v.transposed().is_contiguous());
    }
    SECTION("xtensor_fixed")
    {
        xt::xtensor_fixed<int, xt::xshape<2, 3>> f = {{1, 2, 3}, {4, 5, 6}};
        auto v = tx::view(f);
        STATIC_REQUIRE(decltype(v)::rank == 2);
        REQUIRE(v(1, 2) == 6);
    }
    SECTION("xarray needs its rank spelled out, and it is checked")
    {
        xt::xarray<float> a = counting(2, 3);
        auto v = tx::view<2>(a);
        REQUIRE(v(1, 2) == 12.f);
        REQUIRE_THROWS_AS(tx::view<3>(a), tailor::shape_error);
    }
    SECTION("a strided xt::view carries its offset and strides")
    {
        auto m = counting(5, 6);
        auto sub = xt::view(m, xt::range(1, 4), xt::range(0, 6, 2));
        auto v = tx::view(sub);
        REQUIRE(v.extents() == tailor::extents_t<2>{3, 3});
        REQUIRE(v.strides() == tailor::extents_t<2>{6, 2});
        for (index_t i = 0; i < 3; ++i)
            for (index_t j = 0; j < 3; ++j) REQUIRE(v(i, j) == m(std::size_t(i + 1), std::size_t(2 * j)));
        v(0, 1) = 99.f;
        REQUIRE(m(1, 2) == 99.f);
    }
    SECTION("a transpose is a free view")
    {
        auto m = counting(2, 3);
        auto v = tx::view(xt::transpose(m));
        REQUIRE(v.extents() == tailor::extents_t<2>{3, 2});
        REQUIRE(v.data() == m.data());
        REQUIRE(v(2, 1) == m(1, 2));
    }
    SECTION("negative strides are refused")
    {
        auto m = counting(3, 3);
        REQUIRE_THROWS_AS(tx::view(xt::view(m, xt::range(2, xt::placeholders::_, -1), xt::all())),
                          tailor::shape_error);
    }
}

TEST_CASE("xtensor adapt: round trips and shares memory", "[xtensor][adapt]")
{
    auto m = counting(4, 3);
    const auto v = tx::view(m);
    auto a = tx::adapt(v);
    REQUIRE(a.dimension() == 2);
    REQUIRE(a.shape()[0] == 4);
    REQUIRE(a.shape()[1] == 3);
    REQUIRE(a.data() == m.data());
    REQUIRE((a == m));  // parenthesised: xtensor's operators would swallow Catch's decomposer
    a(3, 2) = 7.5f;
    REQUIRE(m(3, 2) == 7.5f);

    // view -> adapt -> view gives back the same view.
    const auto again = tx::view(a);
    REQUIRE(again.data() == v.data());
    REQUIRE(again.extents() == v.extents());
    REQUIRE(again.strides() == v.strides());

    const tailor::tensor_view<const float, 2> cv = v;
    auto ca = tx::adapt(cv);
    STATIC_REQUIRE(std::is_same_v<std::remove_reference_t<decltype(*ca.data())>, const float>);
    REQUIRE(xt::sum(ca)() == Approx(xt::sum(m)()));
}

TEST_CASE("xtensor adapt: padded and transposed views follow their strides", "[xtensor][adapt]")
{
    // A 3 x 4 matrix in rows of 6 with -1 in the padding.
    std::vector<float> buffer(18, -1.f);
    matrix_view<float> padded(buffer.data(), {3, 4}, {6, 1});
    for (index_t i = 0; i < 3; ++i)
        for (index_t j = 0; j < 4; ++j) padded(i, j) = float(i * 4 + j);

    auto a = tx::adapt(padded);
    REQUIRE(xt::sum(a)() == Approx(66.0));  // 0 + 1 + ... + 11, padding skipped
    REQUIRE(xt::amax(a)() == 11.f);
    xt::noalias(a) = 2.f * a + 1.f;
    for (index_t i = 0; i < 3; ++i)
        for (index_t j = 0; j < 4; ++j) REQUIRE(padded(i, j) == float(2 * (i * 4 + j) + 1));
    for (index_t i = 0; i < 3; ++i)
        for (index_t j = 4; j < 6; ++j) REQUIRE(buffer[std::size_t(i * 6 + j)] == -1.f);

    auto t = tx::adapt(padded.transposed());
    REQUIRE(t.shape()[0] == 4);
    REQUIRE(t.shape()[1] == 3);
    REQUIRE((t == xt::transpose(a)));
    const xt::xtensor<float, 2> dense = t;  // a copy made from the strided adaptor
    for (index_t i = 0; i < 4; ++i)
        for (index_t j = 0; j < 3; ++j) REQUIRE(dense(std::size_t(i), std::size_t(j)) == padded(j, i));

    // Every other element of a vector.
    float v[6] = {1, 9, 2, 9, 3, 9};
    auto strided = tx::adapt(vector_view<float>(v, {3}, {2}));
    REQUIRE(xt::sum(strided)() == 6.f);
    xt::noalias(strided) = strided * 10.f;
    REQUIRE((v[0] == 10.f && v[1] == 9.f && v[2] == 20.f && v[4] == 30.f && v[5] == 9.f));
}

TEST_CASE("xtensor adapt: empty views adapt to empty expressions", "[xtensor][adapt]")
{
    matrix_view<float> empty(nullptr, {0, 5});
    auto a = tx::adapt(empty);
    REQUIRE(a.size() == 0);
    REQUIRE(a.shape()[1] == 5);
    REQUIRE(xt::sum(a)() == 0.f);
}

TEST_CASE("xtensor backend: gemm takes transposed A and B in place and honours beta", "[xtensor][gemm]")
{
    tx::backend be;
    const auto at = counting(4, 3);                   // A = at^T is 3 x 4
    xt::xtensor<float, 2> bt = counting(5, 4) * 0.1f;  // B = bt^T is 4 x 5
    xt::xtensor<float, 2> c = counting(3, 5) * -0.5f;
    const xt::xtensor<float, 2> c0 = c;
    const auto a_view = tx::view(at).transposed();
    const auto b_view = tx::view(bt).transposed();
    const auto want = reference_gemm(2.0, a_view, b_view, 0.25, tx::view(c0));
    be.gemm<float>(2.f, a_view, b_view, 0.25f, tx::view(c));
    require_matches(tx::view(c), want, 1e-5);

    SECTION("beta == 0 does not read C")
    {
        c.fill(std::numeric_limits<float>::quiet_NaN());
        be.gemm<float>(2.f, a_view, b_view, 0.f, tx::view(c));
        require_matches(tx::view(c), reference_gemm(2.0, a_view, b_view, 0.0, tx::view(c)), 1e-5);
    }
    SECTION("column-major C")
    {
        xt::xtensor<double, 2, xt::layout_type::column_major> cc = xt::ones<double>({3, 5});
        const xt::xtensor<double, 2> a = xt::cast<double>(xt::transpose(at));
        const xt::xtensor<double, 2> b = xt::cast<double>(xt::transpose(bt));
        const auto want_cm = reference_gemm(-1.0, tx::view(a), tx::view(b), 3.0, tx::view(cc));
        be.gemm<double>(-1.0, tx::view(a), tx::view(b), 3.0, tx::view(cc));
        require_matches(tx::view(cc), want_cm, 1e-12);
    }
    SECTION("C and A with unit stride in neither dimension, packed and written back")
    {
        // Every other column of wider matrices: strides {2 cols, 2}.
        xt::xtensor<float, 2> wide_c = xt::full_like(xt::xtensor<float, 2>::from_shape({3, 10}), 4.f);
        auto c_view = tx::view(wide_c).slice(1, 0, 10);
        const matrix_view<float> every_other(c_view.data(), {3, 5}, {10, 2});
        const auto wide_a = counting(3, 8);
        const matrix_view<const float> a_strided(wide_a.data(), {3, 4}, {8, 2});
        const auto want_s = reference_gemm(1.0, a_strided, b_view, -1.0, every_other);
        be.gemm<float>(1.f, a_strided, b_view, -1.f, every_other);
        require_matches(every_other, want_s, 1e-5);
        for (std::size_t i = 0; i < 3; ++i)
            for (std::size_t j = 1; j < 10; j += 2) REQUIRE(wide_c(i, j) == 4.f);  // untouched in between
    }
    SECTION("single rows and columns, where xtensor reports stride 0")
    {
        xt::xtensor<float, 2> a_row = {{1.f, 2.f, 3.f, 4.f}};
        xt::xtensor<float, 2> b_col = {{1.f}, {-1.f}, {2.f}, {0.5f}};
        xt::xtensor<float, 2> c11 = {{10.f}};
        be.gemm<float>(1.f, tx::view(a_row), tx::view(b_col), 1.f, tx::view(c11));
        REQUIRE(c11(0, 0) == Approx(10.f + 1.f - 2.f + 6.f + 2.f));
        xt::xtensor<float, 2> outer = xt::zeros<float>({4, 4});
        be.gemm<float>(1.f, tx::view(b_col), tx::view(a_row), 0.f, tx::view(outer));
        REQUIRE(outer(2, 3) == Approx(8.f));
        REQUIRE(outer(1, 0) == Approx(-1.f));
    }
    SECTION("an epilogue sees the finished value")
    {
        const float bias[5] = {1, 2, 3, 4, 5};
        be.gemm<float>(1.f, a_view, b_view, 0.f, tx::view(c), tailor::bias_epilogue<float>{bias});
        const auto plain = reference_gemm(1.0, a_view, b_view, 0.0, tx::view(c));
        for (std::size_t i = 0; i < 3; ++i)
            for (std::size_t j = 0; j < 5; ++j) REQUIRE(c(i, j) == Approx(plain[i * 5 + j] + bias[j]).epsilon(1e-5));
    }
}

TEST_CASE("xtensor backend: row ops on xtensor data", "[xtensor][backend]")
{
    tx::backend be;
    const float inf = std::numeric_limits<float>::infinity();
    xt::xtensor<float, 2> x = {{1.f, 2.f, 3.f}, {-inf, -inf, -inf}, {0.f, inf, 1.f}};
    xt::xtensor<float, 1> lse = xt::zeros<float>({3});
    be.logsumexp_rows<float>(tx::view(x), tx::view(lse));
    REQUIRE(lse(0) == Approx(std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0))));
    REQUIRE(lse(1) == -inf);
    REQUIRE(lse(2) == inf);
    REQUIRE(tx::row_kernels::max(tx::view(x).row(1)) == -inf);  // not -FLT_MAX, as xt::amax gives

    xt::xtensor<float, 2> y = xt::zeros<float>({3, 3});
    const auto top = tx::view(x).slice(0, 0, 1);
    be.softmax_rows<float>(top, tx::view(y).slice(0, 0, 1));
    const auto expected = xt::eval(xt::exp(xt::view(x, 0) - lse(0)));
    for (std::size_t j = 0; j < 3; ++j) REQUIRE(y(0, j) == Approx(expected(j)));

    // reduce folds as op(init, fold(elements)): a non-identity init enters once.
    xt::xtensor<double, 2> m = {{1.0, 2.0}, {3.0, 4.0}};
    REQUIRE(be.reduce(matrix_view<const double>(tx::view(m)), 2.0, tailor::multiplies{}) == 48.0);
    REQUIRE(be.reduce(matrix_view<const double>(tx::view(m).transposed()), 0.5, tailor::plus{}) == 10.5);
}
