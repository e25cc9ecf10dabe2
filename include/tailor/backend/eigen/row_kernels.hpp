#pragma once
// Eigen's vectorised per-row primitives handed to map_rows functors.
//
// The softmax family spends its time in max and exp over rows that sit in L1, so the
// contiguous cases are loops over Eigen's packets rather than Eigen expressions: a max
// with four independent accumulators (a reduction's latency chain otherwise sets its
// speed), and one pass that writes scale * exp(x - shift) and sums what it wrote, where an
// expression would need a second pass to sum. Strided rows take the expression path.
#include <cmath>
#include <functional>
#include <limits>
#include <optional>
#include <type_traits>
#include <utility>

#include "tailor/backend/eigen/adapt.hpp"

namespace tailor::eigen {

namespace detail {

template <class V>
using packet_t = typename Eigen::internal::packet_traits<V>::type;

template <class V>
inline constexpr index_t packet_size = Eigen::internal::unpacket_traits<packet_t<V>>::size;

template <class V>
inline constexpr bool packet_vectorised = Eigen::internal::packet_traits<V>::Vectorizable && packet_size<V> > 1;

/// exp arguments are clamped e^24 above the smallest normal number, so neither the results
/// nor the gradients made from them (scaled by factors down to 1e-10, such as s / B) fall
/// into the denormal range, where every operation costs a microcode assist.
template <class V>
V lowest_exp_argument()
{
    static const V lowest = std::log(std::numeric_limits<V>::min()) + V(24);
    return lowest;
}

/// exp of a packet: Eigen's pexp, except for AVX-512 floats, the softmax family's hot loop.
/// There the same Cody-Waite reduction and Cephes polynomial finish with one vscalefps
/// (2^n times the polynomial) in place of Eigen's clamps, integer shift and final max: 12
/// vector instructions instead of 20, with a relative error below 8e-8 over [-87, 88]
/// (Eigen's: 3e-7). Xsimd's, Highway's and SLEEF's AVX-512 exp measured no faster than
/// Eigen's here. It returns inf above 88.7, 0 or a denormal below -87.3 (the callers clamp
/// first) and NaN for NaN; -inf is not an input.
template <class P>
P exp_packet(const P& x)
{
    return Eigen::internal::pexp(x);
}

#if defined(__AVX512F__)
template <>
inline Eigen::internal::Packet16f exp_packet(const Eigen::internal::Packet16f& x)
{
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                         _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    // r = x - n ln 2 with ln 2 split in two, so r is exact to a float's precision.
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}
#endif

/// Folds a packet's lanes pairwise with a scalar op. Not Eigen's predux family: GCC 12
/// flags the AVX-512 intrinsics those inline (-Wuninitialized) in every includer's build.
template <class V, class P, class Op>
V fold_lanes(const P& p, Op op)
{
    constexpr index_t L = packet_size<V>;
    alignas(64) V lane[L];
    Eigen::internal::pstoreu(lane, p);
    for (index_t width = L / 2; width >= 1; width /= 2)
        for (index_t l = 0; l < width; ++l) lane[l] = op(lane[l], lane[l + width]);
    return lane[0];
}

// Scalar twins of pmax / pmin: like std::max and std::min, the first argument wins a NaN
// comparison, as the packet versions do lane by lane.
template <class V>
V lane_max(V a, V b) { return a < b ? b : a; }
template <class V>
V lane_min(V a, V b) { return b < a ? b : a; }

/// max over contiguous x[0, n), n >= 1, with four packet accumulators.
template <class V>
V max_contiguous(const V* x, index_t n)
{
    using namespace Eigen::internal;
    using P = packet_t<V>;
    constexpr index_t L = packet_size<V>;
    index_t j = 0;
    V result = -std::numeric_limits<V>::infinity();
    if (n >= 4 * L) {
        P m0 = ploadu<P>(x), m1 = ploadu<P>(x + L), m2 = ploadu<P>(x + 2 * L), m3 = ploadu<P>(x + 3 * L);
        for (j = 4 * L; j + 4 * L <= n; j += 4 * L) {
            m0 = pmax(m0, ploadu<P>(x + j));
            m1 = pmax(m1, ploadu<P>(x + j + L));
            m2 = pmax(m2, ploadu<P>(x + j + 2 * L));
            m3 = pmax(m3, ploadu<P>(x + j + 3 * L));
        }
        for (; j + L <= n; j += L) m0 = pmax(m0, ploadu<P>(x + j));
        result = fold_lanes<V>(pmax(pmax(m0, m1), pmax(m2, m3)), lane_max<V>);
    }
    for (; j < n; ++j) result = lane_max(result, x[j]);
    return result;
}

/// {min, max} over contiguous x[0, n), n >= 1, in one pass: the pass is bound by its loads,
/// so the second comparison per packet comes free.
template <class V>
std::pair<V, V> min_max_contiguous(const V* x, index_t n)
{
    using namespace Eigen::internal;
    using P = packet_t<V>;
    constexpr index_t L = packet_size<V>;
    index_t j = 0;
    V low = std::numeric_limits<V>::infinity(), high = -low;
    if (n >= 2 * L) {
        const P a = ploadu<P>(x), b = ploadu<P>(x + L);
        P lo0 = a, lo1 = b, hi0 = a, hi1 = b;
        for (j = 2 * L; j + 2 * L <= n; j += 2 * L) {
            const P c = ploadu<P>(x + j), d = ploadu<P>(x + j + L);
            lo0 = pmin(lo0, c);
            lo1 = pmin(lo1, d);
            hi0 = pmax(hi0, c);
            hi1 = pmax(hi1, d);
        }
        for (; j + L <= n; j += L) {
            const P c = ploadu<P>(x + j);
            lo0 = pmin(lo0, c);
            hi0 = pmax(hi0, c);
        }
        low = fold_lanes<V>(pmin(lo0, lo1), lane_min<V>);
        high = fold_lanes<V>(pmax(hi0, hi1), lane_max<V>);
    }
    for (; j < n; ++j) {
        low = lane_min(low, x[j]);
        high = lane_max(high, x[j]);
    }
    return {low, high};
}

/// How the exp pass guards its arguments: `clamp` raises them to the clamp and reports the
/// least; `none` is for rows the caller has shown to be above the clamp; `track` clamps and
/// reports the greatest too, for a shift that need not be the row max.
enum class exp_guard { clamp, none, track };

template <class V>
struct exp_pass {
    V total;
    V least;     // min_j (x_j - shift), or -inf when not tracked
    V greatest;  // max_j (x_j - shift), or +inf when not tracked
};

/// y_j = scale * exp(x_j - shift) over contiguous rows (y may be x), guarded as Guard says;
/// returns sum_j y_j with the argument range the guard tracks. Scaled = false skips the
/// multiply by scale (then 1).
template <exp_guard Guard, bool Scaled, class V>
exp_pass<V> exp_shifted_packets(const V* x, index_t n, V shift, V scale, V* y)
{
    using namespace Eigen::internal;
    using P = packet_t<V>;
    constexpr index_t L = packet_size<V>;
    constexpr V inf = std::numeric_limits<V>::infinity();
    const P vshift = pset1<P>(shift), vscale = pset1<P>(scale), vlowest = pset1<P>(lowest_exp_argument<V>());
    P sum0 = pset1<P>(V(0)), sum1 = sum0, least = pset1<P>(inf), greatest = pset1<P>(-inf);
    auto scaled = [&](const P& e) {
        if constexpr (Scaled) return pmul(vscale, e);
        else return e;
    };
    auto term = [&](const P& loaded) {
        const P d = psub(loaded, vshift);
        if constexpr (Guard == exp_guard::none) {
            return scaled(exp_packet(d));
        } else {
            least = pmin(least, d);
            if constexpr (Guard == exp_guard::track) greatest = pmax(greatest, d);
            return scaled(exp_packet(pmax(d, vlowest)));
        }
    };
    index_t j = 0;
    for (; j + 2 * L <= n; j += 2 * L) {
        const P e0 = term(ploadu<P>(x + j));
        const P e1 = term(ploadu<P>(x + j + L));
        pstoreu(y + j, e0);
        pstoreu(y + j + L, e1);
        sum0 = padd(sum0, e0);
        sum1 = padd(sum1, e1);
    }
    for (; j + L <= n; j += L) {
        const P e = term(ploadu<P>(x + j));
        pstoreu(y + j, e);
        sum0 = padd(sum0, e);
    }
    if (j < n) {
        // The tail through one packet, so every element sees the same exp; its unused
        // lanes hold the shift (argument 0) and are left out of the sum and the store.
#if defined(__AVX512F__)
        if constexpr (std::is_same_v<V, float> && L == 16) {
            const __mmask16 used = static_cast<__mmask16>((1u << (n - j)) - 1u);
            const P e = _mm512_maskz_mov_ps(used, term(_mm512_mask_loadu_ps(vshift, used, x + j)));
            _mm512_mask_storeu_ps(y + j, used, e);
            sum1 = padd(sum1, e);
            j = n;
        }
#endif
        if (j < n) {
            alignas(64) V lane[L];
            for (index_t l = 0; l < L; ++l) lane[l] = l < n - j ? x[j + l] : shift;
            pstoreu(lane, term(ploadu<P>(lane)));
            for (index_t l = 0; l < L; ++l) lane[l] = l < n - j ? (y[j + l] = lane[l]) : V(0);
            sum1 = padd(sum1, ploadu<P>(lane));
        }
    }
    exp_pass<V> pass{fold_lanes<V>(padd(sum0, sum1), std::plus<V>{}), -inf, inf};
    if constexpr (Guard != exp_guard::none) pass.least = fold_lanes<V>(least, lane_min<V>);
    if constexpr (Guard == exp_guard::track) pass.greatest = fold_lanes<V>(greatest, lane_max<V>);
    return pass;
}

template <exp_guard Guard, class V>
exp_pass<V> exp_shifted_contiguous(const V* x, index_t n, V shift, V scale, V* y)
{
    return scale == V(1) ? exp_shifted_packets<Guard, false>(x, n, shift, scale, y)
                         : exp_shifted_packets<Guard, true>(x, n, shift, scale, y);
}

/// Sets the entries of contiguous y[0, n) with |y_j| <= floor to exactly 0 (NaN stays) and
/// returns the new sum.
template <class V>
V zero_at_or_below(V* y, index_t n, V floor)
{
    using namespace Eigen::internal;
    using P = packet_t<V>;
    constexpr index_t L = packet_size<V>;
    const P vfloor = pset1<P>(floor);
    P sum0 = pset1<P>(V(0)), sum1 = sum0;
    auto kept = [&](const P& v) { return pandnot(v, pcmp_le(pabs(v), vfloor)); };
    index_t j = 0;
    for (; j + 2 * L <= n; j += 2 * L) {
        const P a = kept(ploadu<P>(y + j)), b = kept(ploadu<P>(y + j + L));
        pstoreu(y + j, a);
        pstoreu(y + j + L, b);
        sum0 = padd(sum0, a);
        sum1 = padd(sum1, b);
    }
    V total = fold_lanes<V>(padd(sum0, sum1), std::plus<V>{});
    for (; j < n; ++j) {
        if (std::abs(y[j]) <= floor) y[j] = V(0);
        total += y[j];
    }
    return total;
}

}  // namespace detail

struct row_kernels {
    template <class T>
    static T max(vector_view<T> x)
    {
        using V = std::remove_const_t<T>;
        if (x.extent(0) == 0) return -std::numeric_limits<V>::infinity();
        if constexpr (detail::packet_vectorised<V>)
            if (x.stride(0) == 1) return detail::max_contiguous(x.data(), x.extent(0));
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

    /// {min_j x_j, max_j x_j}; {+inf, -inf} for an empty row.
    template <class T>
    static auto min_max(vector_view<T> x)
    {
        using V = std::remove_const_t<T>;
        constexpr V inf = std::numeric_limits<V>::infinity();
        if (x.extent(0) == 0) return std::pair<V, V>(inf, -inf);
        if constexpr (detail::packet_vectorised<V>)
            if (x.stride(0) == 1) return detail::min_max_contiguous(x.data(), x.extent(0));
        return with_array(x, [](const auto& a) { return std::pair<V, V>(a.minCoeff(), a.maxCoeff()); });
    }

    /// y_j = scale * exp(x_j - shift), the softmax (or its gradient) once the shift is known;
    /// returns sum_j y_j. y may be x. Arguments below log(min normal) + 24 give exactly 0
    /// (an absolute error below 3e-28 in float next to a row sum >= 1), so masked (-inf)
    /// logits contribute exactly nothing and no denormal is ever formed.
    template <class T, class U>
    static auto exp_shifted(vector_view<T> x, std::remove_const_t<T> shift, std::remove_const_t<T> scale,
                            vector_view<U> y)
    {
        return exp_shifted(x, shift, scale, y, -std::numeric_limits<std::remove_const_t<T>>::infinity());
    }

    /// The same, told x_min = min_j x_j (from min_max): when no argument can reach the clamp,
    /// the loop leaves the clamp out. The results are the same either way.
    template <class T, class U>
    static auto exp_shifted(vector_view<T> x, std::remove_const_t<T> shift, std::remove_const_t<T> scale,
                            vector_view<U> y, std::remove_const_t<T> x_min)
    {
        using V = std::remove_const_t<T>;
        const index_t n = x.extent(0);
        if constexpr (detail::packet_vectorised<V>) {
            if ((x.stride(0) == 1 && y.stride(0) == 1) || n <= 1) {
                using detail::exp_guard;
                if (x_min - shift > detail::lowest_exp_argument<V>())
                    return detail::exp_shifted_contiguous<exp_guard::none>(x.data(), n, shift, scale, y.data()).total;
                const auto pass = detail::exp_shifted_contiguous<exp_guard::clamp>(x.data(), n, shift, scale, y.data());
                return pass.least > detail::lowest_exp_argument<V>() ? pass.total : zero_floored(y, scale);
            }
        }
        const V lowest = detail::lowest_exp_argument<V>();
        const bool floored = with_array(x, [&](const auto& a) {
            const bool below = n > 0 && !((a - shift).minCoeff() > lowest);  // before y may overwrite x
            with_array(y, [&](auto b) { b = scale * (a - shift).max(lowest).exp(); });
            return below;
        });
        return floored ? zero_floored(y, scale) : sum(vector_view<const V>(y));
    }

    /// One pass for a shift that need not be the row max (a target logit, say): y_j =
    /// exp(x_j - shift), clamped as exp_shifted clamps, and its sum, when no argument exceeds
    /// 64, so that the sum cannot overflow. Otherwise (or for a NaN) nullopt, with y left as
    /// scratch: the caller then takes the row through min_max and exp_shifted.
    template <class T, class U>
    static std::optional<std::remove_const_t<T>> try_exp_shifted(vector_view<T> x, std::remove_const_t<T> shift,
                                                                 vector_view<U> y)
    {
        using V = std::remove_const_t<T>;
        const index_t n = x.extent(0);
        if constexpr (detail::packet_vectorised<V>) {
            if (x.stride(0) == 1 && y.stride(0) == 1 && n > 0) {
                const auto pass =
                    detail::exp_shifted_contiguous<detail::exp_guard::track>(x.data(), n, shift, V(1), y.data());
                if (!(pass.greatest <= V(64) && std::isfinite(pass.total))) return std::nullopt;
                return pass.least > detail::lowest_exp_argument<V>() ? pass.total : zero_floored(y, V(1));
            }
        }
        const auto [low, high] = min_max(x);
        if (!(high - shift <= V(64))) return std::nullopt;
        return exp_shifted(x, shift, V(1), y, low);
    }

private:
    /// Sets the entries the clamp produced to exactly 0 and returns the new row sum. They
    /// are recognised by value, the largest result a clamped argument gives, so the pass
    /// works after y has overwritten x.
    template <class V>
    static V zero_floored(vector_view<V> y, V scale)
    {
        const V floor = std::abs(scale * std::exp(detail::lowest_exp_argument<V>())) * V(1.001);
        if constexpr (detail::packet_vectorised<V>)
            if (y.stride(0) == 1) return detail::zero_at_or_below(y.data(), y.extent(0), floor);
        return with_array(y, [&](auto b) {
            V total = V(0);
            for (index_t j = 0; j < b.size(); ++j) {
                if (std::abs(b[j]) <= floor) b[j] = V(0);  // NaN stays
                total += b[j];
            }
            return total;
        });
    }
};

}  // namespace tailor::eigen
