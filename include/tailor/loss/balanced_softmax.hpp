#pragma once
// Balanced softmax (BalCE): cross-entropy on logits shifted by the log class counts, so the
// softmax models the training prior and the logits are left to model the balanced one.
#include <cmath>
#include <vector>

#include "tailor/loss/counts.hpp"
#include "tailor/loss/row_math.hpp"

namespace tailor::loss {

/// l = CE(z + log n, t). Every count must be > 0 (log 0 would remove the class).
template <class T = float>
class balanced_softmax {
public:
    using value_type = T;

    template <class Counts>
    explicit balanced_softmax(const Counts& counts)
    {
        const auto n = detail::read_counts(counts);
        detail::require_positive_counts(n, "counts", "balanced softmax adds log n_j, and log 0 = -inf");
        log_counts_.reserve(n.size());
        for (double c : n) log_counts_.push_back(static_cast<T>(std::log(c)));
    }

    index_t classes() const noexcept { return static_cast<index_t>(log_counts_.size()); }
    /// log n_j, the bias added to the logits.
    const std::vector<T>& log_counts() const noexcept { return log_counts_; }

    void validate(index_t classes) const
    {
        detail::require_classes(this->classes(), classes, "the classes counted");
    }

    template <class Target, class Kernels>
    T row(const row_context<T>& row, const Target& target, const Kernels& k) const
    {
        const vector_view<const T> adjusted = detail::biased_row(row, log_counts_.data());
        return detail::softmax_cross_entropy(row, adjusted, T(1), target, T(0), k);
    }

private:
    std::vector<T> log_counts_;
};


}  // namespace tailor::loss
