#pragma once
// Focal loss for softmax outputs, in log space. With lp = log p_k (from the row's
// logsumexp) the modulating factor (1 - p)^gamma is exp(gamma log(1 - e^lp)) evaluated
// with expm1 / log1p, so it neither turns negative nor NaN for gamma < 1 when p rounds to 1
// (the failure of the (1 - softmax)^gamma * CE form the references report).
#include <algorithm>
#include <bit>
#include <cmath>
#include <numbers>
#include <type_traits>
#include <utility>

#include "tailor/core/error.hpp"
#include "tailor/loss/row_math.hpp"

namespace tailor::loss {

namespace detail {

/// One target class's focal term f(lp) = -(1 - p)^gamma lp and slope = -df/dlp, in double.
struct focal_term {
    double value;
    double slope;
};

inline focal_term focal_at(double lp, double gamma)
{
    lp = std::min(lp, 0.0);  // a rounding above 0 would make 1 - p negative
    const double p = std::exp(lp);
    const double q = -std::expm1(lp);  // 1 - p, exact near p = 1
    double modulation = 1.0;           // q^gamma
    if (gamma != 0.0) {
        const double log_q = lp > -std::numbers::ln2 ? std::log(q) : std::log1p(-p);
        modulation = std::exp(gamma * log_q);
    }
    // p lp / q, the factor of d(q^gamma)/dlp; its limit is -1 as p -> 1 and 0 as p -> 0.
    const double ratio = q > 0.0 ? (p > 0.0 ? p * (lp / q) : 0.0) : -1.0;
    return {-modulation * lp, modulation * (1.0 - gamma * ratio)};
}

}  // namespace detail

/// l = sum_k c_k (-(1 - p_k)^gamma log p_k), p = softmax(z), c = t w. The references'
/// per-class alpha is the class weight w (loss_options::class_weights); gamma = 0 is
/// cross-entropy. Gradient: with s_k = -d/dlp_k of the term, grad = (sum_k c_k s_k) p - c s.
struct focal {
    double gamma = 2.0;

    void validate(index_t) const
    {
        tailor::detail::require(std::isfinite(gamma) && gamma >= 0, "gamma", "a finite value >= 0", gamma);
    }

    template <class T, class Kernels>
    T row(const row_context<T>& row, const sparse_target<T>& target, const Kernels& k) const
    {
        const index_t n = row.classes;
        T* g = row.grad();
        const auto s = with_log(detail::softmax_numerators(row.logits_row, target, row.grad_row, k));
        double loss = 0.0;
        T mass = T(0);
        T weighted_slope[2] = {T(0), T(0)};
        for (int e = 0; e < target.count; ++e) {
            const T c = target.coefficient[e];
            if (!detail::is_nonzero(c)) continue;
            const double log_p = double(row.logits()[target.label[e]] - s.shift) - double(s.log_total);
            const auto term = detail::focal_at(log_p, gamma);
            loss += double(c) * term.value;
            weighted_slope[e] = static_cast<T>(double(c) * term.slope);
            mass += weighted_slope[e];
        }
        detail::scale_row(g, n, row.grad_scale * mass / s.total);
        for (int e = 0; e < target.count; ++e) g[target.label[e]] -= row.grad_scale * weighted_slope[e];
        return static_cast<T>(loss);
    }

    template <class T, class Kernels>
    T row(const row_context<T>& row, const dense_target<T>& target, const Kernels& k) const
    {
        const index_t n = row.classes;
        T* g = row.grad();
        // A dense target shifts by the row max, where no term of the loss cancels another.
        const auto s = with_log(detail::max_shifted_numerators(row.logits_row, row.grad_row, k));
        const auto slope_row = detail::thread_row<T>(detail::buffer_slot::policy, n);
        T* weighted_slope = slope_row.data();
        const int power = integer_gamma();
        const double loss = power >= 0 && std::isfinite(s.total) ? dense_terms_by_power(row, target, s, power, weighted_slope)
                                                                  : dense_terms_in_double(row, target, s, weighted_slope);
        const T mass = k.sum(vector_view<const T>(slope_row));
        const T alpha = row.grad_scale * mass / s.total;
        TAILOR_VECTOR_LOOP
        for (index_t j = 0; j < n; ++j) g[j] = alpha * g[j] - row.grad_scale * weighted_slope[j];
        return static_cast<T>(loss);
    }

private:
    static constexpr int largest_integer_gamma = 5;

    /// gamma when it is a whole number up to 5 (then q^gamma is a product), else -1.
    int integer_gamma() const
    {
        return gamma <= largest_integer_gamma && gamma == std::floor(gamma) ? static_cast<int>(gamma) : -1;
    }

    /// Every class's term through focal_at, in double: any gamma, any row.
    template <class T, class Numerators>
    double dense_terms_in_double(const row_context<T>& row, const dense_target<T>& target, const Numerators& s,
                                 T* weighted_slope) const
    {
        double loss = 0.0;
        detail::with_class_weights(row, [&](auto w) {
            for (index_t j = 0; j < row.classes; ++j) {
                const T c = target.share[j] * w(j);
                weighted_slope[j] = T(0);
                if (!detail::is_nonzero(c)) continue;
                const auto term = detail::focal_at(double(row.logits()[j] - s.shift) - double(s.log_total), gamma);
                loss += double(c) * term.value;
                weighted_slope[j] = static_cast<T>(double(c) * term.slope);
            }
        });
        return loss;
    }

    /// The same for a whole-number gamma, vectorised: with the probability p_j = e_j / S
    /// read off the exp pass, q = 1 - p needs no log space while p <= 1/2, where it has no
    /// cancellation, and q^gamma is a product. The at most one class above 1/2 (the row max,
    /// only when S < 2) goes through focal_at.
    template <class T, class Numerators>
    double dense_terms_by_power(const row_context<T>& row, const dense_target<T>& target, const Numerators& s, int power,
                                T* weighted_slope) const
    {
        using U = detail::unsigned_bits<T>;
        const index_t n = row.classes;
        const T* a = row.logits();
        const T* e = row.grad();
        const T* t = target.share;
        T* term = detail::thread_row<T>(detail::buffer_slot::terms, n).data();
        const T inverse_total = T(1) / s.total, g = static_cast<T>(gamma);
        const U half_total = std::bit_cast<U>(s.total / 2);  // e_j >= 0: bit patterns order as values
        // q^power as a product, unrolled for each whole power so the loop vectorises.
        auto terms_at = [&]<int Power>(std::integral_constant<int, Power>) {
            detail::with_class_weights(row, [&](auto w) {
                TAILOR_VECTOR_LOOP
                for (index_t j = 0; j < n; ++j) {
                    const T c = t[j] * w(j);
                    const T p = e[j] * inverse_total;
                    const T log_p = (a[j] - s.shift) - s.log_total;
                    const T q = T(1) - p;
                    T modulation = T(1);
                    for (int i = 0; i < Power; ++i) modulation *= q;
                    // p log p / q, 0 at p = 0 (a -inf logit), where focal_at takes it as 0 too
                    const T slope = modulation * (T(1) - g * detail::zero_unless(p, p * log_p / q));
                    const U kept = U(0) - U(std::bit_cast<U>(e[j]) <= half_total);
                    weighted_slope[j] = std::bit_cast<T>(std::bit_cast<U>(detail::zero_unless(c, c * slope)) & kept);
                    term[j] = std::bit_cast<T>(std::bit_cast<U>(detail::zero_unless(c, -c * modulation * log_p)) & kept);
                }
            });
        };
        [&]<int... P>(std::integer_sequence<int, P...>) {
            ((power == P ? terms_at(std::integral_constant<int, P>{}) : void()), ...);
        }(std::make_integer_sequence<int, largest_integer_gamma + 1>{});
        double loss = detail::lane_sum<T>(n, [&](index_t j) { return term[j]; });
        if (s.total < T(2)) {
            for (index_t j = 0; j < n; ++j) {
                if (std::bit_cast<U>(e[j]) <= half_total) continue;
                const T c = t[j] * row.class_weight(j);
                if (!detail::is_nonzero(c)) continue;
                const auto precise = detail::focal_at(double(a[j] - s.shift) - double(s.log_total), gamma);
                loss += double(c) * precise.value;
                weighted_slope[j] = static_cast<T>(double(c) * precise.slope);
            }
        }
        return loss;
    }

    /// exp(z_j - shift) into the gradient row: the shift, their sum and its log.
    template <class T>
    struct numerators {
        T shift, total, log_total;
    };

    template <class T>
    static numerators<T> with_log(const detail::shifted_numerators<T>& s)
    {
        return {s.shift, s.total, std::log(s.total)};
    }
};

}  // namespace tailor::loss
