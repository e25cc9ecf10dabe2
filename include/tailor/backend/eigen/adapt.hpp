#pragma once
// Zero-copy bridges between tailor views and Eigen: view an Eigen matrix, or map a view
// as an Eigen expression.
#include <algorithm>
#include <Eigen/Core>
#include <type_traits>

#include "tailor/core/view.hpp"

namespace tailor::eigen {

/// A matrix view of any Eigen object with direct memory access (Matrix, Array, Map, Ref,
/// blocks). Column-major Eigen storage becomes a view with strides {1, outerStride}.
template <class Derived>
    requires(bool(Eigen::internal::traits<std::remove_cvref_t<Derived>>::Flags & Eigen::DirectAccessBit))
auto view(Derived&& m)
{
    using Plain = std::remove_cvref_t<Derived>;
    using Scalar = typename Plain::Scalar;
    constexpr bool writable = !std::is_const_v<std::remove_reference_t<Derived>> &&
                              bool(Eigen::internal::traits<Plain>::Flags & Eigen::LvalueBit);
    using T = std::conditional_t<writable, Scalar, const Scalar>;
    const index_t inner = m.innerStride();
    const index_t outer = m.outerStride();
    const extents_t<2> strides = Plain::IsRowMajor ? extents_t<2>{outer, inner} : extents_t<2>{inner, outer};
    return matrix_view<T>(const_cast<T*>(m.data()), {m.rows(), m.cols()}, strides);
}

template <class T>
using row_major_map = Eigen::Map<
    std::conditional_t<std::is_const_v<T>,
                       const Eigen::Matrix<std::remove_const_t<T>, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>,
                       Eigen::Matrix<std::remove_const_t<T>, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>,
    Eigen::Unaligned, Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>>;

template <class T>
using vector_map = Eigen::Map<
    std::conditional_t<std::is_const_v<T>, const Eigen::Array<std::remove_const_t<T>, Eigen::Dynamic, 1>,
                       Eigen::Array<std::remove_const_t<T>, Eigen::Dynamic, 1>>,
    Eigen::Unaligned, Eigen::InnerStride<Eigen::Dynamic>>;

template <class T>
using contiguous_vector_map = Eigen::Map<
    std::conditional_t<std::is_const_v<T>, const Eigen::Array<std::remove_const_t<T>, Eigen::Dynamic, 1>,
                       Eigen::Array<std::remove_const_t<T>, Eigen::Dynamic, 1>>>;

/// Any strided matrix view as a row-major Eigen map (Eigen handles general strides).
template <class T>
row_major_map<T> map(matrix_view<T> v)
{
    return row_major_map<T>(v.data(), v.rows(), v.cols(),
                            Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>(v.stride(0), v.stride(1)));
}

template <class T>
using row_major_rows_map = Eigen::Map<
    std::conditional_t<std::is_const_v<T>,
                       const Eigen::Matrix<std::remove_const_t<T>, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>,
                       Eigen::Matrix<std::remove_const_t<T>, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>,
    Eigen::Unaligned, Eigen::OuterStride<Eigen::Dynamic>>;

/// A view with unit-stride rows as a map whose inner stride Eigen knows at compile time:
/// its products then read the memory directly instead of copying into a temporary.
template <class T>
row_major_rows_map<T> map_rows_unit(matrix_view<T> v)
{
    const index_t outer = v.rows() <= 1 ? std::max<index_t>(v.cols(), 1) : v.stride(0);
    return row_major_rows_map<T>(v.data(), v.rows(), v.cols(), Eigen::OuterStride<Eigen::Dynamic>(outer));
}

/// A vector view as an Eigen array map.
template <class T>
vector_map<T> map(vector_view<T> v)
{
    return vector_map<T>(v.data(), v.extent(0), Eigen::InnerStride<Eigen::Dynamic>(v.stride(0)));
}

/// Calls `f` with the vector as an Eigen array: a unit-stride map (vectorised) when it can.
template <class T, class F>
decltype(auto) with_array(vector_view<T> v, F&& f)
{
    if (v.stride(0) == 1 || v.extent(0) <= 1) return f(contiguous_vector_map<T>(v.data(), v.extent(0)));
    return f(map(v));
}

}  // namespace tailor::eigen
