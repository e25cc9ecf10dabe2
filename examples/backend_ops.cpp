// The core end to end: view caller memory, run a GEMM with an epilogue, a fused per-row
// cross-entropy through map_rows, and draw a Beta-distributed mixing weight.
#include <tailor/tailor.hpp>

#include <cstdio>
#include <vector>

namespace {

/// Per-row cross-entropy and its gradient, in one pass over the row.
struct cross_entropy {
    const int* labels;
    tailor::matrix_view<float> grad;
    template <class Row, class Kernels>
    float operator()(tailor::index_t r, const Row& row, const Kernels& k) const
    {
        const float lse = k.logsumexp(row);
        k.exp_shifted(row, lse, 1.f, grad.row(r));
        grad(r, labels[r]) -= 1.f;
        return lse - row(labels[r]);
    }
};

}  // namespace

int main()
{
    const tailor::index_t batch = 4, dim = 8, classes = 5;
    tailor::philox4x32_10 rng(2024);
    tailor::matrix<float> features({batch, dim}), weights({classes, dim}), logits({batch, classes});
    for (auto& x : features) x = 2.f * tailor::uniform_real<float>(rng) - 1.f;
    for (auto& x : weights) x = 2.f * tailor::uniform_real<float>(rng) - 1.f;
    std::vector<float> bias = {0.1f, 0.f, -0.1f, 0.2f, 0.f};

    tailor::default_backend be;
    // logits = features * weights^T + bias; the transpose is a view, the bias an epilogue.
    be.gemm<float>(1.f, features.view(), weights.view().transposed(), 0.f, logits.view(),
                   tailor::bias_epilogue<float>{bias.data()});

    const int labels[] = {0, 3, 1, 4};
    tailor::matrix<float> grad({batch, classes});
    std::vector<float> loss(batch);
    be.map_rows<float>(logits.view(), tailor::make_view(loss.data(), batch), cross_entropy{labels, grad.view()});
    const float mean_loss = be.reduce(tailor::make_view(loss.data(), batch), 0.f, tailor::plus{}) / float(batch);

    tailor::beta_distribution<float> beta(0.2f, 0.2f);
    std::printf("mean cross-entropy %.5f, d loss / d z[0][0] %.5f, a Beta(0.2, 0.2) draw %.5f\n", mean_loss,
                grad(0, 0), beta(rng));
    return 0;
}
