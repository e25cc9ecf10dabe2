// Views, owning tensors, errors and the Eigen bridge.
#include <catch2/catch.hpp>

#include <Eigen/Core>
#include <numeric>

#include "tailor/backend/eigen/adapt.hpp"
#include "tailor/core/tensor.hpp"

using tailor::index_t;

TEST_CASE("a contiguous view computes row-major strides and indexes elements", "[view]")
{
    std::vector<int> data(24);
    std::iota(data.begin(), data.end(), 0);
    tailor::tensor_view<int, 3> v(data.data(), {2, 3, 4});
    REQUIRE(v.strides() == tailor::extents_t<3>{12, 4, 1});
    REQUIRE(v.size() == 24);
    REQUIRE(v.is_contiguous());
    REQUIRE(v(1, 2, 3) == 23);
    REQUIRE(v[1](0, 1) == 13);
    auto m = v.reshaped<2>({6, 4});
    REQUIRE(m(5, 3) == 23);
    REQUIRE_THROWS_AS(v.reshaped<2>({5, 4}), tailor::shape_error);
}

TEST_CASE("transposes, slices and columns are views with the right strides", "[view]")
{
    std::vector<float> data(12);
    std::iota(data.begin(), data.end(), 0.f);
    auto m = tailor::make_view(data.data(), 3, 4);
    auto t = m.transposed();
    REQUIRE(t.rows() == 4);
    REQUIRE(t.cols() == 3);
    REQUIRE(t(3, 2) == m(2, 3));
    REQUIRE_FALSE(t.is_contiguous());
    REQUIRE_FALSE(t.has_unit_inner_stride());
    auto s = m.slice(1, 1, 3);
    REQUIRE(s.cols() == 2);
    REQUIRE(s(2, 0) == 9.f);
    REQUIRE_FALSE(s.is_contiguous());
    REQUIRE(s.has_unit_inner_stride());
    auto c = m.col(2);
    REQUIRE(c.extent(0) == 3);
    REQUIRE(c(2) == 10.f);
    m.row(1)(0) = -1.f;  // writes go through to caller memory
    REQUIRE(data[4] == -1.f);
    REQUIRE(m.slice(0, 3, 3).empty());
    REQUIRE_THROWS_AS(m.slice(1, 2, 5), tailor::index_error);
    REQUIRE_THROWS_AS(m.slice(2, 0, 1), tailor::shape_error);
}

TEST_CASE("views convert to const, never from const", "[view]")
{
    STATIC_REQUIRE(std::is_convertible_v<tailor::matrix_view<float>, tailor::matrix_view<const float>>);
    STATIC_REQUIRE_FALSE(std::is_convertible_v<tailor::matrix_view<const float>, tailor::matrix_view<float>>);
    STATIC_REQUIRE_FALSE(std::is_convertible_v<tailor::matrix_view<float, tailor::device_space>,
                                               tailor::matrix_view<const float>>);
    STATIC_REQUIRE(tailor::is_host_accessible<tailor::host_space>);
    STATIC_REQUIRE_FALSE(tailor::is_host_accessible<tailor::device_space>);
}

TEST_CASE("bad view arguments throw errors naming the argument", "[view][errors]")
{
    float x = 0;
    try {
        tailor::matrix_view<float> bad(&x, {2, -1});
        FAIL("expected a shape_error");
    } catch (const tailor::shape_error& e) {
        REQUIRE_THAT(e.what(), Catch::Contains("'extents'") && Catch::Contains("[2, -1]"));
    }
    REQUIRE_THROWS_AS(tailor::matrix_view<float>(nullptr, {2, 2}), tailor::shape_error);
    REQUIRE_NOTHROW(tailor::matrix_view<float>(nullptr, {0, 2}));
    REQUIRE_THROWS_AS(tailor::matrix_view<float>(&x, {1, 1}, {1, -1}), tailor::shape_error);
    STATIC_REQUIRE(std::is_base_of_v<tailor::error, tailor::shape_error>);
    STATIC_REQUIRE(std::is_base_of_v<tailor::argument_error, tailor::index_error>);
    STATIC_REQUIRE(std::is_base_of_v<tailor::io_error, tailor::parse_error>);
}

TEST_CASE("owning tensors are aligned, copyable and hand out views", "[tensor]")
{
    tailor::matrix<float> m({3, 5}, 2.f);
    REQUIRE(reinterpret_cast<std::uintptr_t>(m.data()) % 64 == 0);
    REQUIRE(m.size() == 15);
    m(2, 4) = 7.f;
    tailor::matrix<float> copy = m;
    copy(0, 0) = -1.f;
    REQUIRE(m(0, 0) == 2.f);
    REQUIRE(copy(2, 4) == 7.f);
    tailor::matrix_view<const float> v = m;
    REQUIRE(v(2, 4) == 7.f);
    tailor::matrix<float> moved = std::move(copy);
    REQUIRE(moved(0, 0) == -1.f);
    tailor::vector<double> empty({0});
    REQUIRE(empty.size() == 0);
    REQUIRE_THROWS_AS(tailor::vector<float>({-2}), tailor::shape_error);
}

TEST_CASE("Eigen matrices are viewed without copies, in either storage order", "[view][eigen]")
{
    Eigen::MatrixXf col_major(3, 4);
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 4; ++j) col_major(i, j) = float(10 * i + j);
    auto v = tailor::eigen::view(col_major);
    STATIC_REQUIRE(std::is_same_v<decltype(v), tailor::matrix_view<float>>);
    REQUIRE(v.data() == col_major.data());
    REQUIRE(v.strides() == tailor::extents_t<2>{1, 3});
    REQUIRE(v(2, 3) == 23.f);

    Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> row_major(2, 5);
    row_major.setZero();
    const auto& const_ref = row_major;
    auto cv = tailor::eigen::view(const_ref);
    STATIC_REQUIRE(std::is_same_v<decltype(cv), tailor::matrix_view<const double>>);
    REQUIRE(cv.strides() == tailor::extents_t<2>{5, 1});

    auto block = tailor::eigen::view(col_major.block(1, 1, 2, 2));
    REQUIRE(block(1, 1) == 22.f);
    block(0, 0) = -5.f;
    REQUIRE(col_major(1, 1) == -5.f);

    auto back = tailor::eigen::map(v.transposed());
    REQUIRE(back.rows() == 4);
    REQUIRE(back(3, 2) == 23.f);
}
