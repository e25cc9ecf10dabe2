#pragma once
// Target vocabulary shared by the rooms that produce targets (mixup) and the rooms that
// consume them (losses): hard labels, dense soft targets, and the sparse two-class form a
// mixed pair yields, so a [B, C] matrix never has to be materialised for mixup.
#include <cmath>
#include <cstdint>
#include <type_traits>

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

/// What one pass over a dense target row learns (the row kernels' `scan_shares`): whether
/// it is a valid probability row, and where its mass sits when that is one or two classes,
/// so such a row (mixup's, written densely) can take the sparse path.
struct share_support {
    bool valid = true;          // every entry finite and >= 0 (-0 allowed)
    int nonzeros = 0;           // entries other than +-0, counted up to 3 ("more than two")
    index_t label[2] = {0, 0};  // the first two of them, in class order
};

namespace detail {

/// share_support of any host row, element by element: the reference every backend's
/// vectorised kernel agrees with.
template <class T, class Space>
share_support scan_shares(vector_view<T, Space> row)
{
    using V = std::remove_const_t<T>;
    share_support s;
    for (index_t j = 0; j < row.extent(0); ++j) {
        const V share = row(j);
        if (!(std::isfinite(share) && share >= V(0))) s.valid = false;  // -0 >= 0 holds
        if (share != V(0) && s.nonzeros < 3) {
            if (s.nonzeros < 2) s.label[s.nonzeros] = j;
            ++s.nonzeros;
        }
    }
    return s;
}

}  // namespace detail

}  // namespace tailor
