#pragma once
// Element plumbing shared by the CPU backends: strided elementwise maps, fills, copies,
// gathers and scatters. The numerically interesting ops live in each backend's folder.
#include <tuple>
#include <type_traits>

#include "tailor/backend/checks.hpp"
#include "tailor/backend/cpu/parallel.hpp"

namespace tailor::cpu {

/// Calls `f(i, j)` for each element of a rows x cols index space, rows in parallel.
template <class F>
void for_each_2d(index_t rows, index_t cols, F&& f)
{
    parallel_for(rows, cols, [&](index_t i) {
        for (index_t j = 0; j < cols; ++j) f(i, j);
    });
}

}  // namespace tailor::cpu

// Internal helpers sit in tailor::detail beside the checks, so `detail::` reads the same below.
namespace tailor::detail {

/// Serial elementwise visit of same-shaped views of any rank: the innermost loop runs
/// over the last dimension so unit-stride views stream.
template <std::size_t R, class F, class... Views>
void for_each_element(F& f, const Views&... views)
{
    const auto& first = std::get<0>(std::forward_as_tuple(views...));
    if constexpr (R == 1) {
        for (index_t i = 0; i < first.extent(0); ++i) f(views(i)...);
    } else {
        for (index_t i = 0; i < first.extent(0); ++i) for_each_element<R - 1>(f, views[i]...);
    }
}

/// Parallel over the first dimension, serial inside.
template <std::size_t R, class F, class... Views>
void parallel_for_each_element(F&& f, const Views&... views)
{
    const auto& first = std::get<0>(std::forward_as_tuple(views...));
    const index_t outer = first.extent(0);
    if (outer == 0) return;
    if constexpr (R == 1) {
        cpu::parallel_for(outer, 1, [&](index_t i) { f(views(i)...); });
    } else {
        cpu::parallel_for(outer, first.size() / outer, [&](index_t i) { for_each_element<R - 1>(f, views[i]...); });
    }
}

}  // namespace tailor::detail
namespace tailor::cpu {

/// y = f(x) elementwise, for views of any rank (strided and broadcast views included).
template <class TX, class TY, std::size_t R, class F>
void transform(tensor_view<TX, R> x, tensor_view<TY, R> y, F f)
{
    detail::check_same_shape(x, y);
    detail::parallel_for_each_element<R>([&](const auto& a, auto& out) { out = f(a); }, x, y);
}

template <class TA, class TB, class TY, std::size_t R, class F>
void transform(tensor_view<TA, R> a, tensor_view<TB, R> b, tensor_view<TY, R> y, F f)
{
    detail::check_same_shape(a, b, "b");
    detail::check_same_shape(a, y);
    detail::parallel_for_each_element<R>([&](const auto& u, const auto& v, auto& out) { out = f(u, v); }, a, b, y);
}

template <class T, std::size_t R>
void fill(tensor_view<T, R> y, T value)
{
    detail::parallel_for_each_element<R>([&](auto& out) { out = value; }, y);
}

template <class T, class I>
void gather_rows(matrix_view<const T> src, vector_view<const I> idx, matrix_view<T> dst)
{
    detail::require_extents(dst, "dst", {idx.extent(0), src.cols()});
    detail::check_indices(idx, src.rows(), "idx");
    for_each_2d(dst.rows(), dst.cols(), [&](index_t i, index_t j) { dst(i, j) = src(idx(i), j); });
}

/// dst[idx[i]] += src[i]. Serial over i: repeated indices would race in a parallel loop,
/// so parallelism goes over columns instead.
template <class T, class I>
void scatter_add_rows(matrix_view<const T> src, vector_view<const I> idx, matrix_view<T> dst)
{
    detail::require_extents(src, "src", {idx.extent(0), dst.cols()});
    detail::check_indices(idx, dst.rows(), "idx");
    parallel_for(dst.cols(), src.rows(), [&](index_t j) {
        for (index_t i = 0; i < src.rows(); ++i) dst(idx(i), j) += src(i, j);
    });
}

template <class T, class I>
void gather_cols(matrix_view<const T> x, vector_view<const I> idx, vector_view<T> out)
{
    detail::require_extents(idx, "idx", {x.rows()});
    detail::check_per_row(x, out, "out");
    detail::check_indices(idx, x.cols(), "idx");
    parallel_for(x.rows(), 1, [&](index_t i) { out(i) = x(i, idx(i)); });
}

/// out_r = f(r, x_r, kernels) for every row; rows in parallel.
template <class T, class F, class Kernels>
void map_rows(matrix_view<const T> x, vector_view<T> out, F&& f, const Kernels& kernels)
{
    detail::check_per_row(x, out, "out");
    parallel_for(x.rows(), x.cols(), [&](index_t r) { out(r) = f(r, x.row(r), kernels); });
}

}  // namespace tailor::cpu
