#pragma once
// The mixup room's extension points: where lambda_x comes from, and how the label weight
// lambda_y follows from it. Swapping either is swapping a template argument of
// mixup_batcher.
#include <concepts>

#include "tailor/core/config.hpp"
#include "tailor/core/random.hpp"

namespace tailor {

/// A distribution of the input mixing weight lambda_x in [0, 1]: `d(engine)` draws one;
/// `mixes` is false for the policy that turns mixup off (inputs and labels pass unmixed).
template <class D>
concept lambda_distribution = requires(const D& distribution, philox4x32_10& engine) {
    { distribution(engine) } -> std::convertible_to<double>;
    { D::mixes } -> std::convertible_to<bool>;
};

/// The label weight of the first sample of a pair, from the input weight and the two
/// classes' training counts: `policy(lambda_x, n_first, n_second)` in [0, 1]. The mixed
/// target is lambda_y onehot(y_first) + (1 - lambda_y) onehot(y_second).
template <class P>
concept label_shift_policy = requires(const P& policy, double lambda_x, index_t n_first, index_t n_second) {
    { policy(lambda_x, n_first, n_second) } -> std::convertible_to<double>;
};

}  // namespace tailor
