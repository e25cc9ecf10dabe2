#pragma once
// Element plumbing shared by the CPU backends: strided elementwise maps, fills, copies,
// gathers and scatters. The numerically interesting ops live in each backend's folder.
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

template <class TX, class TY, std::size_t R, class F>
void transform(tensor_view<TX, R> x, tensor_view<TY, R> y, F f)
{
    detail::check_same_shape(x, y);
    if constexpr (R == 1) {
        parallel_for(x.extent(0), 1, [&](index_t i) { y(i) = f(x(i)); });
    } else {
        static_assert(R == 2, "tailor: transform takes vectors or matrices");
        for_each_2d(x.rows(), x.cols(), [&](index_t i, index_t j) { y(i, j) = f(x(i, j)); });
    }
}

template <class TA, class TB, class TY, std::size_t R, class F>
void transform(tensor_view<TA, R> a, tensor_view<TB, R> b, tensor_view<TY, R> y, F f)
{
    detail::check_same_shape(a, b, "b");
    detail::check_same_shape(a, y);
    if constexpr (R == 1) {
        parallel_for(a.extent(0), 1, [&](index_t i) { y(i) = f(a(i), b(i)); });
    } else {
        static_assert(R == 2, "tailor: transform takes vectors or matrices");
        for_each_2d(a.rows(), a.cols(), [&](index_t i, index_t j) { y(i, j) = f(a(i, j), b(i, j)); });
    }
}

template <class T, std::size_t R>
void fill(tensor_view<T, R> y, T value)
{
    if constexpr (R == 1) {
        parallel_for(y.extent(0), 1, [&](index_t i) { y(i) = value; });
    } else {
        static_assert(R == 2, "tailor: fill takes vectors or matrices");
        for_each_2d(y.rows(), y.cols(), [&](index_t i, index_t j) { y(i, j) = value; });
    }
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
