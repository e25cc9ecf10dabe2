#pragma once
// The fused driver: one pass of the backend's map_rows evaluates any loss policy on every
// row, writing the row's loss and its gradient with respect to the logits together; the
// reduction's factor is known before the pass, so the gradient comes out already scaled.
#include <cmath>
#include <concepts>
#include <cstdint>
#include <functional>
#include <type_traits>
#include <utility>
#include <vector>

#include "tailor/core/concepts.hpp"
#include "tailor/core/error.hpp"
#include "tailor/core/view.hpp"
#include "tailor/loss/reduction.hpp"
#include "tailor/loss/row_math.hpp"
#include "tailor/loss/targets.hpp"

namespace tailor::loss {

/// A loss policy: a small value type describing one row's math. It checks its parameters
/// against the class count, and its `row(context, target, kernels)` members (for a
/// `sparse_target<T>` and a `dense_target<T>`) return the row's loss while writing
/// grad_scale * d(loss)/d(logits) into `context.grad`. Policies that hold per-class data
/// name its element type as `value_type`, which must match the logits'.
template <class L>
concept loss_policy = std::copy_constructible<L> && requires(const L& loss, index_t classes) {
    loss.validate(classes);
};

namespace detail {

template <class L, class T>
concept value_type_matches = !requires { typename L::value_type; } || std::same_as<typename L::value_type, T>;

/// Lowest and one-past-highest element address a view can touch (strides are >= 0).
template <class V>
std::pair<const void*, const void*> address_span(const V& v)
{
    using E = typename V::value_type;
    if (v.empty()) return {nullptr, nullptr};
    index_t last = 0;
    for (std::size_t d = 0; d < V::rank; ++d) last += (v.extent(d) - 1) * v.stride(d);
    const E* begin = v.data();
    return {begin, begin + last + 1};
}

template <class A, class B>
bool overlap(const A& a, const B& b)
{
    const auto [a0, a1] = address_span(a);
    const auto [b0, b1] = address_span(b);
    if (!a0 || !b0) return false;
    return std::less<const void*>{}(a0, b1) && std::less<const void*>{}(b0, a1);
}

template <class T>
void require_weights(vector_view<const T> weights, index_t expected, std::string_view name)
{
    require_extents(weights, name, {expected});
    for (index_t k = 0; k < expected; ++k) {
        const T w = weights(k);
        if (!(std::isfinite(w) && w >= T(0))) fail(name, "finite weights >= 0", concat(w, " at position ", k));
    }
}

/// The map_rows functor: gives the policy contiguous rows, builds the row's target, and
/// returns the sample-weighted row loss.
template <class T, class Loss, class Source>
struct fused_row {
    const Loss* loss;
    Source source;
    matrix_view<T> grad;
    const T* class_weights;
    T class_weight_sum;
    vector_view<const T> sample_weights;
    T reduction_factor;
    unsigned char* invalid_rows;  // dense targets only

    template <class Row, class Kernels>
    T operator()(index_t r, const Row& logits_row, const Kernels& kernels) const
    {
        const index_t n = logits_row.extent(0);
        vector_view<const T> z = logits_row;
        if (logits_row.stride(0) != 1 && n > 1) {
            const vector_view<T> copy = thread_row<T>(buffer_slot::logits, n);
            for (index_t j = 0; j < n; ++j) copy.data()[j] = logits_row(j);
            z = copy;
        }
        const auto grad_row = grad.row(r);
        const bool grad_contiguous = grad_row.stride(0) == 1 || n <= 1;
        const vector_view<T> g = grad_contiguous ? grad_row : thread_row<T>(buffer_slot::grad, n);
        const T v = sample_weights.empty() ? T(1) : sample_weights(r);
        const row_context<T> context{z, g, n, reduction_factor * v, class_weights, class_weight_sum};

        T value;
        if constexpr (Source::is_dense) {
            const share_support support = kernels.scan_shares(source.probabilities.row(r));
            if (!support.valid) {
                invalid_rows[r] = 1;
                for (index_t j = 0; j < n; ++j) g.data()[j] = T(0);
                value = T(0);
            } else if (support.nonzeros == 1 || support.nonzeros == 2) {
                value = loss->row(context, source.sparse_row(r, support, class_weights), kernels);
            } else {
                value = loss->row(context, dense_target<T>{source.row_pointer(r)}, kernels);
            }
        } else {
            value = loss->row(context, source.row(r, class_weights), kernels);
        }
        if (!grad_contiguous)
            for (index_t j = 0; j < n; ++j) grad_row(j) = g.data()[j];
        return v * value;
    }
};

/// sum_k t_k w_k for one dense row, through the row kernels (vectorised).
template <class T>
struct dense_row_weight {
    vector_view<const T> class_weights;  // empty: unweighted
    template <class Row, class Kernels>
    T operator()(index_t, const Row& share, const Kernels& k) const
    {
        if (class_weights.empty()) return k.sum(share);
        return k.dot(share, class_weights);
    }
};

}  // namespace detail

/// Evaluates `loss` on a batch: returns the reduced loss and writes d(reduced)/d(logits)
/// into `grad` in the same pass.
///
/// - logits [B, C], any strides; grad [B, C], any strides, not overlapping logits.
/// - targets: `tailor::hard_targets` (or a plain int32/int64 label view), `tailor::pair_targets`
///   (mixup's {first, second, lambda}), `tailor::dense_targets` (or a plain [B, C] view).
/// - options: the reduction and the optional class and sample weights (see reduction.hpp).
/// - per_sample [B] (required for reduction::none, optional otherwise) receives v_i l_i.
/// With reduction::none the value returned is sum_i v_i l_i and `grad` is its gradient.
/// Throws a tailor::argument_error (or shape_error / index_error) naming the argument on any
/// invalid input; after an error found in a dense target row, grad and per_sample are
/// unspecified.
template <class T, memory_space Space, class Backend, loss_policy Loss, class Targets>
    requires backend<Backend, T> && detail::value_type_matches<Loss, T>
T value_and_gradient(Backend& be, const Loss& loss, std::type_identity_t<matrix_view<const T, Space>> logits,
                     const Targets& targets, matrix_view<T, Space> grad,
                     const std::type_identity_t<loss_options<T, Space>>& options = {},
                     std::type_identity_t<vector_view<T, Space>> per_sample = {})
{
    static_assert(std::same_as<typename Backend::memory_space, Space>,
                  "tailor::loss: the views must live in the backend's memory space");
    static_assert(is_host_accessible<Space>,
                  "tailor::loss: the fused losses run on host backends (their functors read host memory)");
    // Checks build their messages only on failure: this runs once per training step.
    using tailor::detail::concat;
    using tailor::detail::format_extents;
    using tailor::detail::require;

    const index_t batch = logits.rows(), classes = logits.cols();
    if (classes < 1)
        tailor::detail::fail<shape_error>("logits", "at least one column (one per class)",
                                          format_extents(logits.extents()));
    tailor::detail::require_extents(grad, "grad", logits.extents());
    require(!detail::overlap(grad, logits), "grad", "memory that does not overlap the logits",
            "a view overlapping them");
    loss.validate(classes);

    const auto source = detail::make_source<T>(targets);
    source.validate(batch, classes);

    // Class weights as contiguous memory (the row loops index them directly).
    std::vector<T> weights_copy;
    const T* class_weights = nullptr;
    T class_weight_sum = static_cast<T>(classes);
    if (!options.class_weights.empty()) {
        detail::require_weights(options.class_weights, classes, "class_weights");
        if (options.class_weights.stride(0) == 1) {
            class_weights = options.class_weights.data();
        } else {
            weights_copy.resize(static_cast<std::size_t>(classes));
            for (index_t k = 0; k < classes; ++k) weights_copy[static_cast<std::size_t>(k)] = options.class_weights(k);
            class_weights = weights_copy.data();
        }
        double total = 0;
        for (index_t k = 0; k < classes; ++k) total += class_weights[k];
        class_weight_sum = static_cast<T>(total);
    }
    if (!options.sample_weights.empty()) detail::require_weights(options.sample_weights, batch, "sample_weights");
    if (options.reduce == reduction::none)
        require<shape_error>(!per_sample.empty() || batch == 0, "per_sample",
                             "a [B] vector for reduction::none", "an empty view");
    if (!per_sample.empty()) tailor::detail::require_extents(per_sample, "per_sample", {batch});
    if (batch == 0) return T(0);

    auto sample_weight = [&](index_t r) { return options.sample_weights.empty() ? T(1) : options.sample_weights(r); };
    double factor = 1.0;
    switch (options.reduce) {
    case reduction::none:
    case reduction::sum: break;
    case reduction::mean: factor = 1.0 / static_cast<double>(batch); break;
    case reduction::weighted_mean: {
        double total = 0;
        if constexpr (decltype(source)::is_dense) {
            std::vector<T> row_weights(static_cast<std::size_t>(batch));
            be.template map_rows<T>(source.probabilities, vector_view<T>(row_weights.data(), {batch}),
                                    detail::dense_row_weight<T>{class_weights ? vector_view<const T>(class_weights, {classes})
                                                                              : vector_view<const T>{}});
            for (index_t r = 0; r < batch; ++r) total += double(sample_weight(r)) * row_weights[std::size_t(r)];
        } else {
            for (index_t r = 0; r < batch; ++r) total += double(sample_weight(r)) * source.row_weight(r, class_weights);
        }
        require(total > 0 && std::isfinite(total), "options.reduce",
                "a positive total weight sum_i v_i sum_k t_ik w_k for reduction::weighted_mean", total);
        factor = 1.0 / total;
        break;
    }
    }

    std::vector<T> values_storage;
    vector_view<T> values = per_sample;
    if (values.empty()) {
        values_storage.resize(static_cast<std::size_t>(batch));
        values = vector_view<T>(values_storage.data(), {batch});
    }
    std::vector<unsigned char> invalid_rows(decltype(source)::is_dense ? static_cast<std::size_t>(batch) : 0);
    be.template map_rows<T>(logits, values,
                            detail::fused_row<T, Loss, std::remove_const_t<decltype(source)>>{
                                &loss, source, grad, class_weights, class_weight_sum, options.sample_weights,
                                static_cast<T>(factor), invalid_rows.data()});
    for (std::size_t r = 0; r < invalid_rows.size(); ++r)
        if (invalid_rows[r])
            tailor::detail::fail("targets", "finite probabilities >= 0", concat("a negative, NaN or infinite entry in row ", r));

    double total = 0;
    for (index_t r = 0; r < batch; ++r) total += values(r);
    return static_cast<T>(total * factor);
}

}  // namespace tailor::loss
