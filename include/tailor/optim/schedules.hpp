#pragma once
// Learning-rate schedules: a schedule maps the step index (0-based) to a learning rate.
#include <cmath>
#include <concepts>
#include <cstdint>
#include <numbers>

#include "tailor/core/error.hpp"

namespace tailor::optim {

template <class S>
concept lr_schedule = requires(const S& s, std::int64_t step) {
    { s(step) } -> std::convertible_to<double>;
};

struct constant_schedule {
    double lr = 0.1;
    double operator()(std::int64_t) const noexcept { return lr; }
};

/// Linear warm-up from base_lr / warmup_steps to base_lr over the first warmup_steps steps,
/// then a half cosine from base_lr down to min_lr at total_steps; min_lr afterwards.
struct cosine_schedule {
    double base_lr = 0.1;
    std::int64_t total_steps = 1;
    std::int64_t warmup_steps = 0;
    double min_lr = 0.0;

    cosine_schedule(double base, std::int64_t total, std::int64_t warmup = 0, double minimum = 0.0)
        : base_lr(base), total_steps(total), warmup_steps(warmup), min_lr(minimum)
    {
        detail::require(std::isfinite(base) && base >= 0, "base_lr", "a finite value >= 0", base);
        detail::require(std::isfinite(minimum) && minimum >= 0 && minimum <= base, "min_lr",
                        detail::concat("a value in [0, base_lr = ", base, "]"), minimum);
        detail::require(total >= 1, "total_steps", ">= 1", total);
        detail::require(warmup >= 0 && warmup <= total, "warmup_steps", detail::concat("a value in [0, ", total, "]"),
                        warmup);
    }

    double operator()(std::int64_t step) const noexcept
    {
        if (step < warmup_steps) return base_lr * double(step + 1) / double(warmup_steps);
        if (step >= total_steps) return min_lr;
        const double progress = double(step - warmup_steps) / double(total_steps - warmup_steps);
        return min_lr + 0.5 * (base_lr - min_lr) * (1.0 + std::cos(std::numbers::pi * progress));
    }
};

}  // namespace tailor::optim
