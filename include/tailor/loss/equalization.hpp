#pragma once
// Equalization loss, softmax form (Tan et al.): the negative gradients that frequent
// classes push onto rare ones are suppressed by down-weighting rare classes' exponentials
// in the softmax denominator, i.e. adding log w_k to their logits:
//   w_k = 1 - beta [n_k / N < lambda] (1 - t_k),   l = CE(z + log w, t).
// The target class keeps w = 1. With a soft target the factor uses the class's share t_k.
// beta = 1 removes rare non-target classes from the denominator (log 0 = -inf: their
// probability and gradient are exactly 0). The paper draws beta from Bernoulli(gamma) per
// step; tailor keeps no hidden randomness, so a caller wanting that passes beta 0 or 1.
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "tailor/core/error.hpp"
#include "tailor/loss/counts.hpp"
#include "tailor/loss/row_math.hpp"

namespace tailor::loss {

template <class T = float>
class equalization {
public:
    using value_type = T;

    /// `lambda`: the frequency n_k / N below which a class counts as rare; `beta` in [0, 1].
    template <class Counts>
    equalization(const Counts& counts, double lambda, double beta = 1.0) : lambda_(lambda), beta_(beta)
    {
        tailor::detail::require(std::isfinite(lambda) && lambda >= 0, "lambda", "a finite frequency >= 0", lambda);
        tailor::detail::require(std::isfinite(beta) && beta >= 0 && beta <= 1, "beta", "a value in [0, 1]", beta);
        const auto n = detail::read_counts(counts);
        const double total = std::accumulate(n.begin(), n.end(), 0.0);
        tailor::detail::require(total > 0, "counts", "a positive total (frequencies n_k / N)", total);
        const T suppressed = static_cast<T>(std::log1p(-beta));  // -inf for beta = 1
        for (std::size_t k = 0; k < n.size(); ++k) {
            const bool rare = n[k] / total < lambda;
            rare_.push_back(rare ? 1 : 0);
            if (rare) rare_classes_.push_back(static_cast<index_t>(k));
            bias_.push_back(rare ? suppressed : T(0));
        }
    }

    index_t classes() const noexcept { return static_cast<index_t>(bias_.size()); }
    double lambda() const noexcept { return lambda_; }
    double beta() const noexcept { return beta_; }
    bool is_rare(index_t k) const noexcept { return rare_[std::size_t(k)] != 0; }

    void validate(index_t classes) const
    {
        detail::require_classes(this->classes(), classes, "the classes counted");
    }

    template <class Kernels>
    T row(const row_context<T>& row, const sparse_target<T>& target, const Kernels& k) const
    {
        const vector_view<T> adjusted = detail::biased_row(row, bias_.data());
        for (int e = 0; e < target.count; ++e) {
            const index_t y = target.label[e];
            adjusted.data()[y] = row.logits()[y] + target_bias(y, target.share[e]);
        }
        return detail::softmax_cross_entropy(row, vector_view<const T>(adjusted), T(1), target, T(0), k);
    }

    template <class Kernels>
    T row(const row_context<T>& row, const dense_target<T>& target, const Kernels& k) const
    {
        const vector_view<T> adjusted = detail::biased_row(row, bias_.data());
        for (index_t y : rare_classes_)
            if (detail::is_nonzero(target.share[y])) adjusted.data()[y] = row.logits()[y] + target_bias(y, target.share[y]);
        return detail::softmax_cross_entropy(row, vector_view<const T>(adjusted), T(1), target, T(0), k);
    }

private:
    /// log w for a class with target share t: log(1 - beta (1 - t)) if rare, else 0.
    T target_bias(index_t y, T share) const
    {
        if (!rare_[std::size_t(y)]) return T(0);
        return static_cast<T>(std::log1p(-beta_ * (1.0 - double(share))));
    }

    double lambda_, beta_;
    std::vector<unsigned char> rare_;
    std::vector<index_t> rare_classes_;
    std::vector<T> bias_;  // log(1 - beta) for rare classes, 0 otherwise
};

}  // namespace tailor::loss
