#pragma once
// Distributions of the input mixing weight lambda_x.
#include <cmath>

#include "tailor/core/error.hpp"
#include "tailor/core/random.hpp"
#include "tailor/mixup/concepts.hpp"

namespace tailor {

/// One lambda_x shared by the whole batch (the LFM and mixup releases), or one per pair.
enum class lambda_scope { per_batch, per_pair };

/// lambda_x ~ Beta(a, b). LFM's releases use Beta(0.5, 0.5) (the default) and
/// Beta(0.2, 0.2); Remix uses Beta(1, 1).
class beta_lambda {
public:
    static constexpr bool mixes = true;

    explicit beta_lambda(double a = 0.5) : beta_lambda(a, a) {}
    beta_lambda(double a, double b) : distribution_(a, b) {}

    double a() const noexcept { return distribution_.a(); }
    double b() const noexcept { return distribution_.b(); }

    template <class Engine>
    double operator()(Engine& engine) const
    {
        return distribution_(engine);
    }

private:
    beta_distribution<double> distribution_;
};

/// lambda_x ~ Uniform[low, high), 0 <= low <= high <= 1.
class uniform_lambda {
public:
    static constexpr bool mixes = true;

    explicit uniform_lambda(double low = 0.0, double high = 1.0) : low_(low), high_(high)
    {
        detail::require(std::isfinite(low) && low >= 0 && low <= 1, "low", "a value in [0, 1]", low);
        detail::require(std::isfinite(high) && high >= low && high <= 1, "high", "a value in [low, 1]", high);
    }

    template <class Engine>
    double operator()(Engine& engine) const
    {
        return low_ + (high_ - low_) * uniform_real<double>(engine);
    }

private:
    double low_;
    double high_;
};

/// A constant lambda_x; draws no random numbers.
class fixed_lambda {
public:
    static constexpr bool mixes = true;

    explicit fixed_lambda(double value = 0.5) : value_(value)
    {
        detail::require(std::isfinite(value) && value >= 0 && value <= 1, "value", "a value in [0, 1]", value);
    }

    template <class Engine>
    double operator()(Engine&) const noexcept
    {
        return value_;
    }

private:
    double value_;
};

/// Mixup off: every sample passes unmixed with its own hard label (lambda_x = lambda_y = 1).
struct off_lambda {
    static constexpr bool mixes = false;

    template <class Engine>
    double operator()(Engine&) const noexcept
    {
        return 1.0;
    }
};

static_assert(lambda_distribution<beta_lambda>);
static_assert(lambda_distribution<uniform_lambda>);
static_assert(lambda_distribution<fixed_lambda>);
static_assert(lambda_distribution<off_lambda>);

}  // namespace tailor
