#pragma once
// The per-row pieces every softmax-family loss is assembled from. A row arrives as
// contiguous memory (the driver copies strided rows), so the elementwise steps are plain
// loops the compiler vectorises; max, sum and exp come from the backend's row kernels.
//
// Two habits keep the loops vectorisable under the default strict-IEEE flags, where GCC
// will not if-convert a float compare: selections are integer masks on bit patterns
// (zero_unless), and reductions use independent lane accumulators (lane_sum). A third
// keeps the row cheap: no view is constructed per row (a checked view construction formats
// its would-be error message eagerly); rows come as views derived from existing ones.
#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "tailor/core/config.hpp"
#include "tailor/core/exp_moments.hpp"
#include "tailor/core/view.hpp"

namespace tailor::loss {

/// One sample's target restricted to the classes it names (1 for a hard label, 2 for a
/// mixed pair of distinct classes): share t_k and coefficient t_k * w_k.
template <class T>
struct sparse_target {
    int count = 0;
    index_t label[2] = {0, 0};
    T share[2] = {T(0), T(0)};
    T coefficient[2] = {T(0), T(0)};
};

/// One sample's dense target: `share[k]` = t_k for every class, contiguous.
template <class T>
struct dense_target {
    const T* share;
};

/// What a loss policy's row function sees: one sample's logits and gradient as contiguous
/// rows (views for the row kernels, pointers for plain loops), the chain-rule factor of the
/// reduction and the class weights.
template <class T>
struct row_context {
    vector_view<const T> logits_row;
    /// Output d(reduced loss)/d(logits) of this row; free for scratch until written.
    vector_view<T> grad_row;
    index_t classes;
    /// d(reduced loss)/d(this row's loss): the reduction's factor times the sample weight.
    T grad_scale;
    /// w_k, contiguous, or null for all ones.
    const T* class_weights;
    /// sum_k w_k (the class count when unweighted).
    T class_weight_sum;

    const T* logits() const noexcept { return logits_row.data(); }
    T* grad() const noexcept { return grad_row.data(); }
    T class_weight(index_t k) const noexcept { return class_weights ? class_weights[k] : T(1); }
};

namespace detail {

template <class T>
using unsigned_bits = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;

/// Per-thread rows for work that needs scratch (a strided row's copy, a second margin
/// row). Each grows to the widest row seen and keeps its view, so the steady state neither
/// allocates nor builds a view per row.
enum class buffer_slot : int { logits = 0, grad = 1, targets = 2, policy = 3, adjusted = 4, terms = 5 };

template <class T>
vector_view<T> thread_row(buffer_slot slot, index_t n)
{
    struct cached_row {
        std::vector<T> storage;
        vector_view<T> view;
    };
    thread_local cached_row rows[6];
    cached_row& row = rows[static_cast<int>(slot)];
    if (row.view.extent(0) != n || row.view.data() == nullptr) {
        if (row.storage.size() < std::max<std::size_t>(static_cast<std::size_t>(n), 1))
            row.storage.resize(std::max<std::size_t>(static_cast<std::size_t>(n), 1));
        row.view = vector_view<T>(row.storage.data(), {n});
    }
    return row.view;
}

/// `value` where `c` is non-zero, +0 where c is +-0: so a zero target times an infinite
/// logit gap contributes 0, not NaN. Integer masking keeps the loop vectorisable.
template <class T>
inline T zero_unless(T c, T value)
{
    using U = unsigned_bits<T>;
    const U nonzero = U((std::bit_cast<U>(c) << 1) != 0);
    return std::bit_cast<T>(std::bit_cast<U>(value) & (U(0) - nonzero));
}

template <class T>
inline bool is_nonzero(T c)
{
    using U = unsigned_bits<T>;
    return (std::bit_cast<U>(c) << 1) != 0;
}

/// {sum_j terms(j)...} in one pass over the row, each sum with sixteen independent
/// accumulators, which the compiler maps to SIMD lanes without being allowed to
/// reassociate a single running sum.
template <class T, class... Terms>
std::array<T, sizeof...(Terms)> lane_sums(index_t n, Terms&&... terms)
{
    constexpr int lanes = 16;
    constexpr std::size_t count = sizeof...(Terms);
    const auto term = std::forward_as_tuple(terms...);
    T partial[count][lanes] = {};
    std::array<T, count> total{};
    // Adds term i at position j into target[i], for every i (an unrolled fold).
    auto add_all = [&]<std::size_t... I>(std::index_sequence<I...>, auto&& target, index_t j) {
        ((target(I) += std::get<I>(term)(j)), ...);
    };
    index_t j = 0;
    for (; j + lanes <= n; j += lanes)
        for (int l = 0; l < lanes; ++l)
            add_all(std::make_index_sequence<count>{}, [&](std::size_t i) -> T& { return partial[i][l]; }, j + l);
    for (; j < n; ++j) add_all(std::make_index_sequence<count>{}, [&](std::size_t i) -> T& { return total[i]; }, j);
    for (std::size_t i = 0; i < count; ++i)
        for (int l = 0; l < lanes; ++l) total[i] += partial[i][l];
    return total;
}

/// sum_{j < n} term(j), as lane_sums computes it.
template <class T, class Term>
T lane_sum(index_t n, Term&& term)
{
    return lane_sums<T>(n, std::forward<Term>(term))[0];
}

/// Calls f with an accessor for w_k: a constant 1 when unweighted, so that loop keeps no load.
template <class T, class F>
decltype(auto) with_class_weights(const row_context<T>& row, F&& f)
{
    if (row.class_weights) {
        const T* w = row.class_weights;
        return f([w](index_t k) { return w[k]; });
    }
    return f([](index_t) { return T(1); });
}

/// g_j *= factor
template <class T>
void scale_row(T* g, index_t n, T factor)
{
    TAILOR_VECTOR_LOOP
    for (index_t j = 0; j < n; ++j) g[j] *= factor;
}

/// g_j = scale * (z_j + bias_j) (bias may be null): the adjusted logits, written into the
/// gradient row so no other buffer is needed.
template <class T>
void affine_row(const T* z, T scale, const T* bias, T* g, index_t n)
{
    if (bias) {
        if (scale == T(1)) {
            TAILOR_VECTOR_LOOP
            for (index_t j = 0; j < n; ++j) g[j] = z[j] + bias[j];
        } else {
            TAILOR_VECTOR_LOOP
            for (index_t j = 0; j < n; ++j) g[j] = scale * (z[j] + bias[j]);
        }
    } else {
        TAILOR_VECTOR_LOOP
        for (index_t j = 0; j < n; ++j) g[j] = scale * z[j];
    }
}

/// exp(a_j - shift) into a row, and their sum.
template <class T>
struct shifted_numerators {
    T shift, total;
};

/// Shifted by the row max, after a min/max pass: right for any target.
template <class T, class Kernels>
shifted_numerators<T> max_shifted_numerators(vector_view<const T> a_row, vector_view<T> out, const Kernels& k)
{
    const std::pair<T, T> range = k.min_max(a_row);
    return {range.second, k.exp_shifted(a_row, range.second, T(1), out, range.first)};
}

/// exp(a_j - shift) into `out` and its sum, for a shift chosen so the loss has no
/// cancellation: one pass shifted by the largest target logit when `out` does not hold the
/// logits (every term of the loss is then >= 0 and the sum >= 1), else, or when the row's
/// range does not allow it, the row max.
template <class T, class Kernels>
shifted_numerators<T> softmax_numerators(vector_view<const T> a_row, const sparse_target<T>& target,
                                         vector_view<T> out, const Kernels& k)
{
    const T* a = a_row.data();
    if (target.count > 0 && a != out.data()) {
        T shift = a[target.label[0]];
        for (int e = 1; e < target.count; ++e) shift = std::max(shift, a[target.label[e]]);
        // A sum above e^64 (some logit more than 64 above the shift; inf or NaN too) may
        // have overflowed: such a row is taken again at its max.
        static const T largest_total = std::exp(T(64));
        const T total = k.exp_shifted(a_row, shift, T(1), out);
        if (total <= largest_total) return {shift, total};
    }
    return max_shifted_numerators(a_row, out, k);
}

/// z + bias (bias contiguous, one per class) in a per-thread row: the logits a shifted
/// softmax sees, kept apart from the gradient row so the exp pass can write one while it
/// reads the other.
template <class T>
vector_view<T> biased_row(const row_context<T>& row, const T* bias)
{
    const vector_view<T> out = thread_row<T>(buffer_slot::adjusted, row.classes);
    affine_row(row.logits(), T(1), bias, out.data(), row.classes);
    return out;
}

/// Softmax cross-entropy of one row against a sparse target, fused with its gradient.
///
/// `a` holds the logits the softmax sees (the caller's row, or the gradient row already
/// filled with adjusted logits, which is then overwritten); `slope` = d a_j / d z_j. With
/// c = ((1 - eps) t + eps / C) w, W = sum_k c_k and a shift s (see softmax_numerators):
///   loss = sum_k c_k (lse(a) - a_k) = sum_k c_k (s - a_k) + W log sum_j exp(a_j - s)
///   grad = grad_scale * slope * (W softmax(a) - c)
/// One exp per element. Label smoothing puts every class in the first sum, so it shifts by
/// the row max, where every (s - a_k) >= 0.
template <class T, class Kernels>
T softmax_cross_entropy(const row_context<T>& row, vector_view<const T> a_row, T slope,
                        const sparse_target<T>& target, T smoothing, const Kernels& k)
{
    const index_t n = row.classes;
    const T* a = a_row.data();
    T* g = row.grad();
    const T keep = T(1) - smoothing;
    const T uniform = smoothing / static_cast<T>(n);
    T picked[2] = {T(0), T(0)};  // read now: the exp pass may overwrite a
    for (int e = 0; e < target.count; ++e) picked[e] = a[target.label[e]];
    T mass = T(0), gap = T(0), shift, total;
    if (smoothing > T(0)) {
        // Named values, not a structured binding: Clang 14 rejects a binding a lambda captures.
        const std::pair<T, T> range = k.min_max(a_row);
        const T low = range.first, m = range.second;
        mass = uniform * row.class_weight_sum;
        gap = uniform * with_class_weights(row, [&](auto w) {
                  return lane_sum<T>(n, [&](index_t j) { return zero_unless(w(j), w(j) * (m - a[j])); });
              });
        shift = m;
        total = k.exp_shifted(a_row, m, T(1), row.grad_row, low);
    } else {
        const auto numerators = softmax_numerators(a_row, target, row.grad_row, k);
        shift = numerators.shift;
        total = numerators.total;
    }
    for (int e = 0; e < target.count; ++e) {
        const T c = keep * target.coefficient[e];
        mass += c;
        gap += zero_unless(c, c * (shift - picked[e]));
    }
    const T loss = gap + mass * std::log(total);

    const T step = row.grad_scale * slope;
    const T alpha = step * mass / total;
    if (smoothing > T(0)) {
        const T beta = step * uniform;
        with_class_weights(row, [&](auto w) {
            TAILOR_VECTOR_LOOP
            for (index_t j = 0; j < n; ++j) g[j] = alpha * g[j] - beta * w(j);
        });
    } else {
        scale_row(g, n, alpha);
    }
    for (int e = 0; e < target.count; ++e) g[target.label[e]] -= step * keep * target.coefficient[e];
    return loss;
}

/// The same against a dense target row, shifted by the row max: a min/max pass, then the
/// coefficient sums, the exp and the gradient, a pass each. Right for any row, NaN and
/// infinities included; the fused form below falls back to it.
template <class T, class Kernels>
T softmax_cross_entropy_at_max(const row_context<T>& row, vector_view<const T> a_row, T slope,
                               const dense_target<T>& target, T smoothing, const Kernels& k)
{
    const index_t n = row.classes;
    const T* a = a_row.data();
    T* g = row.grad();
    const T* t = target.share;
    const std::pair<T, T> range = k.min_max(a_row);  // named values, as above
    const T low = range.first, m = range.second;
    const T keep = T(1) - smoothing;
    const T uniform = smoothing / static_cast<T>(n);
    return with_class_weights(row, [&](auto w) {
        auto coefficient = [&](index_t j) { return (keep * t[j] + uniform) * w(j); };
        const auto [mass, gap] = lane_sums<T>(n, coefficient, [&](index_t j) {
            const T c = coefficient(j);
            return zero_unless(c, c * (m - a[j]));
        });
        const T total = k.exp_shifted(a_row, m, T(1), row.grad_row, low);
        const T step = row.grad_scale * slope;
        const T alpha = step * mass / total;
        TAILOR_VECTOR_LOOP
        for (index_t j = 0; j < n; ++j) g[j] = alpha * g[j] - step * coefficient(j);
        return gap + mass * std::log(total);
    });
}

/// The same against a dense target row: one pass reads the logits and the coefficients
/// c = ((1 - eps) t + eps / C) w (exp_shifted_moments), then the gradient pass. The shift is
/// the largest of the first 16 logits, so the sum is >= 1; a row whose max lies more than
/// 32 above it (a sum that large could leave the gradient's factor mass / sum near the
/// denormal range) or whose sum is not finite (a NaN or infinite logit) is taken again by
/// softmax_cross_entropy_at_max. With M = max and s the shift:
///   loss = gap + mass (log sum_j exp(a_j - s) - (M - s))
template <class T, class Kernels>
T softmax_cross_entropy(const row_context<T>& row, vector_view<const T> a_row, T slope,
                        const dense_target<T>& target, T smoothing, const Kernels& k)
{
    const index_t n = row.classes;
    const T* a = a_row.data();
    T* g = row.grad();
    // Logits already in the gradient row would be overwritten before a fallback could reread them.
    if (n == 0 || a == g) return softmax_cross_entropy_at_max(row, a_row, slope, target, smoothing, k);
    const T* c = target.share;
    if (smoothing > T(0) || row.class_weights) {
        const T keep = T(1) - smoothing;
        const T uniform = smoothing / static_cast<T>(n);
        T* own = thread_row<T>(buffer_slot::terms, n).data();
        with_class_weights(row, [&](auto w) {
            TAILOR_VECTOR_LOOP
            for (index_t j = 0; j < n; ++j) own[j] = (keep * target.share[j] + uniform) * w(j);
        });
        c = own;
    }
    T shift = a[0];
    for (index_t j = 1; j < std::min<index_t>(n, 16); ++j) shift = std::max(shift, a[j]);
    const exp_moments<T> m = k.exp_shifted_moments(a_row, vector_view<const T>(c, {n}), shift, row.grad_row);
    if (!(std::isfinite(m.total) && m.top - shift <= T(32)))
        return softmax_cross_entropy_at_max(row, a_row, slope, target, smoothing, k);
    const T step = row.grad_scale * slope;
    const T alpha = step * m.mass / m.total;
    TAILOR_VECTOR_LOOP
    for (index_t j = 0; j < n; ++j) g[j] = alpha * g[j] - step * c[j];
    // log sum - (M - s) = log sum_j exp(a_j - M) >= 0, up to the exp's rounding; in double,
    // where M - s of float logits is exact.
    const double above_max = std::log(double(m.total)) - (double(m.top) - double(shift));
    return m.gap + m.mass * static_cast<T>(std::max(0.0, above_max));
}

}  // namespace detail
}  // namespace tailor::loss
