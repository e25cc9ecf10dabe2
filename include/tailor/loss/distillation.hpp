#pragma once
// VL-LTR's distillation term and the pre-training objective built from it.
//
// L_dis: CE(student logits, softmax(teacher logits)) in both directions, the student logits
// being those of L_ccl (exp(logit_scale) cos(image, sentence)) and the teacher a frozen
// similarity matrix [Ni, Nt] over the same gathered batch (image rows use its rows, sentence
// rows its columns). L_pre = weight L_ccl + (1 - weight) L_dis (the paper: weight 0.5).
// Since CE is linear in its target, L_pre is one soft-target CE per row against
// weight t_ccl + (1 - weight) softmax(teacher row); both terms are still reported.
#include "tailor/loss/contrastive.hpp"

namespace tailor::loss {

/// L_dis alone, with gradients for both gathered embedding sets and logit_scale.
template <class T, class Backend>
    requires backend<Backend, T>
contrastive_value<T> distillation_loss(Backend& be, const contrastive_batch<T>& batch, T logit_scale,
                                       matrix_view<const T> teacher, matrix_view<T> d_images, matrix_view<T> d_texts)
{
    tailor::detail::require<shape_error>(!teacher.empty(), "teacher", "a [Ni, Nt] matrix", "an empty view");
    return detail::pretraining_terms<T>(be, batch, logit_scale, T(0), T(0), teacher, d_images, d_texts);
}

/// L_pre = weight L_ccl + (1 - weight) L_dis; `value` is L_pre, `contrastive` and
/// `distillation` its two terms, d_logit_scale and the embedding gradients are L_pre's.
template <class T, class Backend>
    requires backend<Backend, T>
contrastive_value<T> pretraining_loss(Backend& be, const contrastive_batch<T>& batch, T logit_scale,
                                      matrix_view<const T> teacher, T weight, T label_smoothing,
                                      matrix_view<T> d_images, matrix_view<T> d_texts)
{
    return detail::pretraining_terms<T>(be, batch, logit_scale, weight, label_smoothing, teacher, d_images, d_texts);
}

}  // namespace tailor::loss
