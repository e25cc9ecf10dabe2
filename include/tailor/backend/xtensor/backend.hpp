#pragma once
// The xtensor backend: GEMM goes to the CBLAS behind xtensor-blas (link a CBLAS such as
// OpenBLAS), the row ops and reductions are xtensor expressions over adapted rows, rows
// spread over OpenMP threads; the element plumbing is the shared CPU loops.
//
// GEMM calls cxxblas::gemm, the CBLAS binding xtensor-blas ships and xt::blas::gemm
// forwards to, rather than xt::blas::gemm itself: the latter wants static-layout
// containers, and xtensor only lets dynamic-layout containers carry custom strides, so
// every padded or transposed view would be copied first. Straight to cxxblas, a view with
// unit stride along either dimension and non-overlapping rows (or columns) goes in as it
// is, with BLAS's transpose flags and leading dimension; only other strides are packed.
#include <algorithm>
#include <climits>
#include <cmath>
#include <numeric>
#include <type_traits>

#include <xtensor-blas/xblas.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>
#include <xtensor/xtensor.hpp>

#include "tailor/backend/checks.hpp"
#include "tailor/backend/cpu/element_ops.hpp"
#include "tailor/backend/cpu/loops.hpp"
#include "tailor/backend/xtensor/adapt.hpp"
#include "tailor/backend/xtensor/row_kernels.hpp"
#include "tailor/core/concepts.hpp"

namespace tailor::xtensor {

namespace detail {

template <class T>
using id = std::type_identity_t<T>;

using blas_int = xt::blas_index_t;

inline blas_int to_blas_int(index_t n, std::string_view what)
{
    tailor::detail::require<unsupported_error>(n <= index_t(INT_MAX), what,
                                               tailor::detail::concat("at most ", INT_MAX, " (BLAS int)"), n);
    return static_cast<blas_int>(n);
}

/// The leading dimension BLAS needs to read `v` as a row-major matrix in place, or 0 when
/// it cannot: columns must have unit stride and rows must not overlap. A single row takes
/// the smallest legal value whatever its stride (xtensor reports 0 for an extent of 1).
template <class T>
index_t row_major_leading_dim(const matrix_view<T>& v)
{
    const index_t min_ld = std::max<index_t>(1, v.cols());
    if (v.cols() > 1 && v.stride(1) != 1) return 0;
    if (v.rows() <= 1) return min_ld;
    return v.stride(0) >= min_ld ? v.stride(0) : 0;
}

/// A GEMM operand as BLAS takes it: a row-major buffer, read as is or transposed. Views
/// with unit stride in neither dimension are packed into `packed_`; hence not movable.
template <class T>
class blas_operand {
public:
    explicit blas_operand(matrix_view<const T> v)
    {
        if (const index_t ld = row_major_leading_dim(v)) {
            set(v.data(), cxxblas::Transpose::NoTrans, ld);
        } else if (const index_t ld_t = row_major_leading_dim(v.transposed())) {
            set(v.data(), cxxblas::Transpose::Trans, ld_t);
        } else {
            packed_ = adapt(v);  // one packing copy, as BLAS itself does internally
            set(packed_.data(), cxxblas::Transpose::NoTrans, std::max<index_t>(1, v.cols()));
        }
    }
    blas_operand(const blas_operand&) = delete;
    blas_operand& operator=(const blas_operand&) = delete;

    const T* data() const noexcept { return data_; }
    cxxblas::Transpose transpose() const noexcept { return transpose_; }
    blas_int leading_dim() const noexcept { return leading_dim_; }

private:
    void set(const T* data, cxxblas::Transpose transpose, index_t ld)
    {
        data_ = data;
        transpose_ = transpose;
        leading_dim_ = to_blas_int(ld, "leading dimension");
    }

    xt::xtensor<T, 2> packed_;
    const T* data_ = nullptr;
    cxxblas::Transpose transpose_ = cxxblas::Transpose::NoTrans;
    blas_int leading_dim_ = 1;
};

/// C = alpha A B + beta C for a C that BLAS can write in place with leading dimension `ldc`.
/// BLAS does not read C when beta == 0.
template <class T>
void blas_gemm(T alpha, matrix_view<const T> a, matrix_view<const T> b, T beta, matrix_view<T> c, index_t ldc)
{
    const blas_operand<T> oa(a);
    const blas_operand<T> ob(b);
    cxxblas::gemm<blas_int>(cxxblas::StorageOrder::RowMajor, oa.transpose(), ob.transpose(),
                            to_blas_int(c.rows(), "c rows"), to_blas_int(c.cols(), "c cols"),
                            to_blas_int(a.cols(), "a cols"), alpha, oa.data(), oa.leading_dim(), ob.data(),
                            ob.leading_dim(), beta, c.data(), to_blas_int(ldc, "leading dimension"));
}

/// op(init, fold of the elements), or init when there are none, as the Eigen backend
/// computes it. plus goes through xt::sum; maximum and minimum through a lazy reducer
/// seeded with `init` (which xtensor may apply once per row: harmless for an idempotent
/// op); any other op folds along xtensor's stride-aware iterators so `init` enters once.
template <class T, class E, class Op>
T fold(const E& e, T init, Op op)
{
    if (e.size() == 0) return init;
    if constexpr (std::is_same_v<Op, plus>)
        return op(init, sum_of<T>(e));
    else if constexpr (std::is_same_v<Op, maximum> || std::is_same_v<Op, minimum>)
        return fold_idempotent(e, init, op);
    else
        return std::accumulate(e.cbegin(), e.cend(), init, op);
}

}  // namespace detail

class backend : public cpu::host_element_ops<backend> {
public:
    using memory_space = host_space;
    using row_kernels = xtensor::row_kernels;

    template <class T, class Epilogue = identity_epilogue>
    void gemm(detail::id<T> alpha, detail::id<matrix_view<const T>> a, detail::id<matrix_view<const T>> b,
              T beta, matrix_view<T> c, Epilogue epilogue = {}) const
    {
        tailor::detail::check_gemm(a, b, c);
        if (c.empty()) return;
        if (a.cols() == 0) {
            // An empty inner dimension leaves beta C; C is not read when beta == 0.
            if (beta == T(0))
                cpu::fill(c, T(0));
            else {
                auto out = adapt(c);
                xt::noalias(out) = beta * out;
            }
        } else if (const index_t ldc = detail::row_major_leading_dim(c)) {
            detail::blas_gemm<T>(alpha, a, b, beta, c, ldc);
        } else if (const index_t ldc_t = detail::row_major_leading_dim(c.transposed())) {
            // Column-major C: compute C^T = B^T A^T into its row-major transpose.
            detail::blas_gemm<T>(alpha, b.transposed(), a.transposed(), beta, c.transposed(), ldc_t);
        } else {
            // C with unit stride in neither dimension: compute into a dense copy.
            auto out = adapt(c);
            xt::xtensor<T, 2> dense = beta == T(0) ? xt::xtensor<T, 2>::from_shape(out.shape()) : xt::xtensor<T, 2>(out);
            const auto dense_view = xtensor::view(dense);
            detail::blas_gemm<T>(alpha, a, b, beta, dense_view, detail::row_major_leading_dim(dense_view));
            xt::noalias(out) = dense;
        }
        if constexpr (!std::is_same_v<Epilogue, identity_epilogue>)
            cpu::for_each_2d(c.rows(), c.cols(), [&](index_t i, index_t j) { c(i, j) = epilogue(i, j, c(i, j)); });
    }

    template <class T, class Epilogue = identity_epilogue>
    void gemm_batched(detail::id<T> alpha, detail::id<tensor_view<const T, 3>> a,
                      detail::id<tensor_view<const T, 3>> b, T beta, tensor_view<T, 3> c,
                      Epilogue epilogue = {}) const
    {
        tailor::detail::check_gemm_batched(a, b, c);
        // One BLAS call per batch entry; BLAS threads each product.
        for (index_t k = 0; k < a.extent(0); ++k) gemm<T>(alpha, a[k], b[k], beta, c[k], epilogue);
    }

    template <class T>
    void softmax_rows(detail::id<matrix_view<const T>> x, matrix_view<T> y) const
    {
        tailor::detail::check_same_shape(x, y);
        cpu::parallel_for(x.rows(), x.cols(), [&](index_t r) {
            const T m = row_kernels::max(x.row(r));
            const T inv = T(1) / row_kernels::exp_shifted(x.row(r), m, T(1), y.row(r));
            // An expression assignment, not `*= inv`: scalar computed assignment walks the
            // buffer linearly and would miss a strided row.
            with_expressions([&](auto out) { xt::noalias(out) = out * inv; }, y.row(r));
        });
    }

    template <class T>
    void log_softmax_rows(detail::id<matrix_view<const T>> x, matrix_view<T> y) const
    {
        tailor::detail::check_same_shape(x, y);
        cpu::parallel_for(x.rows(), x.cols(), [&](index_t r) {
            const T lse = row_kernels::logsumexp(x.row(r));
            with_expressions([&](const auto& in, auto out) { xt::noalias(out) = in - lse; }, x.row(r), y.row(r));
        });
    }

    template <class T>
    void logsumexp_rows(detail::id<matrix_view<const T>> x, vector_view<T> out) const
    {
        tailor::detail::check_per_row(x, out, "out");
        cpu::parallel_for(x.rows(), x.cols(), [&](index_t r) { out(r) = row_kernels::logsumexp(x.row(r)); });
    }

    template <class T>
    void layer_norm_rows(detail::id<matrix_view<const T>> x, detail::id<vector_view<const T>> gamma,
                         detail::id<vector_view<const T>> beta, detail::id<T> eps, matrix_view<T> y) const
    {
        tailor::detail::check_same_shape(x, y);
        tailor::detail::require_extents(gamma, "gamma", {x.cols()});
        tailor::detail::require_extents(beta, "beta", {x.cols()});
        tailor::detail::require(eps >= T(0) && std::isfinite(eps), "eps", "a finite value >= 0", eps);
        if (x.cols() == 0) return;
        const T inv_n = T(1) / static_cast<T>(x.cols());
        cpu::parallel_for(x.rows(), x.cols(), [&](index_t r) {
            with_expressions(
                [&](const auto& a, const auto& g, const auto& bt, auto out) {
                    const T mean = detail::sum_of<T>(a) * inv_n;
                    const T var = detail::sum_of<T>(xt::square(a - mean)) * inv_n;
                    const T rstd = T(1) / std::sqrt(var + eps);
                    xt::noalias(out) = (a - mean) * rstd * g + bt;
                },
                x.row(r), gamma, beta, y.row(r));
        });
    }

    template <class TX, std::size_t R, class Op>
    std::remove_const_t<TX> reduce(tensor_view<TX, R> x, std::remove_const_t<TX> init, Op op) const
    {
        using T = std::remove_const_t<TX>;
        static_assert(R == 1 || R == 2, "tailor: reduce takes vectors or matrices");
        const tensor_view<const T, R> cx = x;
        if constexpr (R == 1) {
            return with_expressions([&](const auto& a) { return detail::fold(a, init, op); }, cx);
        } else {
            // A contiguous matrix folds as one flat, linear vector.
            if (cx.is_contiguous())
                return with_expressions([&](const auto& a) { return detail::fold(a, init, op); },
                                        cx.template reshaped<1>({cx.size()}));
            return detail::fold(adapt(cx), init, op);
        }
    }

    template <class T, class Op>
    void reduce_rows(detail::id<matrix_view<const T>> x, vector_view<T> out, detail::id<T> init, Op op) const
    {
        tailor::detail::check_per_row(x, out, "out");
        cpu::parallel_for(x.rows(), x.cols(), [&](index_t r) {
            out(r) = with_expressions([&](const auto& a) { return detail::fold(a, init, op); }, x.row(r));
        });
    }

    template <class T, class Op>
    void reduce_cols(detail::id<matrix_view<const T>> x, vector_view<T> out, detail::id<T> init, Op op) const
    {
        tailor::detail::require_extents(out, "out", {x.cols()});
        cpu::parallel_for(x.cols(), x.rows(), [&](index_t c) {
            out(c) = with_expressions([&](const auto& a) { return detail::fold(a, init, op); }, x.col(c));
        });
    }
};

static_assert(tailor::backend<backend, float>);
static_assert(tailor::backend<backend, double>);

}  // namespace tailor::xtensor
