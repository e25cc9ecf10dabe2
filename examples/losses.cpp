// Losses with mixup pair targets: value and exact gradient of four imbalance-aware losses
// on the same logits, each checked against a central finite difference. A pair target
// is lambda onehot(first) + (1 - lambda) onehot(second); it is never expanded to [B, C].
#include <tailor/backend/eigen/backend.hpp>
#include <tailor/loss.hpp>

#include <cstdio>
#include <vector>

namespace {

/// Loss value at the given logits (gradient discarded): for the finite difference.
template <class Loss>
double value_at(const Loss& loss, const tailor::matrix<double>& z, const tailor::pair_targets<double>& targets)
{
    tailor::eigen::backend be;
    tailor::matrix<double> scratch({z.extent(0), z.extent(1)});
    return tailor::loss::value_and_gradient<double, tailor::host_space>(be, loss, z.view(), targets, scratch.view());
}

template <class Loss>
void report(const char* name, const Loss& loss, tailor::matrix<double>& z, const tailor::pair_targets<double>& targets)
{
    tailor::eigen::backend be;
    tailor::matrix<double> grad({z.extent(0), z.extent(1)});
    const double value = tailor::loss::value_and_gradient<double, tailor::host_space>(be, loss, z.view(), targets, grad.view());
    // d value / d z(0, 2) by central differences.
    const double h = 1e-6, saved = z(0, 2);
    z(0, 2) = saved + h;
    const double up = value_at(loss, z, targets);
    z(0, 2) = saved - h;
    const double down = value_at(loss, z, targets);
    z(0, 2) = saved;
    std::printf("%-18s loss %.6f   dL/dz[0] = [", name, value);
    for (tailor::index_t k = 0; k < z.extent(1); ++k) std::printf(" %+.5f", grad(0, k));
    std::printf(" ]   dL/dz[0][2] numeric %+.5f\n", (up - down) / (2 * h));
}

}  // namespace

int main()
{
    const tailor::index_t B = 3, C = 5;
    tailor::matrix<double> z({B, C});  // logits, e.g. cosine logits of a head
    const double values[B * C] = {2.0, 0.5, -1.0, 0.3, 0.0, -0.4, 1.5, 0.2, 0.1, 0.9, 0.0, 0.0, 3.0, -2.0, 1.0};
    for (tailor::index_t i = 0; i < B * C; ++i) z.data()[i] = values[i];
    std::vector<std::int32_t> first = {0, 1, 2}, second = {2, 4, 2};  // row 2 is a hard label (same class)
    std::vector<double> lambda = {0.7, 0.25, 1.0};
    const tailor::pair_targets<double> targets{tailor::make_view(first.data(), B), tailor::make_view(second.data(), B),
                                               tailor::make_view(lambda.data(), B)};
    const std::vector<int> counts = {500, 120, 40, 12, 3};  // training images per class

    std::printf("B = %lld rows, C = %lld classes, mean over rows; row 0 mixes class 0 (0.7) and class 2 (0.3)\n",
                static_cast<long long>(B), static_cast<long long>(C));
    report("cross-entropy", tailor::loss::cross_entropy{}, z, targets);
    report("balanced softmax", tailor::loss::balanced_softmax<double>(counts), z, targets);
    report("focal (gamma 2)", tailor::loss::focal{2.0}, z, targets);
    report("LDAM (0.5, s 30)", tailor::loss::ldam<double>(counts, 0.5, 30.0), z, targets);
    return 0;
}
