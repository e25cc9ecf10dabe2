#pragma once
// How per-sample losses become the number a training step minimises, and the weights that
// enter it. Every choice is explicit because the references disagree (PyTorch divides a
// class-weighted mean by the sum of the sample weights, several repositories by B).
#include "tailor/core/view.hpp"

namespace tailor::loss {

/// With per-sample values l_i (class weights already inside), sample weights v_i (1 when
/// absent) and the per-sample weight s_i = v_i * sum_k t_ik w_k:
enum class reduction {
    none,           ///< v_i l_i into the caller's per-sample vector; the gradient is that of their sum
    sum,            ///< sum_i v_i l_i
    mean,           ///< sum_i v_i l_i / B
    weighted_mean,  ///< sum_i v_i l_i / sum_i s_i (PyTorch's mean for class-weighted hard labels)
};

constexpr const char* name(reduction r) noexcept
{
    switch (r) {
    case reduction::none: return "none";
    case reduction::sum: return "sum";
    case reduction::mean: return "mean";
    case reduction::weighted_mean: return "weighted_mean";
    }
    return "?";
}

/// Options every loss takes. Views live in the backend's memory space; empty means "all ones".
template <class T, memory_space Space = host_space>
struct loss_options {
    reduction reduce = reduction::mean;
    /// w_k, one per class, finite and >= 0 (class-balanced weights, DRW, focal's alpha).
    vector_view<const T, Space> class_weights{};
    /// v_i, one per sample, finite and >= 0; with reduction::none they act as upstream weights.
    vector_view<const T, Space> sample_weights{};
};

}  // namespace tailor::loss
