#pragma once
// Deferred re-weighting (Cao et al., with LDAM): train unweighted, then from a given epoch
// on weight classes by their class-balanced (effective-number) weights.
#include "tailor/core/view.hpp"
#include "tailor/loss/class_balanced.hpp"

namespace tailor::loss {

template <class T = float>
class drw_schedule {
public:
    using value_type = T;

    /// Epochs count from 0; the weights apply from `start_epoch` on (the reference: 160 of 200,
    /// beta = 0.9999).
    template <class Counts>
    drw_schedule(const Counts& counts, int start_epoch, double beta = 0.9999)
        : start_epoch_(start_epoch), weights_(class_balanced_weights<T>(counts, beta))
    {
        tailor::detail::require(start_epoch >= 0, "start_epoch", "an epoch >= 0", start_epoch);
    }

    int start_epoch() const noexcept { return start_epoch_; }
    bool active(int epoch) const noexcept { return epoch >= start_epoch_; }

    /// What to pass as loss_options::class_weights in `epoch`: empty (unweighted) before
    /// the start, the class-balanced weights from it on.
    vector_view<const T> class_weights(int epoch) const noexcept
    {
        return active(epoch) ? weights_.view() : vector_view<const T>{};
    }

    /// The weights used once active (they sum to C).
    vector_view<const T> weights() const noexcept { return weights_.view(); }

private:
    int start_epoch_;
    tailor::vector<T> weights_;
};

}  // namespace tailor::loss
