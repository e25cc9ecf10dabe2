#pragma once
// Eigen's vectorised per-row primitives handed to map_rows functors.
#include <cmath>
#include <limits>

#include "tailor/backend/eigen/adapt.hpp"

namespace tailor::eigen {

struct row_kernels {
    template <class T>
    static T max(vector_view<T> x)
    {
        using V = std::remove_const_t<T>;
        if (x.extent(0) == 0) return -std::numeric_limits<V>::infinity();
        return with_array(x, [](const auto& a) { return V(a.maxCoeff()); });
    }

    template <class T>
    static auto sum(vector_view<T> x)
    {
        using V = std::remove_const_t<T>;
        return with_array(x, [](const auto& a) { return V(a.sum()); });
    }

    template <class T>
    static auto dot(vector_view<T> a, vector_view<T> b)
    {
        using V = std::remove_const_t<T>;
        return with_array(a, [&](const auto& ea) {
            return with_array(b, [&](const auto& eb) { return V((ea * eb).sum()); });
        });
    }

    /// sum_j exp(x_j - shift)
    template <class T>
    static auto sum_exp(vector_view<T> x, std::remove_const_t<T> shift)
    {
        using V = std::remove_const_t<T>;
        return with_array(x, [&](const auto& a) { return V((a - shift).exp().sum()); });
    }

    /// log sum_j exp(x_j), stable; -inf for an empty or all -inf row, NaN if any x_j is NaN.
    template <class T>
    static auto logsumexp(vector_view<T> x)
    {
        using V = std::remove_const_t<T>;
        const V m = max(x);
        if (!std::isfinite(m)) {
            if (std::isnan(m)) return m;
            // +inf wins; an all -inf row stays -inf. A NaN elsewhere still shows through.
            return with_array(x, [&](const auto& a) { return a.isNaN().any() ? V(NAN) : m; });
        }
        return m + std::log(sum_exp(x, m));
    }

    /// y_j = scale * exp(x_j - shift): the softmax (or its gradient) once the shift is known.
    template <class T, class U>
    static void exp_shifted(vector_view<T> x, std::remove_const_t<T> shift, std::remove_const_t<T> scale,
                            vector_view<U> y)
    {
        using V = std::remove_const_t<T>;
        // Clamp arguments to e^24 above the smallest normal number, so neither the results
        // nor the gradients made from them (scaled by factors down to 1e-10, such as s / B)
        // fall into the denormal range, where every operation costs a microcode assist (an
        // absolute error below 3e-28 in float next to a row sum >= 1). Eigen keeps the exp
        // vectorised (select() would not be). Masked (-inf) logits are then set to exactly 0.
        static const V lowest_argument = std::log(std::numeric_limits<V>::min()) + V(24);
        with_array(x, [&](const auto& a) {
            with_array(y, [&](auto b) {
                constexpr V minus_infinity = -std::numeric_limits<V>::infinity();
                if (a.size() == 0 || a.minCoeff() != minus_infinity) {
                    b = scale * (a - shift).max(lowest_argument).exp();
                    return;
                }
                // Masked rows: a factor that is exactly 0 for -inf and exactly 1 for any
                // finite argument (x + 1e30 rounds to >= 1), so the pass stays one vectorised
                // elementwise expression, which is also safe when y aliases x.
                const V far = V(1e30);
                b = scale * (a - shift).max(lowest_argument).exp() * ((a - shift) + far).max(V(0)).min(V(1));
            });
        });
    }
};

}  // namespace tailor::eigen
