#pragma once
// First-order optimisers as an ensmallen-style template: `optimizer<Update, Schedule>`
// owns the per-parameter state an update rule needs and applies it to caller-owned
// parameters. The update rules follow PyTorch's SGD and AdamW exactly, so a head trained
// here matches one trained with torch.optim step for step.
#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

#include "tailor/core/error.hpp"
#include "tailor/core/tensor.hpp"
#include "tailor/optim/schedules.hpp"

namespace tailor::optim {

/// A trainable parameter: its values and the gradient the caller fills before `step()`.
/// Both flat and contiguous (reshape a matrix's view to rank 1).
template <class T>
struct parameter {
    vector_view<T> value;
    vector_view<const T> grad;
};

/// SGD with momentum (PyTorch semantics, dampening 0): g = grad + wd p; v = mu v + g;
/// p -= lr (nesterov ? g + mu v : v).
struct sgd_momentum {
    double momentum = 0.9;
    double weight_decay = 0.0;
    bool nesterov = false;
    static constexpr std::size_t state_slots = 1;

    void validate() const
    {
        detail::require(std::isfinite(momentum) && momentum >= 0 && momentum < 1, "momentum", "a value in [0, 1)",
                        momentum);
        detail::require(std::isfinite(weight_decay) && weight_decay >= 0, "weight_decay", "a finite value >= 0",
                        weight_decay);
        detail::require(!nesterov || momentum > 0, "nesterov", "momentum > 0 with Nesterov", momentum);
    }

    template <class T>
    void update(T* p, const T* grad, const std::array<T*, state_slots>& state, index_t n, double lr,
                std::int64_t /*step*/) const noexcept
    {
        T* velocity = state[0];
        const T mu = T(momentum), wd = T(weight_decay), rate = T(lr);
        for (index_t i = 0; i < n; ++i) {
            const T g = grad[i] + wd * p[i];
            velocity[i] = mu * velocity[i] + g;
            p[i] -= rate * (nesterov ? g + mu * velocity[i] : velocity[i]);
        }
    }
};

/// AdamW (decoupled weight decay, PyTorch semantics): p *= 1 - lr wd; m, v moving averages;
/// p -= lr m_hat / (sqrt(v_hat) + eps) with bias corrections for step t = step + 1.
struct adamw {
    double beta1 = 0.9;
    double beta2 = 0.999;
    double epsilon = 1e-8;
    double weight_decay = 0.01;
    static constexpr std::size_t state_slots = 2;

    void validate() const
    {
        detail::require(beta1 >= 0 && beta1 < 1, "beta1", "a value in [0, 1)", beta1);
        detail::require(beta2 >= 0 && beta2 < 1, "beta2", "a value in [0, 1)", beta2);
        detail::require(std::isfinite(epsilon) && epsilon > 0, "epsilon", "a finite value > 0", epsilon);
        detail::require(std::isfinite(weight_decay) && weight_decay >= 0, "weight_decay", "a finite value >= 0",
                        weight_decay);
    }

    template <class T>
    void update(T* p, const T* grad, const std::array<T*, state_slots>& state, index_t n, double lr,
                std::int64_t step) const noexcept
    {
        T* m = state[0];
        T* v = state[1];
        const double t = double(step + 1);
        const T correction1 = T(1.0 - std::pow(beta1, t));
        const T correction2_sqrt = T(std::sqrt(1.0 - std::pow(beta2, t)));
        const T b1 = T(beta1), b2 = T(beta2), decay = T(1.0 - lr * weight_decay);
        const T step_size = T(lr) / correction1, eps = T(epsilon);
        for (index_t i = 0; i < n; ++i) {
            p[i] *= decay;
            m[i] = b1 * m[i] + (T(1) - b1) * grad[i];
            v[i] = b2 * v[i] + (T(1) - b2) * grad[i] * grad[i];
            p[i] -= step_size * m[i] / (std::sqrt(v[i]) / correction2_sqrt + eps);
        }
    }
};

template <class U, class T>
concept update_rule = requires(const U& u, T* p, const T* g, const std::array<T*, U::state_slots>& s) {
    u.validate();
    u.update(p, g, s, index_t{}, 0.0, std::int64_t{});
};

/// Applies `Update` to a fixed set of parameters with learning rates from `Schedule`.
/// Host memory; the parameters' storage stays the caller's.
template <class T, update_rule<T> Update = sgd_momentum, lr_schedule Schedule = constant_schedule>
class optimizer {
public:
    optimizer(std::vector<parameter<T>> parameters, Update update = {}, Schedule schedule = {})
        : parameters_(std::move(parameters)), update_(update), schedule_(schedule)
    {
        update_.validate();
        for (std::size_t k = 0; k < parameters_.size(); ++k) {
            const auto& prm = parameters_[k];
            const auto where = detail::concat("parameters[", k, "]");
            detail::require<shape_error>(prm.value.is_contiguous() && prm.grad.is_contiguous(), where,
                                         "contiguous value and gradient", "strided views");
            detail::require_extents(prm.grad, where + ".grad", prm.value.extents());
        }
        for (std::size_t s = 0; s < Update::state_slots; ++s)
            for (const auto& prm : parameters_) state_[s].emplace_back(extents_t<1>{prm.value.extent(0)});
    }

    /// One update of every parameter with the current step's learning rate.
    void step()
    {
        const double lr = schedule_(step_);
        for (std::size_t k = 0; k < parameters_.size(); ++k) {
            std::array<T*, Update::state_slots> state{};
            for (std::size_t s = 0; s < Update::state_slots; ++s) state[s] = state_[s][k].data();
            update_.update(parameters_[k].value.data(), parameters_[k].grad.data(), state,
                           parameters_[k].value.extent(0), lr, step_);
        }
        ++step_;
    }

    std::int64_t steps_taken() const noexcept { return step_; }
    double current_lr() const { return schedule_(step_); }
    const Schedule& schedule() const noexcept { return schedule_; }

private:
    std::vector<parameter<T>> parameters_;
    Update update_;
    Schedule schedule_;
    std::array<std::vector<tensor<T, 1>>, Update::state_slots> state_;
    std::int64_t step_ = 0;
};

template <class T, lr_schedule Schedule = constant_schedule>
using sgd = optimizer<T, sgd_momentum, Schedule>;

template <class T, lr_schedule Schedule = constant_schedule>
using adamw_optimizer = optimizer<T, adamw, Schedule>;

}  // namespace tailor::optim
