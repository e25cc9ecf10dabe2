#pragma once
// Target vocabulary shared by the rooms that produce targets (mixup) and the rooms that
// consume them (losses): hard labels, dense soft targets, and the sparse two-class form a
// mixed pair yields, so a [B, C] matrix never has to be materialised for mixup.
#include <cstdint>

#include "tailor/core/view.hpp"

namespace tailor {

/// One class id per sample.
template <class Label = std::int32_t, memory_space Space = host_space>
struct hard_targets {
    vector_view<const Label, Space> labels;
};

/// A probability row per sample, [B, C].
template <class T = float, memory_space Space = host_space>
struct dense_targets {
    matrix_view<const T, Space> probabilities;
};

/// Sample b's target is lambda_b onehot(first_b) + (1 - lambda_b) onehot(second_b).
template <class T = float, class Label = std::int32_t, memory_space Space = host_space>
struct pair_targets {
    vector_view<const Label, Space> first;
    vector_view<const Label, Space> second;
    vector_view<const T, Space> lambda;
};

}  // namespace tailor
