#pragma once
// Eigen's vectorised per-row primitives handed to map_rows functors.
//
// The softmax family spends its time in max and exp over rows that sit in L1, so the
// contiguous cases are loops over Eigen's packets rather than Eigen expressions: a max
// with four independent accumulators (a reduction's latency chain otherwise sets its
// speed), and one pass that writes scale * exp(x - shift) and sums what it wrote, where an
// expression would need a second pass to sum. Strided rows take the expression path.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <type_traits>
#include <utility>

#include "tailor/backend/eigen/adapt.hpp"
#include "tailor/core/exp_moments.hpp"
#include "tailor/core/targets.hpp"

namespace tailor::eigen {

namespace detail {

template <class V>
using packet_t = typename Eigen::internal::packet_traits<V>::type;

template <class V>
inline constexpr index_t packet_size = Eigen::internal::unpacket_traits<packet_t<V>>::size;

template <class V>
inline constexpr bool packet_vectorised = Eigen::internal::packet_traits<V>::Vectorizable && packet_size<V> > 1;

/// Arguments below this give exactly 0: e^24 above the smallest normal number, so neither
/// the results nor the gradients made from them (scaled by factors down to 1e-10, such as
/// s / B) fall into the denormal range, where every operation costs a microcode assist.
template <class V>
V lowest_exp_argument()
{
    static const V lowest = std::log(std::numeric_limits<V>::min()) + V(24);
    return lowest;
}

/// exp of a packet, and the same with the lanes below `lowest` set to exactly 0 (NaN
/// stays NaN): Eigen's pexp, except for AVX-512 floats, the softmax family's hot loop.
template <class P>
P exp_packet(const P& x)
{
    return Eigen::internal::pexp(x);
}

template <class P>
P exp_packet_or_zero(const P& x, const P& lowest)
{
    // Raised to the bound first, so no denormal is formed in the lanes that are dropped.
    const P e = exp_packet(Eigen::internal::pmax(x, lowest));
    return Eigen::internal::pandnot(e, Eigen::internal::pcmp_lt(x, lowest));
}

#if defined(__AVX512F__)
/// AVX-512 floats: Cody-Waite reduction with the rounding done by adding 1.5 * 2^23 (two
/// FMA-port instructions, where vrndscaleps takes two uops on one port), a degree-6
/// polynomial fitted for relative error on [-ln2/2, ln2/2] (3e-9 before rounding), and one
/// vscalefps for 2^n, which also zeroes the masked-off lanes. 11 vector instructions per 16
/// floats against 20 in Eigen's pexp; the relative error stays below 8e-8 over [-87, 88.7]
/// (Eigen's: 3e-7). Xsimd's, Highway's and SLEEF's AVX-512 exp measured no faster here.
/// Above 88.7 the result is inf; below -87.3 it is 0 or a denormal unless masked off.
inline Eigen::internal::Packet16f exp_avx512(const __m512 x, const __mmask16 keep)
{
    const __m512 round = _mm512_set1_ps(12582912.f);
    const __m512 n = _mm512_sub_ps(_mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504088896341f), round), round);
    // r = x - n ln 2 with ln 2 split in two, so r is exact to a float's precision.
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.3814604608e-3f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3687109873e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1668388993e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666521132e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.9999994040e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_maskz_scalef_ps(keep, p, n);
}

template <>
inline Eigen::internal::Packet16f exp_packet(const Eigen::internal::Packet16f& x)
{
    return exp_avx512(x, __mmask16(0xffff));
}

template <>
inline Eigen::internal::Packet16f exp_packet_or_zero(const Eigen::internal::Packet16f& x,
                                                     const Eigen::internal::Packet16f& lowest)
{
    return exp_avx512(x, _mm512_cmp_ps_mask(x, lowest, _CMP_NLT_UQ));  // NaN is kept
}
#endif

/// Folds a packet's lanes pairwise with a scalar op; sums of AVX-512 floats stay in
/// registers (a store and a scalar tree cost about 20 ns a call, several per row). Not
/// Eigen's predux family: GCC 12 flags the AVX-512 intrinsics those inline
/// (-Wuninitialized) in every includer's build.
template <class V, class P, class Op>
V fold_lanes(const P& p, Op op)
{
#if defined(__AVX512F__)
    if constexpr (std::is_same_v<V, float> && packet_size<V> == 16 && std::is_same_v<Op, std::plus<V>>) {
        // The same pairing in registers: lane l with l ^ 8, then l ^ 4, l ^ 2, l ^ 1, so the
        // sum is the array form's to the bit. Zero-masked shuffles, for the reason above.
        __m512 v = _mm512_add_ps(p, _mm512_maskz_shuffle_f32x4(__mmask16(0xffff), p, p, 0x4E));
        v = _mm512_add_ps(v, _mm512_maskz_shuffle_f32x4(__mmask16(0xffff), v, v, 0xB1));
        v = _mm512_add_ps(v, _mm512_maskz_permute_ps(__mmask16(0xffff), v, 0x4E));
        v = _mm512_add_ps(v, _mm512_maskz_permute_ps(__mmask16(0xffff), v, 0xB1));
        return _mm512_cvtss_f32(v);
    }
#endif
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

/// The last `count` (< packet size) entries of a row as one packet, the lanes past the
/// end holding `fill`: a row's tail goes through the same packet code as its body.
template <class P, class V>
P load_tail(const V* x, index_t count, V fill)
{
#if defined(__AVX512F__)
    if constexpr (std::is_same_v<V, float> && packet_size<V> == 16)
        return _mm512_mask_loadu_ps(_mm512_set1_ps(fill), static_cast<__mmask16>((1u << count) - 1u), x);
#endif
    alignas(64) V lane[packet_size<V>];
    for (index_t l = 0; l < packet_size<V>; ++l) lane[l] = l < count ? x[l] : fill;
    return Eigen::internal::ploadu<P>(lane);
}

/// Stores the first `count` lanes of p to y and returns p with the other lanes zeroed, so
/// they stay out of the caller's sums.
template <class P, class V>
P store_tail(V* y, index_t count, const P& p)
{
#if defined(__AVX512F__)
    if constexpr (std::is_same_v<V, float> && packet_size<V> == 16) {
        const __mmask16 used = static_cast<__mmask16>((1u << count) - 1u);
        _mm512_mask_storeu_ps(y, used, p);
        return _mm512_maskz_mov_ps(used, p);
    }
#endif
    alignas(64) V lane[packet_size<V>];
    Eigen::internal::pstoreu(lane, p);
    for (index_t l = 0; l < packet_size<V>; ++l) lane[l] = l < count ? (y[l] = lane[l]) : V(0);
    return Eigen::internal::ploadu<P>(lane);
}

/// y_j = scale * exp(x_j - shift) over contiguous rows (y may be x), and sum_j y_j. With
/// ZeroBelow, arguments below lowest_exp_argument give exactly 0; without, the caller has
/// shown that none is. Scaled = false skips the multiply by scale (then 1).
template <bool ZeroBelow, bool Scaled, class V>
V exp_shifted_packets(const V* x, index_t n, V shift, V scale, V* y)
{
    using namespace Eigen::internal;
    using P = packet_t<V>;
    constexpr index_t L = packet_size<V>;
    const P vshift = pset1<P>(shift), vscale = pset1<P>(scale), vlowest = pset1<P>(lowest_exp_argument<V>());
    P sum0 = pset1<P>(V(0)), sum1 = sum0;
    auto term = [&](const P& loaded) {
        const P d = psub(loaded, vshift);
        const P e = ZeroBelow ? exp_packet_or_zero(d, vlowest) : exp_packet(d);
        if constexpr (Scaled) return pmul(vscale, e);
        else return e;
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
        sum1 = padd(sum1, store_tail(y + j, n - j, term(load_tail<P>(x + j, n - j, shift))));
    }
    return fold_lanes<V>(padd(sum0, sum1), std::plus<V>{});
}

template <bool ZeroBelow, class V>
V exp_shifted_contiguous(const V* x, index_t n, V shift, V scale, V* y)
{
    return scale == V(1) ? exp_shifted_packets<ZeroBelow, false>(x, n, shift, scale, y)
                         : exp_shifted_packets<ZeroBelow, true>(x, n, shift, scale, y);
}

/// pmax, except on AVX-512, where it is spelled with an all-ones zero mask: GCC 12 flags
/// the undefined source operand of the plain intrinsic (-Wuninitialized) where it inlines.
template <class P>
P packet_max(const P& a, const P& b)
{
    return Eigen::internal::pmax(a, b);
}

#if defined(__AVX512F__)
template <>
inline Eigen::internal::Packet16f packet_max(const Eigen::internal::Packet16f& a, const Eigen::internal::Packet16f& b)
{
    return _mm512_maskz_max_ps(__mmask16(0xffff), a, b);
}

template <>
inline Eigen::internal::Packet8d packet_max(const Eigen::internal::Packet8d& a, const Eigen::internal::Packet8d& b)
{
    return _mm512_maskz_max_pd(__mmask8(0xff), a, b);
}
#endif

/// acc + a * b in the lanes where a != 0, acc where a == 0: a zero coefficient times an
/// infinite distance (a -inf logit) adds nothing rather than NaN.
template <class P>
P fmadd_where_nonzero(const P& a, const P& b, const P& acc)
{
    using namespace Eigen::internal;
    return padd(acc, pandnot(pmul(a, b), pcmp_eq(a, pzero(a))));
}

#if defined(__AVX512F__)
template <>
inline Eigen::internal::Packet16f fmadd_where_nonzero(const Eigen::internal::Packet16f& a,
                                                      const Eigen::internal::Packet16f& b,
                                                      const Eigen::internal::Packet16f& acc)
{
    return _mm512_mask3_fmadd_ps(a, b, acc, _mm512_cmp_ps_mask(a, _mm512_setzero_ps(), _CMP_NEQ_UQ));
}
#endif

/// exp_moments over contiguous rows in one pass: the exp pass of exp_shifted_packets with,
/// per lane, a running max `top`, the mass, and the gap below that lane's running max. When
/// a lane's max rises by d, every coefficient it has seen moves d further below it, so its
/// gap grows by mass * d: all terms stay >= 0, and the lanes are merged the same way at the
/// end. Lanes start at the shift, so no -inf - -inf is ever formed. Two interleaved lane
/// sets keep the accumulators' latency off the critical path.
template <class V>
exp_moments<V> exp_moments_contiguous(const V* x, const V* c, index_t n, V shift, V* y)
{
    using namespace Eigen::internal;
    using P = packet_t<V>;
    constexpr index_t L = packet_size<V>;
    const P vshift = pset1<P>(shift), vlowest = pset1<P>(lowest_exp_argument<V>());
    struct lanes {
        P total, top, mass, gap;
    };
    lanes set[2];
    for (lanes& s : set) s = {pset1<P>(V(0)), vshift, pset1<P>(V(0)), pset1<P>(V(0))};
    // One packet into a lane set; returns the exponentials for the caller to store.
    auto step = [&](lanes& s, const P& xv, const P& cv) {
        const P e = exp_packet_or_zero(psub(xv, vshift), vlowest);
        const P top = packet_max(s.top, xv);
        s.gap = pmadd(s.mass, psub(top, s.top), s.gap);
        s.gap = fmadd_where_nonzero(cv, psub(top, xv), s.gap);
        s.mass = padd(s.mass, cv);
        s.top = top;
        s.total = padd(s.total, e);
        return e;
    };
    index_t j = 0;
    for (; j + 2 * L <= n; j += 2 * L) {
        pstoreu(y + j, step(set[0], ploadu<P>(x + j), ploadu<P>(c + j)));
        pstoreu(y + j + L, step(set[1], ploadu<P>(x + j + L), ploadu<P>(c + j + L)));
    }
    for (; j + L <= n; j += L) pstoreu(y + j, step(set[0], ploadu<P>(x + j), ploadu<P>(c + j)));
    if (j < n) {
        // The tail through one packet; unused lanes read x = shift and c = 0, which leave the
        // max, mass and gap alone, and their exp (1) is kept out of the total and the store.
        lanes& s = set[1];
        const P total = s.total;
        const P e = step(s, load_tail<P>(x + j, n - j, shift), load_tail<P>(c + j, n - j, V(0)));
        s.total = padd(total, store_tail(y + j, n - j, e));
    }
    const V top = fold_lanes<V>(packet_max(set[0].top, set[1].top), lane_max<V>);
    const P vtop = pset1<P>(top);
    P gap = padd(set[0].gap, set[1].gap);
    for (const lanes& s : set) gap = pmadd(s.mass, psub(vtop, s.top), gap);
    const exp_moments<V> m{fold_lanes<V>(padd(set[0].total, set[1].total), std::plus<V>{}), top,
                           fold_lanes<V>(padd(set[0].mass, set[1].mass), std::plus<V>{}),
                           fold_lanes<V>(gap, std::plus<V>{})};
    return m;
}

#if defined(__AVX512DQ__)
/// scan_shares over contiguous floats: one vfpclassps per packet flags the invalid classes
/// (NaN, +-inf, a negative number other than -0) and one integer test makes a 16-bit
/// nonzero mask; only packets holding mass (two in a mixup row) take the branch that
/// records classes, so a sparse row costs one streaming pass.
inline share_support scan_shares_avx512(const float* t, index_t n)
{
    constexpr int invalid_classes = 0x01 | 0x08 | 0x10 | 0x40 | 0x80;  // QNaN, +inf, -inf, negative finite, SNaN
    const __m512i magnitude = _mm512_set1_epi32(0x7fffffff);
    __mmask16 invalid = 0;
    share_support s;
    auto packet = [&](index_t j, __m512 values) {
        invalid = _kor_mask16(invalid, _mm512_fpclass_ps_mask(values, invalid_classes));
        unsigned nonzero = _mm512_test_epi32_mask(_mm512_castps_si512(values), magnitude);
        for (; nonzero != 0 && s.nonzeros < 3; nonzero &= nonzero - 1) {
            if (s.nonzeros < 2) s.label[s.nonzeros] = j + std::countr_zero(nonzero);
            ++s.nonzeros;
        }
    };
    index_t j = 0;
    for (; j + 16 <= n; j += 16) packet(j, _mm512_loadu_ps(t + j));
    if (j < n) packet(j, load_tail<Eigen::internal::Packet16f>(t + j, n - j, 0.f));
    s.valid = invalid == 0;
    return s;
}
#endif

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

    /// A dense target row's validity and, for one or two nonzero classes, where they are.
    template <class T>
    static share_support scan_shares(vector_view<T> t)
    {
#if defined(__AVX512DQ__)
        if constexpr (std::is_same_v<std::remove_const_t<T>, float>)
            if (t.stride(0) == 1) return detail::scan_shares_avx512(t.data(), t.extent(0));
#endif
        return tailor::detail::scan_shares(t);
    }

    /// exp_shifted(x, shift, 1, y) and, from the same pass, the row max and the c-weighted
    /// sums of `exp_moments` (c_j >= 0): a soft-target cross-entropy's one read of its row.
    template <class T, class U>
    static auto exp_shifted_moments(vector_view<T> x, vector_view<T> c, std::remove_const_t<T> shift,
                                    vector_view<U> y)
    {
        using V = std::remove_const_t<T>;
        const index_t n = x.extent(0);
        if (c.extent(0) != n || y.extent(0) != n)
            tailor::detail::fail("c and y", "the length of x", tailor::detail::concat(c.extent(0), " and ", y.extent(0)));
        if constexpr (detail::packet_vectorised<V>)
            if (n >= 1 && x.stride(0) == 1 && c.stride(0) == 1 && y.stride(0) == 1)
                return detail::exp_moments_contiguous(x.data(), c.data(), n, shift, y.data());
        return tailor::detail::exp_shifted_moments(row_kernels{}, x, c, shift, y);
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

    /// The same, told x_min = min_j x_j (from min_max): when no argument can fall below the
    /// bound, the loop leaves the test out. The results are the same either way.
    template <class T, class U>
    static auto exp_shifted(vector_view<T> x, std::remove_const_t<T> shift, std::remove_const_t<T> scale,
                            vector_view<U> y, std::remove_const_t<T> x_min)
    {
        using V = std::remove_const_t<T>;
        const index_t n = x.extent(0);
        const V lowest = detail::lowest_exp_argument<V>();
        if constexpr (detail::packet_vectorised<V>) {
            if ((x.stride(0) == 1 && y.stride(0) == 1) || n <= 1) {
                if (x_min - shift > lowest)
                    return detail::exp_shifted_contiguous<false>(x.data(), n, shift, scale, y.data());
                return detail::exp_shifted_contiguous<true>(x.data(), n, shift, scale, y.data());
            }
        }
        with_array(x, [&](const auto& a) {
            with_array(y, [&](auto b) { b = (a - shift < lowest).select(V(0), scale * (a - shift).max(lowest).exp()); });
        });
        return sum(vector_view<const V>(y));
    }
};

}  // namespace tailor::eigen
