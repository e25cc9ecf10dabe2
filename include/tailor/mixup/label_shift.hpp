#pragma once
// Label-shift policies: lambda_y from lambda_x and the two classes' training counts
// n_i (first sample's class) and n_j (second's). Counts must be >= 1.
#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <vector>

#include "tailor/core/config.hpp"
#include "tailor/core/error.hpp"
#include "tailor/mixup/concepts.hpp"

namespace tailor {
namespace detail {

inline void require_pair_counts(index_t n_first, index_t n_second)
{
    require(n_first >= 1, "n_first", "a class count >= 1", n_first);
    require(n_second >= 1, "n_second", "a class count >= 1", n_second);
}

}  // namespace detail

/// Plain mixup: lambda_y = lambda_x.
struct standard_shift {
    double operator()(double lambda_x, index_t, index_t) const noexcept { return lambda_x; }
};

/// LFM (seed 000, Eq. (2)): lambda_y = clamp(lambda_x - alpha (n_i - n_j) / (n_i + n_j), 0, 1),
/// moving label mass towards the rarer class. It is the minimiser over [0, 1] of
/// (lambda - lambda_x)^2 / 2 + alpha R(lambda), R(lambda) = (lambda - 1/2)^2 - (lambda - p)^2,
/// p = n_i / (n_i + n_j) (Theorem 1): R is linear, alpha (2p - 1) lambda + const, so the
/// unconstrained minimiser is lambda_x - alpha (2p - 1) and the convex objective clamps it.
///
/// alpha may differ per training stage (Places-LT: 1.25 in stage 1, 1.5 in stage 2): give one
/// alpha per stage and select the stage with set_stage().
class lfm_shift {
public:
    explicit lfm_shift(double alpha = 1.0) : lfm_shift({alpha}) {}

    /// alpha_per_stage[s] is used in stage s; stage 0 is selected.
    lfm_shift(std::initializer_list<double> alpha_per_stage) : alphas_(alpha_per_stage)
    {
        detail::require(!alphas_.empty(), "alpha_per_stage", "at least one alpha", "none");
        for (double alpha : alphas_)
            detail::require(std::isfinite(alpha) && alpha >= 0, "alpha", "a finite value >= 0", alpha);
    }

    index_t stages() const noexcept { return static_cast<index_t>(alphas_.size()); }
    index_t stage() const noexcept { return stage_; }
    double alpha() const noexcept { return alphas_[static_cast<std::size_t>(stage_)]; }

    void set_stage(index_t stage)
    {
        detail::require<index_error>(stage >= 0 && stage < stages(), "stage",
                                     detail::concat("in [0, ", stages(), ")"), stage);
        stage_ = stage;
    }

    double operator()(double lambda_x, index_t n_first, index_t n_second) const
    {
        detail::require_pair_counts(n_first, n_second);
        const double n_i = static_cast<double>(n_first), n_j = static_cast<double>(n_second);
        return std::clamp(lambda_x - alpha() * (n_i - n_j) / (n_i + n_j), 0.0, 1.0);
    }

private:
    std::vector<double> alphas_;
    index_t stage_ = 0;
};

/// Remix (Chou et al. 2020), the rules as published (the LFM release has them swapped):
///   lambda_y = 0         if n_i / n_j >= kappa      and lambda_x < tau,
///   lambda_y = 1         if n_i / n_j <= 1 / kappa  and 1 - lambda_x < tau,
///   lambda_y = lambda_x  otherwise.
/// A pair whose mostly-visible sample is the rarer class's gets that class's label outright.
class remix_shift {
public:
    explicit remix_shift(double kappa = 3.0, double tau = 0.5) : kappa_(kappa), tau_(tau)
    {
        detail::require(std::isfinite(kappa) && kappa >= 1, "kappa", "a finite value >= 1", kappa);
        detail::require(std::isfinite(tau) && tau >= 0 && tau <= 1, "tau", "a value in [0, 1]", tau);
    }

    double kappa() const noexcept { return kappa_; }
    double tau() const noexcept { return tau_; }

    double operator()(double lambda_x, index_t n_first, index_t n_second) const
    {
        detail::require_pair_counts(n_first, n_second);
        const double n_i = static_cast<double>(n_first), n_j = static_cast<double>(n_second);
        // Ratios compared by cross-multiplying, so n_i / n_j == kappa is not lost to rounding.
        if (n_i >= kappa_ * n_j && lambda_x < tau_) return 0.0;
        if (kappa_ * n_i <= n_j && 1.0 - lambda_x < tau_) return 1.0;
        return lambda_x;
    }

private:
    double kappa_;
    double tau_;
};

static_assert(label_shift_policy<standard_shift>);
static_assert(label_shift_policy<lfm_shift>);
static_assert(label_shift_policy<remix_shift>);

}  // namespace tailor
