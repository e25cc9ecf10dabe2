#pragma once
// The members every host backend shares verbatim: elementwise maps, fills, copies, gathers,
// scatters and the map_rows driver, all plain loops over views. A CRTP base so each CPU
// backend states only what it computes its own way (GEMM, the row ops, reductions) and
// hands its own row kernels to map_rows.
#include <type_traits>

#include "tailor/backend/cpu/loops.hpp"

namespace tailor::cpu {

template <class Derived>
class host_element_ops {
    template <class T>
    using id = std::type_identity_t<T>;

public:
    using memory_space = host_space;

    template <class TX, class TY, std::size_t R, class F>
    void transform(tensor_view<TX, R> x, tensor_view<TY, R> y, F f) const
    {
        cpu::transform(x, y, f);
    }

    template <class TA, class TB, class TY, std::size_t R, class F>
    void transform(tensor_view<TA, R> a, tensor_view<TB, R> b, tensor_view<TY, R> y, F f) const
    {
        cpu::transform(a, b, y, f);
    }

    template <class T, class I>
    void gather_rows(id<matrix_view<const T>> src, vector_view<const I> idx, matrix_view<T> dst) const
    {
        cpu::gather_rows(src, idx, dst);
    }

    template <class T, class I>
    void scatter_add_rows(id<matrix_view<const T>> src, vector_view<const I> idx, matrix_view<T> dst) const
    {
        cpu::scatter_add_rows(src, idx, dst);
    }

    template <class T, class I>
    void gather_cols(id<matrix_view<const T>> x, vector_view<const I> idx, vector_view<T> out) const
    {
        cpu::gather_cols(x, idx, out);
    }

    template <class T, class F>
    void map_rows(id<matrix_view<const T>> x, vector_view<T> out, F&& f) const
    {
        cpu::map_rows(x, out, f, typename Derived::row_kernels{});
    }

    template <class T, std::size_t R>
    void fill(tensor_view<T, R> y, id<T> value) const
    {
        cpu::fill(y, value);
    }

    template <class T, std::size_t R>
    void copy(id<tensor_view<const T, R>> x, tensor_view<T, R> y) const
    {
        cpu::transform(x, y, [](T v) { return v; });
    }

    void synchronize() const noexcept {}
};

}  // namespace tailor::cpu
