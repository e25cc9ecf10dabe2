#pragma once
// Where the row targets come from. The three caller forms (tailor::hard_targets,
// tailor::pair_targets from mixup, tailor::dense_targets) become, per row, a
// sparse_target of at most two classes or a dense_target row (row_math.hpp), so a mixed
// pair never turns into a [B, C] matrix. Checked once per call at the boundary.
#include <cmath>
#include <concepts>
#include <cstdint>
#include <type_traits>

#include "tailor/core/error.hpp"
#include "tailor/core/targets.hpp"
#include "tailor/core/view.hpp"
#include "tailor/loss/row_math.hpp"

namespace tailor::loss {

namespace detail {

using tailor::detail::concat;
using tailor::detail::fail;
using tailor::detail::format_extents;
using tailor::detail::require;
using tailor::detail::require_extents;

template <class Label>
void require_labels(vector_view<const Label> labels, index_t classes, std::string_view name)
{
    for (index_t i = 0; i < labels.extent(0); ++i) {
        const auto y = labels(i);
        if (y < 0 || static_cast<index_t>(y) >= classes)
            fail<index_error>(name, concat("labels in [0, ", classes, ")"), concat(y, " at sample ", i));
    }
}

template <class T>
T class_weight(const T* weights, index_t k)
{
    return weights ? weights[k] : T(1);
}

/// Hard labels: one class per sample.
template <class T, class Label>
struct hard_source {
    static constexpr bool is_dense = false;
    vector_view<const Label> labels;

    void validate(index_t batch, index_t classes) const
    {
        require_extents(labels, "labels", {batch});
        require_labels(labels, classes, "labels");
    }

    sparse_target<T> row(index_t r, const T* weights) const
    {
        sparse_target<T> t;
        t.count = 1;
        t.label[0] = static_cast<index_t>(labels(r));
        t.share[0] = T(1);
        t.coefficient[0] = class_weight(weights, t.label[0]);
        return t;
    }

    /// sum_k t_k w_k, the sample's weight in a weighted mean.
    T row_weight(index_t r, const T* weights) const { return class_weight(weights, static_cast<index_t>(labels(r))); }
};

/// Mixup's sparse form: lambda_i onehot(first_i) + (1 - lambda_i) onehot(second_i).
template <class T, class Label>
struct pair_source {
    static constexpr bool is_dense = false;
    vector_view<const Label> first, second;
    vector_view<const T> lambda;

    void validate(index_t batch, index_t classes) const
    {
        require_extents(first, "targets.first", {batch});
        require_extents(second, "targets.second", {batch});
        require_extents(lambda, "targets.lambda", {batch});
        require_labels(first, classes, "targets.first");
        require_labels(second, classes, "targets.second");
        for (index_t i = 0; i < batch; ++i) {
            const T l = lambda(i);
            if (!(std::isfinite(l) && l >= T(0) && l <= T(1)))
                fail("targets.lambda", "values in [0, 1]", concat(l, " at sample ", i));
        }
    }

    /// Equal classes merge into one entry of share 1 and a zero share drops its class, so a
    /// pair with lambda = 1 is exactly the hard label.
    sparse_target<T> row(index_t r, const T* weights) const
    {
        const index_t a = static_cast<index_t>(first(r)), b = static_cast<index_t>(second(r));
        const T l = lambda(r);
        sparse_target<T> t;
        auto add = [&](index_t k, T share) {
            if (share == T(0)) return;
            t.label[t.count] = k;
            t.share[t.count] = share;
            t.coefficient[t.count] = share * class_weight(weights, k);
            ++t.count;
        };
        if (a == b) {
            add(a, T(1));
        } else {
            add(a, l);
            add(b, T(1) - l);
        }
        return t;
    }

    T row_weight(index_t r, const T* weights) const
    {
        const T l = lambda(r);
        return l * class_weight(weights, static_cast<index_t>(first(r))) +
               (T(1) - l) * class_weight(weights, static_cast<index_t>(second(r)));
    }
};

/// Dense probability rows [B, C]. Their values are checked while the rows are read (a
/// separate pass over B x C would cost as much as the loss); a bad row makes the driver
/// throw after the pass. The same scan finds rows with one or two nonzero classes (mixup's
/// targets written densely), which take the sparse path: the loss is the same function of
/// the target, and those rows then skip the per-class target passes.
template <class T>
struct dense_source {
    static constexpr bool is_dense = true;
    matrix_view<const T> probabilities;

    void validate(index_t batch, index_t classes) const
    {
        require_extents(probabilities, "targets", {batch, classes});
    }

    /// Row r as a sparse target, given its support from scan_shares (one or two classes).
    sparse_target<T> sparse_row(index_t r, const share_support& support, const T* weights) const
    {
        sparse_target<T> t;
        t.count = support.nonzeros;
        for (int e = 0; e < t.count; ++e) {
            t.label[e] = support.label[e];
            t.share[e] = probabilities(r, t.label[e]);
            t.coefficient[e] = t.share[e] * class_weight(weights, t.label[e]);
        }
        return t;
    }

    /// The row as contiguous memory: the caller's when it is, a per-thread copy otherwise.
    const T* row_pointer(index_t r) const
    {
        const auto row = probabilities.row(r);
        const index_t n = row.extent(0);
        if (row.stride(0) == 1 || n <= 1) return row.data();
        T* copy = thread_row<T>(buffer_slot::targets, n).data();
        for (index_t j = 0; j < n; ++j) copy[j] = row(j);
        return copy;
    }
};

template <class T, class Label, class Space>
hard_source<T, std::remove_const_t<Label>> make_source(const hard_targets<Label, Space>& t)
{
    return {t.labels};
}

template <class T, class Label, class Space>
pair_source<T, std::remove_const_t<Label>> make_source(const pair_targets<T, Label, Space>& t)
{
    return {t.first, t.second, t.lambda};
}

template <class T, class Space>
dense_source<T> make_source(const dense_targets<T, Space>& t)
{
    return {t.probabilities};
}

/// Plain views: integer vectors are hard labels, matrices of T are dense targets.
template <class T, class Label>
    requires std::integral<std::remove_const_t<Label>>
hard_source<T, std::remove_const_t<Label>> make_source(vector_view<Label> labels)
{
    return {vector_view<const std::remove_const_t<Label>>(labels)};
}

template <class T, class U>
    requires std::same_as<std::remove_const_t<U>, T>
dense_source<T> make_source(matrix_view<U> probabilities)
{
    return {matrix_view<const T>(probabilities)};
}

}  // namespace detail
}  // namespace tailor::loss
