#pragma once
// The Eigen backend: the default CPU system. GEMM goes through Eigen's blocked product
// (which honours EIGEN_USE_BLAS when a build routes it to an optimised BLAS); the row
// ops use Eigen's vectorised array expressions, rows spread over OpenMP threads.
#include <cmath>
#include <type_traits>

#include <unsupported/Eigen/SpecialFunctions>  // the vectorised erf of the exact GELU

#include "tailor/backend/checks.hpp"
#include "tailor/backend/cpu/element_ops.hpp"
#include "tailor/backend/cpu/loops.hpp"
#include "tailor/backend/eigen/adapt.hpp"
#include "tailor/backend/eigen/row_kernels.hpp"
#include "tailor/core/concepts.hpp"

namespace tailor::eigen {

namespace detail {

template <class T>
using id = std::type_identity_t<T>;

template <class T, class A, class B, class C>
void gemm_row_major_out(T alpha, const A& a, const B& b, T beta, C& c)
{
    if (beta == T(0))
        c.noalias() = alpha * (a * b);
    else {
        if (beta != T(1)) c *= beta;
        c.noalias() += alpha * (a * b);
    }
}

/// Epilogues whose bias and activation this backend applies as whole-row array
/// expressions: the bias is folded into C before the product (Eigen clears C for beta = 0
/// anyway), the activation runs vectorised after it. Other epilogues go element by element.
template <class E>
struct row_epilogue : std::false_type {};
template <class T, class A>
struct row_epilogue<bias_activation_epilogue<T, A>> : std::true_type {};

template <class A>
inline constexpr bool vectorised_activation =
    std::is_same_v<A, identity_op> || std::is_same_v<A, relu_op> || std::is_same_v<A, quick_gelu_op> ||
    std::is_same_v<A, gelu_op>;

template <class A, class Array>
void apply_activation(Array&& a)
{
    using T = typename std::remove_reference_t<Array>::Scalar;
    if constexpr (std::is_same_v<A, relu_op>)
        a = a.max(T(0));
    else if constexpr (std::is_same_v<A, quick_gelu_op>)
        a = a * (T(1.702) * a).logistic();
    else if constexpr (std::is_same_v<A, gelu_op>)
        a = T(0.5) * a * (T(1) + (a * T(0.70710678118654752440)).erf());
}

/// Eigen's product packs by storage order; give it the layout each view really has so
/// transposed views cost nothing.
template <class T, class F>
void with_layout(matrix_view<const T> v, F&& f)
{
    if (v.stride(1) == 1 || v.cols() <= 1)
        f(map_rows_unit(v));
    else if (v.stride(0) == 1 || v.rows() <= 1)
        f(map_rows_unit(v.transposed()).transpose());
    else {
        // General strides: one packing copy is what BLAS would do anyway.
        const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> dense = map(v);
        f(dense);
    }
}

}  // namespace detail

class backend : public cpu::host_element_ops<backend> {
public:
    using memory_space = host_space;
    using row_kernels = eigen::row_kernels;

    /// `threads` > 0 caps Eigen's GEMM threads; 0 keeps the OpenMP default.
    explicit backend(int threads = 0)
    {
        if (threads > 0) Eigen::setNbThreads(threads);
    }

    template <class T, class Epilogue = identity_epilogue>
    void gemm(detail::id<T> alpha, detail::id<matrix_view<const T>> a, detail::id<matrix_view<const T>> b,
              T beta, matrix_view<T> c, Epilogue epilogue = {}) const
    {
        tailor::detail::check_gemm(a, b, c);
        if (c.empty()) return;
        T product_beta = beta;
        if constexpr (detail::row_epilogue<Epilogue>::value) {
            // C = beta C + bias first (C is not read when beta == 0), then C += alpha A B.
            if (epilogue.bias) {
                const vector_view<const T> bias(epilogue.bias, {c.cols()});
                cpu::parallel_for(c.rows(), c.cols(), [&](index_t i) {
                    with_array(c.row(i), [&](auto row) {
                        with_array(bias, [&](const auto& b) {
                            if (beta == T(0))
                                row = b;
                            else
                                row = beta * row + b;
                        });
                    });
                });
                product_beta = T(1);
            }
        }
        if (a.cols() == 0) {
            // An empty inner dimension leaves beta C; BLAS semantics say C is not read when beta == 0.
            if (product_beta != T(1))
                cpu::for_each_2d(c.rows(), c.cols(), [&](index_t i, index_t j) {
                    c(i, j) = product_beta == T(0) ? T(0) : product_beta * c(i, j);
                });
        } else if (c.stride(1) == 1 || c.cols() <= 1) {
            auto out = map_rows_unit(c);
            detail::with_layout<T>(a, [&](const auto& ea) {
                detail::with_layout<T>(b, [&](const auto& eb) { detail::gemm_row_major_out(alpha, ea, eb, product_beta, out); });
            });
        } else if (c.stride(0) == 1 || c.rows() <= 1) {
            // Column-major C: compute C^T = B^T A^T into its row-major transpose.
            auto out = map_rows_unit(c.transposed());
            detail::with_layout<T>(b.transposed(), [&](const auto& ebt) {
                detail::with_layout<T>(a.transposed(),
                                       [&](const auto& eat) { detail::gemm_row_major_out(alpha, ebt, eat, product_beta, out); });
            });
        } else {
            // C with unit stride in neither dimension: Eigen writes through the general map.
            auto out = map(c);
            detail::with_layout<T>(a, [&](const auto& ea) {
                detail::with_layout<T>(b, [&](const auto& eb) { detail::gemm_row_major_out(alpha, ea, eb, product_beta, out); });
            });
        }
        if constexpr (detail::row_epilogue<Epilogue>::value) {
            using activation = decltype(epilogue.activation);
            if constexpr (detail::vectorised_activation<activation>) {
                if constexpr (!std::is_same_v<activation, identity_op>)
                    cpu::parallel_for(c.rows(), c.cols(), [&](index_t i) {
                        with_array(c.row(i), [&](auto row) { detail::apply_activation<activation>(row); });
                    });
            } else {
                cpu::for_each_2d(c.rows(), c.cols(), [&](index_t i, index_t j) { c(i, j) = epilogue.activation(c(i, j)); });
            }
        } else if constexpr (!std::is_same_v<Epilogue, identity_epilogue>) {
            cpu::for_each_2d(c.rows(), c.cols(), [&](index_t i, index_t j) { c(i, j) = epilogue(i, j, c(i, j)); });
        }
    }

    template <class T, class Epilogue = identity_epilogue>
    void gemm_batched(detail::id<T> alpha, detail::id<tensor_view<const T, 3>> a,
                      detail::id<tensor_view<const T, 3>> b, T beta, tensor_view<T, 3> c,
                      Epilogue epilogue = {}) const
    {
        tailor::detail::check_gemm_batched(a, b, c);
        // Small products (attention heads) go one per thread, as Eigen would run each on one
        // thread anyway; large ones stay in sequence (cost 0 keeps the loop serial) so each
        // uses every thread.
        const index_t work = a.extent(1) * a.extent(2) * b.extent(2);
        const bool small = work < (index_t(1) << 18);
        cpu::parallel_for(a.extent(0), small ? work : 0,
                          [&](index_t k) { gemm<T>(alpha, a[k], b[k], beta, c[k], epilogue); });
    }

    template <class T>
    void softmax_rows(detail::id<matrix_view<const T>> x, matrix_view<T> y) const
    {
        tailor::detail::check_same_shape(x, y);
        cpu::parallel_for(x.rows(), x.cols(), [&](index_t r) {
            const auto [low, m] = row_kernels::min_max(x.row(r));
            const T inv = T(1) / row_kernels::exp_shifted(x.row(r), m, T(1), y.row(r), low);
            with_array(y.row(r), [&](auto a) { a *= inv; });
        });
    }

    template <class T>
    void log_softmax_rows(detail::id<matrix_view<const T>> x, matrix_view<T> y) const
    {
        tailor::detail::check_same_shape(x, y);
        cpu::parallel_for(x.rows(), x.cols(), [&](index_t r) {
            const T lse = row_kernels::logsumexp(x.row(r));
            with_array(x.row(r), [&](const auto& a) { with_array(y.row(r), [&](auto b) { b = a - lse; }); });
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
        cpu::parallel_for(x.rows(), x.cols(), [&](index_t r) {
            with_array(x.row(r), [&](const auto& a) {
                const T mean = a.mean();
                const T var = (a - mean).square().mean();
                const T rstd = T(1) / std::sqrt(var + eps);
                with_array(gamma, [&](const auto& g) {
                    with_array(beta, [&](const auto& bt) {
                        with_array(y.row(r), [&](auto out) { out = (a - mean) * rstd * g + bt; });
                    });
                });
            });
        });
    }

    template <class TX, std::size_t R, class Op>
    std::remove_const_t<TX> reduce(tensor_view<TX, R> x, std::remove_const_t<TX> init, Op op) const
    {
        using T = std::remove_const_t<TX>;
        if constexpr (R == 1) {
            return x.empty() ? init : op(init, with_array(x, [&](const auto& a) { return redux(a, op); }));
        } else {
            static_assert(R == 2, "tailor: reduce takes vectors or matrices");
            if (x.empty()) return init;
            const auto m = map(matrix_view<const T>(x));
            return op(init, redux(m.array(), op));
        }
    }

    template <class T, class Op>
    void reduce_rows(detail::id<matrix_view<const T>> x, vector_view<T> out, detail::id<T> init, Op op) const
    {
        tailor::detail::check_per_row(x, out, "out");
        cpu::parallel_for(x.rows(), x.cols(), [&](index_t r) {
            out(r) = x.cols() == 0 ? init : op(init, with_array(x.row(r), [&](const auto& a) { return redux(a, op); }));
        });
    }

    template <class T, class Op>
    void reduce_cols(detail::id<matrix_view<const T>> x, vector_view<T> out, detail::id<T> init, Op op) const
    {
        tailor::detail::require_extents(out, "out", {x.cols()});
        cpu::parallel_for(x.cols(), x.rows(), [&](index_t c) {
            out(c) = x.rows() == 0 ? init : op(init, with_array(x.col(c), [&](const auto& a) { return redux(a, op); }));
        });
    }

private:
    /// Eigen's own vectorised reductions for the common ops, a scalar fold otherwise.
    template <class E, class Op>
    static auto redux(const E& e, Op op)
    {
        if constexpr (std::is_same_v<Op, plus>)
            return e.sum();
        else if constexpr (std::is_same_v<Op, maximum>)
            return e.maxCoeff();
        else if constexpr (std::is_same_v<Op, minimum>)
            return e.minCoeff();
        else
            return e.redux(op);
    }
};

static_assert(tailor::backend<backend, float>);
static_assert(tailor::backend<backend, double>);

}  // namespace tailor::eigen
