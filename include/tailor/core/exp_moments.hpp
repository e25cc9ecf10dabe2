#pragma once
// What a softmax row pass against a dense coefficient row learns besides the exponentials:
// the row kernels' `exp_shifted_moments`, which lets a soft-target cross-entropy read its
// logits and target once before the gradient pass.
#include <algorithm>
#include <type_traits>

#include "tailor/core/view.hpp"

namespace tailor {

/// y_j = exp(x_j - shift) written, with, from the same pass:
///   total = sum_j y_j,
///   top   = max(shift, max_j x_j) (the row max when the shift is one of its entries),
///   mass  = sum_j c_j,
///   gap   = sum_{c_j != 0} c_j (top - x_j), every term >= 0, so no cancellation.
/// For coefficients c_j >= 0. When `total` is not finite (a NaN or +inf x_j, or a shift
/// far below the max) the other fields are unspecified.
template <class T>
struct exp_moments {
    T total, top, mass, gap;
};

namespace detail {

/// exp_moments from a backend's own exp_shifted and max, in separate passes: the reference
/// every fused kernel agrees with, and the path for rows a backend does not fuse.
template <class Kernels, class T, class U>
exp_moments<std::remove_const_t<T>> exp_shifted_moments(const Kernels& k, vector_view<T> x, vector_view<T> c,
                                                        std::remove_const_t<T> shift, vector_view<U> y)
{
    using V = std::remove_const_t<T>;
    exp_moments<V> m{V(0), std::max(shift, V(k.max(x))), V(0), V(0)};
    for (index_t j = 0; j < c.extent(0); ++j) {
        const V cj = c(j);
        m.mass += cj;
        if (cj != V(0)) m.gap += cj * (m.top - V(x(j)));
    }
    m.total = k.exp_shifted(x, shift, V(1), y);
    return m;
}

}  // namespace detail

}  // namespace tailor
