#pragma once
// Zero-copy bridges between tailor views and xtensor: view any strided xtensor object
// (xtensor, xarray, xtensor_fixed, adaptors, strided xt::view / xt::transpose results) as a
// tensor_view, or adapt a tensor_view as an xtensor expression over the same memory.
//
// A caveat of xtensor 0.24 that the adaptors returned by `adapt` inherit: an adaptor with
// custom strides keeps layout_type::dynamic and a buffer "size" equal to its element count,
// and a few xtensor operations walk that buffer linearly regardless of the strides:
// `fill()`, scalar computed assignment (`a *= s`, `xt::noalias(a) += s`), immediate
// reducers (`xt::sum(a, xt::evaluation_strategy::immediate)`), `storage()` and
// `linear_begin()`. On a non-contiguous view those touch the wrong elements. Expression
// assignment (`xt::noalias(a) = expr`, `a = a * s`), element access, iterators and the
// default (lazy) reducers all follow the strides and are safe.
#include <array>
#include <cstddef>
#include <type_traits>
#include <utility>

#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xfixed.hpp>
#include <xtensor/xtensor.hpp>
#include <xtensor/xutils.hpp>

#include "tailor/core/view.hpp"

namespace tailor::xtensor {

namespace detail {

/// Containers that own their elements: a view of a temporary one would dangle.
template <class E>
struct owns_elements : std::false_type {};
template <class EC, std::size_t N, xt::layout_type L, class Tag>
struct owns_elements<xt::xtensor_container<EC, N, L, Tag>> : std::true_type {};
template <class EC, xt::layout_type L, class SC, class Tag>
struct owns_elements<xt::xarray_container<EC, L, SC, Tag>> : std::true_type {};
template <class ET, class S, xt::layout_type L, bool SH, class Tag>
struct owns_elements<xt::xfixed_container<ET, S, L, SH, Tag>> : std::true_type {};

/// Objects with direct memory access: a data pointer plus element strides.
template <class E>
concept strided_memory = requires(E& e) {
    e.data();
    e.strides();
    e.shape();
    e.dimension();
};

template <class E>
using element_of = std::remove_reference_t<decltype(*std::declval<E&>().data())>;

template <class S>
struct fixed_size_shape : std::false_type {};
template <class I, std::size_t N>
struct fixed_size_shape<std::array<I, N>> : std::true_type {};

/// Rank known at compile time: xtensor and xtensor_fixed (and their adaptors) say so; views
/// of them (xt::view, xt::transpose) do not, but carry a std::array shape. SIZE_MAX for
/// dynamic ranks (xarray and its views).
template <class E>
constexpr std::size_t static_rank_of()
{
    using Plain = std::remove_cvref_t<E>;
    if constexpr (xt::get_rank<Plain>::value != SIZE_MAX)
        return xt::get_rank<Plain>::value;
    else if constexpr (fixed_size_shape<typename Plain::shape_type>::value)
        return std::tuple_size_v<typename Plain::shape_type>;
    else
        return SIZE_MAX;
}

template <class E>
inline constexpr std::size_t static_rank = static_rank_of<E>();

template <std::size_t Rank, class E>
tensor_view<element_of<E>, Rank> view_of(E& e)
{
    using T = element_of<E>;
    tailor::detail::require<shape_error>(e.dimension() == Rank, "e", tailor::detail::concat("rank ", Rank),
                                         tailor::detail::concat("rank ", e.dimension()));
    extents_t<Rank> extents{};
    extents_t<Rank> strides{};
    for (std::size_t d = 0; d < Rank; ++d) {
        extents[d] = static_cast<index_t>(e.shape()[d]);
        strides[d] = static_cast<index_t>(e.strides()[d]);
    }
    T* data = e.data();
    // Strided xt::view and xt::strided_view results point data() at the underlying buffer.
    if constexpr (requires { e.data_offset(); }) data += e.data_offset();
    // Negative strides (xt::flip, reversed ranges) are rejected by the view's constructor.
    return tensor_view<T, Rank>(data, extents, strides);
}

template <std::size_t Rank>
using shape_array = std::array<std::size_t, Rank>;
template <std::size_t Rank>
using stride_array = std::array<std::ptrdiff_t, Rank>;

}  // namespace detail

/// A tensor view of an xtensor object with a compile-time rank; const objects give views
/// of const elements. Strides are copied as xtensor reports them (0 for extents of 1).
template <class E>
    requires detail::strided_memory<std::remove_reference_t<E>> &&
             (detail::static_rank<E> != SIZE_MAX) &&
             (std::is_lvalue_reference_v<E> || !detail::owns_elements<std::remove_cvref_t<E>>::value)
auto view(E&& e)
{
    return detail::view_of<detail::static_rank<E>>(e);
}

/// A rank-`Rank` tensor view of any xtensor object, for dynamic-rank ones (xarray);
/// throws shape_error when the object's rank differs.
template <std::size_t Rank, class E>
    requires detail::strided_memory<std::remove_reference_t<E>> &&
             (std::is_lvalue_reference_v<E> || !detail::owns_elements<std::remove_cvref_t<E>>::value)
auto view(E&& e)
{
    return detail::view_of<Rank>(e);
}

/// The non-owning xtensor adaptor type `adapt` returns: layout_type::dynamic with the
/// view's strides.
template <class T, std::size_t Rank>
using adaptor = xt::xtensor_adaptor<
    xt::xbuffer_adaptor<T*, xt::no_ownership, std::allocator<std::remove_const_t<T>>>, Rank,
    xt::layout_type::dynamic>;

/// A unit-stride vector adaptor with static row-major layout, which xtensor may assign and
/// reduce linearly (with xsimd when XTENSOR_USE_XSIMD is defined).
template <class T>
using contiguous_adaptor = xt::xtensor_adaptor<
    xt::xbuffer_adaptor<T*, xt::no_ownership, std::allocator<std::remove_const_t<T>>>, 1,
    xt::layout_type::row_major>;

/// An xtensor expression over the view's memory with the view's strides; writes through it
/// land in the viewed memory. Mind the linear-walk caveat at the top of this file.
template <class T, std::size_t Rank>
adaptor<T, Rank> adapt(tensor_view<T, Rank> v)
{
    detail::shape_array<Rank> shape{};
    detail::stride_array<Rank> strides{};
    std::size_t count = 1;
    for (std::size_t d = 0; d < Rank; ++d) {
        shape[d] = static_cast<std::size_t>(v.extent(d));
        strides[d] = static_cast<std::ptrdiff_t>(v.stride(d));
        count *= shape[d];
    }
    // xtensor checks the buffer size against the element count (it "resizes" the buffer to
    // the product of the extents and throws on a mismatch), so the size is the count, not
    // the strided span. The pointer goes in as an rvalue: xt::adapt keeps an lvalue pointer
    // argument by reference.
    return xt::adapt(static_cast<T*>(v.data()), count, xt::no_ownership(), shape, strides);
}

/// A unit-stride vector as a static-layout adaptor; the caller guarantees the unit stride.
template <class T>
contiguous_adaptor<T> adapt_contiguous(vector_view<T> v)
{
    tailor::detail::require<shape_error>(v.extent(0) <= 1 || v.stride(0) == 1, "v", "a unit-stride vector",
                                         tailor::detail::concat("stride ", v.stride(0)));
    const auto n = static_cast<std::size_t>(v.extent(0));
    return xt::adapt(static_cast<T*>(v.data()), n, xt::no_ownership(), std::array<std::size_t, 1>{n});
}

/// Calls `f` with every vector adapted: all as contiguous adaptors when all have unit
/// stride (the fast, linear path), all as strided adaptors otherwise. Two instantiations
/// per call site instead of one per combination of layouts.
template <class F, class... T>
decltype(auto) with_expressions(F&& f, vector_view<T>... vs)
{
    if (((vs.extent(0) <= 1 || vs.stride(0) == 1) && ...)) return f(adapt_contiguous(vs)...);
    return f(adapt(vs)...);
}

}  // namespace tailor::xtensor
