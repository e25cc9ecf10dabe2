#pragma once
// Class-balanced weights from the effective number of samples (Cui et al.):
// w_j proportional to (1 - beta) / (1 - beta^n_j), normalised to sum to C. Usable with any
// loss through loss_options::class_weights.
#include <cmath>
#include <numeric>
#include <vector>

#include "tailor/core/error.hpp"
#include "tailor/core/tensor.hpp"
#include "tailor/loss/counts.hpp"

namespace tailor::loss {

/// beta in [0, 1): 0 gives equal weights, values near 1 approach inverse frequency. Every
/// count must be > 0 (a class never seen has no effective number).
template <class T = float, class Counts>
tailor::vector<T> class_balanced_weights(const Counts& counts, double beta)
{
    tailor::detail::require(std::isfinite(beta) && beta >= 0 && beta < 1, "beta", "a value in [0, 1)", beta);
    const auto n = detail::read_counts(counts);
    detail::require_positive_counts(n, "counts", "the effective number 1 - beta^n is 0 for n = 0");
    std::vector<double> raw(n.size());
    // 1 - beta^n as -expm1(n log beta): exact for beta near 1, where the weights differ.
    const double log_beta = std::log(beta);  // -inf for beta = 0, giving 1 - 0 = 1
    for (std::size_t k = 0; k < n.size(); ++k) raw[k] = (1.0 - beta) / -std::expm1(n[k] * log_beta);
    const double total = std::accumulate(raw.begin(), raw.end(), 0.0);
    tailor::vector<T> weights({static_cast<index_t>(n.size())});
    for (std::size_t k = 0; k < n.size(); ++k)
        weights(static_cast<index_t>(k)) = static_cast<T>(raw[k] * static_cast<double>(n.size()) / total);
    return weights;
}

}  // namespace tailor::loss
