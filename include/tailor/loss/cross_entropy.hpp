#pragma once
// Softmax cross-entropy with optional label smoothing; class weights come through
// loss_options like every other loss.
#include <cmath>

#include "tailor/core/error.hpp"
#include "tailor/loss/row_math.hpp"

namespace tailor::loss {

/// l = sum_k c_k (lse(z) - z_k) with c = ((1 - eps) t + eps / C) w, as PyTorch's
/// cross_entropy(weight=w, label_smoothing=eps) for hard labels and probability targets.
struct cross_entropy {
    double label_smoothing = 0.0;

    void validate(index_t) const
    {
        tailor::detail::require(std::isfinite(label_smoothing) && label_smoothing >= 0 && label_smoothing <= 1,
                                "label_smoothing", "a value in [0, 1]", label_smoothing);
    }

    template <class T, class Target, class Kernels>
    T row(const row_context<T>& row, const Target& target, const Kernels& k) const
    {
        return detail::softmax_cross_entropy(row, row.logits_row, T(1), target, static_cast<T>(label_smoothing), k);
    }
};

}  // namespace tailor::loss
