#pragma once
// Where a mixup batch writes its targets: caller buffers in the sparse two-class form the
// losses take (tailor::pair_targets), and a conversion to dense [B, C] rows.
#include <cstdint>

#include "tailor/core/error.hpp"
#include "tailor/core/targets.hpp"
#include "tailor/core/view.hpp"

namespace tailor {

/// Caller-owned outputs for B mixed samples: sample b's target is
/// lambda[b] onehot(first[b]) + (1 - lambda[b]) onehot(second[b]).
template <class T = float, class Label = std::int32_t>
struct pair_target_buffers {
    vector_view<Label> first;
    vector_view<Label> second;
    vector_view<T> lambda;

    /// The read-only form the losses consume.
    pair_targets<T, Label> targets() const noexcept { return {first, second, lambda}; }
};

namespace detail {

template <class T, class Label>
void require_batch_targets(const pair_target_buffers<T, Label>& buffers, index_t batch)
{
    require_extents(buffers.first, "targets.first", {batch});
    require_extents(buffers.second, "targets.second", {batch});
    require_extents(buffers.lambda, "targets.lambda", {batch});
}

}  // namespace detail

/// Dense targets [B, C] from the sparse form; labels must lie in [0, C).
template <class T, class Label>
void write_dense_targets(const pair_targets<T, Label>& targets, matrix_view<T> out)
{
    const index_t batch = targets.first.size();
    detail::require_extents(targets.second, "targets.second", {batch});
    detail::require_extents(targets.lambda, "targets.lambda", {batch});
    detail::require_extents(out, "out", {batch, -1});
    const index_t classes = out.cols();
    for (index_t b = 0; b < batch; ++b) {
        const Label first = targets.first(b), second = targets.second(b);
        if (first < 0 || first >= classes || second < 0 || second >= classes)
            detail::fail<index_error>("targets", detail::concat("labels in [0, ", classes, ")"),
                                      detail::concat("(", first, ", ", second, ") in row ", b));
        for (index_t c = 0; c < classes; ++c) out(b, c) = T(0);
        out(b, first) += targets.lambda(b);
        out(b, second) += T(1) - targets.lambda(b);
    }
}

}  // namespace tailor
