// Optimisers: SGD with momentum and AdamW (PyTorch's update rules) under a cosine schedule
// with linear warm-up, minimising the same ill-conditioned quadratic
// f(p) = 0.5 (p0^2 + 25 p1^2) from p = (3, 1). The caller owns parameters and gradients;
// the optimiser owns its state (velocity, moments).
#include <tailor/optim.hpp>

#include <cstdio>
#include <vector>

namespace {

template <class Optimizer>
void run(const char* name, Optimizer& optimizer, std::vector<float>& p, std::vector<float>& g)
{
    std::printf("%s\n  step      lr        p0        p1         f\n", name);
    for (int step = 0; step <= 100; ++step) {
        g[0] = p[0];          // df/dp0
        g[1] = 25.f * p[1];   // df/dp1
        if (step % 20 == 0)
            std::printf("  %4d  %.5f  %+.5f  %+.5f  %.6f\n", step, optimizer.current_lr(), p[0], p[1],
                        0.5 * (p[0] * p[0] + 25.0 * p[1] * p[1]));
        optimizer.step();
    }
}

}  // namespace

int main()
{
    // 100 steps, 10 of linear warm-up, then a half cosine down to 0.
    const tailor::optim::cosine_schedule schedule(/*base_lr=*/0.05, /*total_steps=*/100, /*warmup_steps=*/10);

    std::vector<float> p = {3.f, 1.f}, g(2);
    tailor::optim::sgd<float, tailor::optim::cosine_schedule> sgd(
        {{tailor::make_view(p.data(), 2), tailor::make_view(static_cast<const float*>(g.data()), 2)}},
        tailor::optim::sgd_momentum{.momentum = 0.9, .weight_decay = 0.0}, schedule);
    run("SGD, momentum 0.9", sgd, p, g);

    p = {3.f, 1.f};
    tailor::optim::adamw_optimizer<float, tailor::optim::cosine_schedule> adamw(
        {{tailor::make_view(p.data(), 2), tailor::make_view(static_cast<const float*>(g.data()), 2)}},
        tailor::optim::adamw{.weight_decay = 0.01}, schedule);
    run("\nAdamW, betas (0.9, 0.999), weight decay 0.01", adamw, p, g);
    return 0;
}
