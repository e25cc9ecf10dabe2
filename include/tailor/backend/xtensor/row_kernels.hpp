#pragma once
// xtensor's per-row primitives handed to map_rows functors, written as xtensor expressions
// over adapted rows (contiguous adaptors for unit-stride rows, strided ones otherwise).
#include <cmath>
#include <limits>
#include <type_traits>
#include <utility>

#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>
#include <xtensor/xoperation.hpp>
#include <xtensor/xreducer.hpp>

#include "tailor/backend/xtensor/adapt.hpp"
#include "tailor/core/exp_moments.hpp"
#include "tailor/core/functional.hpp"
#include "tailor/core/targets.hpp"

namespace tailor::xtensor {

namespace detail {

/// xtensor's lazy reducers add one element after another, so float rows accumulate in
/// double to keep long rows accurate (Eigen gets there with its SIMD partial sums).
template <class V>
using accumulator_t = std::conditional_t<std::is_same_v<V, float>, double, V>;

template <class V, class E>
V sum_of(const E& e)
{
    return static_cast<V>(xt::sum<accumulator_t<V>>(e)());
}

/// Folds with an idempotent op (maximum, minimum) starting from `init`. Not xt::amax /
/// xt::amin: they start from lowest() / max() instead of the infinities, so an all -inf
/// row would come out as -FLT_MAX. The lazy strategy is deliberate: immediate reducers
/// walk the buffer linearly and ignore a strided adaptor's strides.
template <class V, class E, class Op>
V fold_idempotent(const E& e, V init, Op op)
{
    return static_cast<V>(xt::reduce(xt::make_xreducer_functor(op, xt::const_value<V>(init)), e)());
}

template <class A, class B>
void require_same_length(const vector_view<A>& a, const vector_view<B>& b, std::string_view name)
{
    tailor::detail::require_extents(b, name, {a.extent(0)});
}

}  // namespace detail

struct row_kernels {
    /// The largest element; -inf for an empty row.
    template <class T>
    static auto max(vector_view<T> x)
    {
        using V = std::remove_const_t<T>;
        constexpr V lowest = -std::numeric_limits<V>::infinity();
        if (x.extent(0) == 0) return lowest;
        return with_expressions([&](const auto& a) { return detail::fold_idempotent(a, lowest, maximum{}); }, x);
    }

    /// {min_j x_j, max_j x_j}; {+inf, -inf} for an empty row.
    template <class T>
    static auto min_max(vector_view<T> x)
    {
        using V = std::remove_const_t<T>;
        constexpr V highest = std::numeric_limits<V>::infinity();
        if (x.extent(0) == 0) return std::pair<V, V>(highest, -highest);
        return with_expressions(
            [&](const auto& a) {
                return std::pair<V, V>(detail::fold_idempotent(a, highest, minimum{}),
                                       detail::fold_idempotent(a, -highest, maximum{}));
            },
            x);
    }

    template <class T>
    static auto sum(vector_view<T> x)
    {
        using V = std::remove_const_t<T>;
        return with_expressions([](const auto& a) { return detail::sum_of<V>(a); }, x);
    }

    template <class T>
    static auto dot(vector_view<T> a, vector_view<T> b)
    {
        using V = std::remove_const_t<T>;
        detail::require_same_length(a, b, "b");
        return with_expressions([](const auto& ea, const auto& eb) { return detail::sum_of<V>(ea * eb); }, a, b);
    }

    /// sum_j exp(x_j - shift)
    template <class T>
    static auto sum_exp(vector_view<T> x, std::remove_const_t<T> shift)
    {
        using V = std::remove_const_t<T>;
        return with_expressions([&](const auto& a) { return detail::sum_of<V>(xt::exp(a - shift)); }, x);
    }

    /// log sum_j exp(x_j), stable; -inf for an empty or all -inf row, +inf if any x_j is
    /// +inf, NaN if any x_j is NaN.
    template <class T>
    static auto logsumexp(vector_view<T> x)
    {
        using V = std::remove_const_t<T>;
        const V m = max(x);
        if (!std::isfinite(m)) {
            if (std::isnan(m)) return m;
            // +inf wins and an all -inf row stays -inf, but a NaN elsewhere still shows.
            return with_expressions(
                [&](const auto& a) { return xt::any(xt::isnan(a)) ? std::numeric_limits<V>::quiet_NaN() : m; }, x);
        }
        // A finite max: a NaN anywhere turns the sum, and so the result, into NaN.
        return m + std::log(sum_exp(x, m));
    }

    /// A dense target row's validity and, for one or two nonzero classes, where they are.
    template <class T>
    static share_support scan_shares(vector_view<T> t)
    {
        return tailor::detail::scan_shares(t);
    }

    /// y_j = scale * exp(x_j - shift): the softmax (or its gradient) once the shift is known;
    /// returns sum_j y_j. y may be x.
    template <class T, class U>
    static auto exp_shifted(vector_view<T> x, std::remove_const_t<T> shift, std::remove_const_t<T> scale,
                            vector_view<U> y)
    {
        detail::require_same_length(x, y, "y");
        with_expressions([&](const auto& a, auto b) { xt::noalias(b) = scale * xt::exp(a - shift); }, x, y);
        return sum(vector_view<const std::remove_const_t<T>>(y));
    }

    /// The same, told min_j x_j; xtensor's exp needs no clamp, so the bound goes unused.
    template <class T, class U>
    static auto exp_shifted(vector_view<T> x, std::remove_const_t<T> shift, std::remove_const_t<T> scale,
                            vector_view<U> y, std::remove_const_t<T>)
    {
        return exp_shifted(x, shift, scale, y);
    }

    /// exp_shifted(x, shift, 1, y) with the row max and the c-weighted sums of
    /// `exp_moments`, in separate passes (the reference form).
    template <class T, class U>
    static auto exp_shifted_moments(vector_view<T> x, vector_view<T> c, std::remove_const_t<T> shift,
                                    vector_view<U> y)
    {
        detail::require_same_length(x, c, "c");
        return tailor::detail::exp_shifted_moments(row_kernels{}, x, c, shift, y);
    }
};

}  // namespace tailor::xtensor
