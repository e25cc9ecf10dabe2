#pragma once
// The extension points, stated as concepts. They read as the contract a new backend or
// policy must meet; the algorithms are written against them and never name a concrete type.
#include <concepts>
#include <cstdint>
#include <random>
#include <utility>

#include "tailor/core/exp_moments.hpp"
#include "tailor/core/functional.hpp"
#include "tailor/core/targets.hpp"
#include "tailor/core/view.hpp"

namespace tailor {

/// Per-row vector primitives a backend hands to `map_rows` functors: the pieces every
/// softmax-family loss is built from, so a fused loss runs at the backend's SIMD speed.
template <class K, class T, class Space>
concept row_kernel_set = requires(const K& k, vector_view<const T, Space> x, vector_view<T, Space> y, T s) {
    { k.max(x) } -> std::convertible_to<T>;
    { k.min_max(x) } -> std::convertible_to<std::pair<T, T>>;  // {min_j x_j, max_j x_j}
    { k.sum(x) } -> std::convertible_to<T>;
    { k.dot(x, x) } -> std::convertible_to<T>;
    { k.logsumexp(x) } -> std::convertible_to<T>;
    { k.sum_exp(x, s) } -> std::convertible_to<T>;  // sum_j exp(x_j - s)
    { k.exp_shifted(x, s, s, y) } -> std::convertible_to<T>;  // y_j = a * exp(x_j - s); returns sum_j y_j
    { k.exp_shifted(x, s, s, y, s) } -> std::convertible_to<T>;  // the same, told min_j x_j
    // exp(x_j - s) into y with the max, sum_j c_j and sum_j c_j (max - x_j) of the same pass
    { k.exp_shifted_moments(x, x, s, y) } -> std::same_as<exp_moments<T>>;
    // a dense target row: valid probabilities? nonzero classes when one or two
    { k.scan_shares(x) } -> std::same_as<share_support>;
};

/// A functor for `map_rows`: sees a row index, the row, and the backend's row kernels.
struct row_functor_archetype {
    template <class Row, class Kernels>
    TAILOR_HOST_DEVICE float operator()(index_t, const Row&, const Kernels&) const { return 0.f; }
};

/// The op set every algorithm is written against, for element type `T` (float, and
/// double where a backend serves it). A backend owns one memory space; its views must be
/// of that space. Ops may run asynchronously on device backends; `synchronize()` waits.
///
/// Semantics (Y, X are matrices; v vectors; all checked at the call):
/// - gemm(a, A, B, b, C[, ep]):  C_ij = ep(i, j, a (A B)_ij + b C_ij); transposes are free
///   views (`A.transposed()`); C is not read when b == 0.
/// - gemm_batched: the same for every leading index of rank-3 views.
/// - softmax_rows / log_softmax_rows (Y may be X), logsumexp_rows (into v).
/// - layer_norm_rows(X, gamma, beta, eps, Y): Y = (X - mean) / sqrt(var + eps) * gamma + beta.
/// - transform (unary and binary elementwise), fill, copy.
/// - reduce (all elements), reduce_rows, reduce_cols with an associative op and its identity.
/// - gather_rows(src, idx, dst): dst_i = src_idx[i]; scatter_add_rows(src, idx, dst): dst_idx[i] += src_i;
///   gather_cols(X, idx, v): v_i = X_i,idx[i] (target logits).
/// - map_rows(X, v, f): v_r = f(r, X_r, kernels), every row independent (the fused-loss primitive).
template <class B, class T = float>
concept backend = memory_space<typename B::memory_space> &&
    requires(B& be, matrix_view<const T, typename B::memory_space> x,
             matrix_view<T, typename B::memory_space> y,
             tensor_view<const T, 3, typename B::memory_space> x3,
             tensor_view<T, 3, typename B::memory_space> y3,
             vector_view<const T, typename B::memory_space> cv,
             vector_view<T, typename B::memory_space> v,
             vector_view<const std::int32_t, typename B::memory_space> idx, T s) {
        be.gemm(s, x, x, s, y);
        be.gemm(s, x, x, s, y, bias_epilogue<T>{nullptr});
        be.gemm_batched(s, x3, x3, s, y3);
        be.softmax_rows(x, y);
        be.log_softmax_rows(x, y);
        be.logsumexp_rows(x, v);
        be.layer_norm_rows(x, cv, cv, s, y);
        be.transform(x, y, [](T a) { return a; });
        be.transform(x, x, y, plus{});
        be.transform(cv, v, [](T a) { return a; });
        { be.reduce(x, s, plus{}) } -> std::convertible_to<T>;
        { be.reduce(cv, s, plus{}) } -> std::convertible_to<T>;
        be.reduce_rows(x, v, s, plus{});
        be.reduce_cols(x, v, s, maximum{});
        be.gather_rows(x, idx, y);
        be.scatter_add_rows(x, idx, y);
        be.gather_cols(x, idx, v);
        be.map_rows(x, v, row_functor_archetype{});
        be.fill(y, s);
        be.copy(x, y);
        be.synchronize();
    };

/// The random-engine requirement: a standard UniformRandomBitGenerator producing 32-bit
/// words. Counter-based engines (tailor::philox4x32_10) also give reproducible streams.
template <class E>
concept random_engine = std::uniform_random_bit_generator<std::remove_cvref_t<E>> &&
    sizeof(typename std::remove_cvref_t<E>::result_type) >= 4;

}  // namespace tailor
