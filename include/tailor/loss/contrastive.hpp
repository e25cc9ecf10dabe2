#pragma once
// VL-LTR's class-wise contrastive loss L_ccl between image and sentence embeddings.
//
// S = exp(logit_scale) cos(image, sentence). Image -> text: each of this rank's images is
// a row over every (gathered) sentence, with a soft target uniform over the sentences of
// its class (all same-class pairs are positives), optionally smoothed
// t = (1 - eps) t + eps / N; text -> image likewise. L = (L_img + L_txt) / 2, each the mean
// soft-target CE over the rank's rows. distillation.hpp adds L_dis on the same logits.
//
// Gathered features: the caller passes the gathered matrices and the half-open row ranges
// that are its rank's. Gradients come for the whole gathered matrices (this rank's terms
// only); summing them over ranks (the backward of all_gather) and keeping the rank's slice
// gives the usual distributed gradient. On one process the ranges are everything.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "tailor/core/concepts.hpp"
#include "tailor/core/error.hpp"
#include "tailor/core/tensor.hpp"
#include "tailor/core/view.hpp"

namespace tailor::loss {

/// The features one rank sees: gathered embeddings and labels, and its own row ranges.
/// An end of -1 means "to the last row".
template <class T>
struct contrastive_batch {
    matrix_view<const T> images;                // [Ni, D], gathered over ranks
    vector_view<const std::int32_t> image_labels;  // [Ni]
    matrix_view<const T> texts;                 // [Nt, D], gathered over ranks
    vector_view<const std::int32_t> text_labels;   // [Nt]
    index_t image_begin = 0, image_end = -1;    // this rank's images
    index_t text_begin = 0, text_end = -1;      // this rank's sentences
};

/// Value and the gradient with respect to logit_scale (the logits' log multiplier). With a
/// temperature instead, s = 1 / tau and dL/dtau = -d_logit_scale / tau.
template <class T>
struct contrastive_value {
    T value = T(0);
    T contrastive = T(0);   // L_ccl
    T distillation = T(0);  // L_dis (0 when no teacher)
    T d_logit_scale = T(0);
};

namespace detail {

/// One direction's rows: soft-target CE of z = s * rows . cols^T against
/// t = ccl_weight * t_ccl + (1 - ccl_weight) * softmax(teacher row) (CE is linear in the
/// target, so L_pre is one CE). Turns z into dL/dz in place (already scaled by `factor`,
/// the direction's 1/2 times the mean's 1/n), writes each row's two loss terms into
/// `terms` and returns sum_j dL/dz_j z_j (for logit_scale).
template <class T>
struct contrastive_row {
    matrix_view<T> logits;
    vector_view<const std::int32_t> row_labels;  // this direction's rows (already sliced)
    vector_view<const std::int32_t> col_labels;
    matrix_view<const T> teacher;  // [rows, cols] or empty
    matrix_view<T> terms;          // [rows, 2]: CE against t_ccl and against the teacher
    T ccl_weight, label_smoothing, factor;

    template <class Row, class Kernels>
    T operator()(index_t r, const Row&, const Kernels& k) const
    {
        const auto z = logits.row(r);
        T* zp = z.data();
        const index_t n = z.extent(0);
        const T lse = k.logsumexp(vector_view<const T>(z));
        const std::int32_t label = row_labels(r);
        index_t positives = 0;
        T positive_sum = T(0), all_sum = T(0);
        for (index_t j = 0; j < n; ++j) {
            all_sum += zp[j];
            if (col_labels(j) == label) {
                ++positives;
                positive_sum += zp[j];
            }
        }
        const T inv_pos = T(1) / T(positives);
        const T eps = label_smoothing, uniform = label_smoothing / T(n);
        // CE(z, t) = lse - sum_j t_j z_j.
        const T ccl = lse - ((T(1) - eps) * positive_sum * inv_pos + uniform * all_sum);
        T dis = T(0);
        T teacher_lse = T(0);
        const bool has_teacher = !teacher.empty();
        if (has_teacher) {
            T top = -std::numeric_limits<T>::infinity();
            for (index_t j = 0; j < n; ++j) top = std::max(top, teacher(r, j));
            double total = 0, weighted = 0;
            for (index_t j = 0; j < n; ++j) {
                const double w = std::exp(double(teacher(r, j) - top));
                total += w;
                weighted += w * zp[j];
            }
            teacher_lse = T(double(top) + std::log(total));
            dis = lse - T(weighted / total);
        }
        terms(r, 0) = ccl;
        terms(r, 1) = dis;
        const T w_ccl = ccl_weight, w_dis = T(1) - ccl_weight;
        T scale_term = T(0);
        for (index_t j = 0; j < n; ++j) {
            T target = w_ccl * ((col_labels(j) == label ? (T(1) - eps) * inv_pos : T(0)) + uniform);
            if (has_teacher) target += w_dis * std::exp(teacher(r, j) - teacher_lse);
            const T g = factor * (std::exp(zp[j] - lse) - target);
            scale_term += g * zp[j];
            zp[j] = g;
        }
        return scale_term;
    }
};

template <class T>
void require_labels_vs(vector_view<const std::int32_t> labels, std::string_view name, index_t rows)
{
    tailor::detail::require_extents(labels, name, {rows});
    for (index_t i = 0; i < rows; ++i)
        if (labels(i) < 0) tailor::detail::fail<index_error>(name, "labels >= 0", tailor::detail::concat(labels(i), " at row ", i));
}

/// Every row label must occur among the columns (its positives).
inline void require_positives(vector_view<const std::int32_t> rows, vector_view<const std::int32_t> cols,
                              std::string_view name)
{
    std::int32_t largest = 0;
    for (index_t j = 0; j < cols.extent(0); ++j) largest = std::max(largest, cols(j));
    std::vector<char> present(static_cast<std::size_t>(largest) + 1, 0);
    for (index_t j = 0; j < cols.extent(0); ++j) present[static_cast<std::size_t>(cols(j))] = 1;
    for (index_t i = 0; i < rows.extent(0); ++i)
        if (rows(i) > largest || !present[static_cast<std::size_t>(rows(i))])
            tailor::detail::fail<index_error>(name, "every row's class present on the other side (a positive pair)",
                                              tailor::detail::concat("class ", rows(i), " at row ", i, " without one"));
}

/// x / max(||x||, eps) per row; returns the clamped norms.
template <class T>
std::vector<T> normalise_rows(matrix_view<const T> x, matrix_view<T> out, T eps)
{
    std::vector<T> norms(static_cast<std::size_t>(x.rows()));
    for (index_t i = 0; i < x.rows(); ++i) {
        double sq = 0;
        for (index_t j = 0; j < x.cols(); ++j) sq += double(x(i, j)) * x(i, j);
        const T norm = T(std::sqrt(sq));
        norms[static_cast<std::size_t>(i)] = norm;
        const T inv = T(1) / std::max(norm, eps);
        for (index_t j = 0; j < x.cols(); ++j) out(i, j) = x(i, j) * inv;
    }
    return norms;
}

/// Backward of x_hat = x / max(||x||, eps): dx = (g - x_hat (x_hat . g)) / ||x|| (g / eps when clamped).
template <class T>
void normalise_rows_backward(matrix_view<const T> normalised, const std::vector<T>& norms, matrix_view<const T> g,
                             matrix_view<T> dx, T eps)
{
    for (index_t i = 0; i < g.rows(); ++i) {
        const T norm = norms[static_cast<std::size_t>(i)];
        if (!(norm > eps)) {
            for (index_t j = 0; j < g.cols(); ++j) dx(i, j) = g(i, j) / eps;
            continue;
        }
        double along = 0;
        for (index_t j = 0; j < g.cols(); ++j) along += double(normalised(i, j)) * g(i, j);
        for (index_t j = 0; j < g.cols(); ++j) dx(i, j) = T((g(i, j) - normalised(i, j) * along) / norm);
    }
}

/// L = ccl_weight L_ccl + (1 - ccl_weight) L_dis and its gradients; the teacher
/// [Ni, Nt] (logits, softmaxed per row and per column) may be empty when ccl_weight == 1.
template <class T, class Backend>
    requires backend<Backend, T>
contrastive_value<T> pretraining_terms(Backend& be, contrastive_batch<T> batch, T logit_scale, T ccl_weight,
                                       T label_smoothing, matrix_view<const T> teacher, matrix_view<T> d_images,
                                       matrix_view<T> d_texts)
{
    using tailor::detail::concat;
    using tailor::detail::require;
    const index_t ni = batch.images.rows(), nt = batch.texts.rows(), d = batch.images.cols();
    tailor::detail::require_extents(batch.texts, "batch.texts", {-1, d});
    require<shape_error>(ni >= 1 && nt >= 1 && d >= 1, "batch", "at least one image, one sentence and D >= 1",
                         concat(ni, " images, ", nt, " sentences, D = ", d));
    require_labels_vs<T>(batch.image_labels, "batch.image_labels", ni);
    require_labels_vs<T>(batch.text_labels, "batch.text_labels", nt);
    if (batch.image_end < 0) batch.image_end = ni;
    if (batch.text_end < 0) batch.text_end = nt;
    require<index_error>(0 <= batch.image_begin && batch.image_begin <= batch.image_end && batch.image_end <= ni,
                         "batch.image_begin/image_end", concat("0 <= begin <= end <= ", ni),
                         concat("[", batch.image_begin, ", ", batch.image_end, ")"));
    require<index_error>(0 <= batch.text_begin && batch.text_begin <= batch.text_end && batch.text_end <= nt,
                         "batch.text_begin/text_end", concat("0 <= begin <= end <= ", nt),
                         concat("[", batch.text_begin, ", ", batch.text_end, ")"));
    require(std::isfinite(logit_scale), "logit_scale", "a finite value", logit_scale);
    require(std::isfinite(ccl_weight) && ccl_weight >= T(0) && ccl_weight <= T(1), "weight", "a value in [0, 1]", ccl_weight);
    require(std::isfinite(label_smoothing) && label_smoothing >= T(0) && label_smoothing <= T(1), "label_smoothing",
            "a value in [0, 1]", label_smoothing);
    if (ccl_weight < T(1) || !teacher.empty()) {
        require<shape_error>(!teacher.empty() || ccl_weight == T(1), "teacher", "a [Ni, Nt] matrix when weight < 1",
                             "an empty view");
        tailor::detail::require_extents(teacher, "teacher", {ni, nt});
        for (index_t i = 0; i < ni; ++i)
            for (index_t j = 0; j < nt; ++j)
                if (!std::isfinite(teacher(i, j))) tailor::detail::fail("teacher", "finite logits", concat("a non-finite value at row ", i));
    }
    tailor::detail::require_extents(d_images, "d_images", {ni, d});
    tailor::detail::require_extents(d_texts, "d_texts", {nt, d});
    for (const auto& [x, name] : {std::pair{batch.images, "batch.images"}, std::pair{batch.texts, "batch.texts"}})
        for (index_t i = 0; i < x.rows(); ++i)
            for (index_t j = 0; j < d; ++j)
                if (!std::isfinite(x(i, j))) tailor::detail::fail(name, "finite values", concat("a non-finite value in row ", i));

    const auto my_image_labels = batch.image_labels.slice(0, batch.image_begin, batch.image_end);
    const auto my_text_labels = batch.text_labels.slice(0, batch.text_begin, batch.text_end);
    require_positives(my_image_labels, batch.text_labels, "batch.image_labels");
    require_positives(my_text_labels, batch.image_labels, "batch.text_labels");

    const T norm_eps = T(1e-12);
    matrix<T> image_hat({ni, d}), text_hat({nt, d}), d_image_hat({ni, d}), d_text_hat({nt, d});
    const auto image_norms = normalise_rows<T>(batch.images, image_hat.view(), norm_eps);
    const auto text_norms = normalise_rows<T>(batch.texts, text_hat.view(), norm_eps);
    const T s = std::exp(logit_scale);

    contrastive_value<T> result;
    double scale_total = 0;
    const bool image_rows = batch.image_end > batch.image_begin, text_rows = batch.text_end > batch.text_begin;
    const T half = (image_rows && text_rows) ? T(0.5) : T(1);
    // Direction 0: this rank's images against every sentence; direction 1: its sentences
    // against every image.
    for (int direction = 0; direction < 2; ++direction) {
        const bool img = direction == 0;
        const matrix_view<const T> all_rows = img ? image_hat.view() : text_hat.view();
        const matrix_view<const T> cols = img ? text_hat.view() : image_hat.view();
        const index_t begin = img ? batch.image_begin : batch.text_begin, end = img ? batch.image_end : batch.text_end;
        const index_t n = end - begin;
        if (n == 0) continue;
        const matrix_view<const T> rows = all_rows.slice(0, begin, end);
        matrix<T> logits({n, cols.rows()}), terms({n, 2});
        be.template gemm<T>(s, rows, cols.transposed(), T(0), logits.view());
        matrix_view<const T> teacher_rows;
        if (!teacher.empty())
            teacher_rows = img ? teacher.slice(0, begin, end) : teacher.transposed().slice(0, begin, end);
        std::vector<T> scale_terms(static_cast<std::size_t>(n));
        be.template map_rows<T>(matrix_view<const T>(logits.view()), vector_view<T>(scale_terms.data(), {n}),
                                contrastive_row<T>{logits.view(), img ? my_image_labels : my_text_labels,
                                                   img ? batch.text_labels : batch.image_labels, teacher_rows,
                                                   terms.view(), ccl_weight, label_smoothing, half / T(n)});
        double ccl = 0, dis = 0;
        for (index_t r = 0; r < n; ++r) {
            ccl += terms(r, 0);
            dis += terms(r, 1);
            scale_total += scale_terms[static_cast<std::size_t>(r)];
        }
        result.contrastive += T(double(half) * ccl / double(n));
        result.distillation += T(double(half) * dis / double(n));
        // z = s rows . cols^T: d rows = s dz cols, d cols = s dz^T rows.
        const matrix_view<T> d_all_rows = img ? d_image_hat.view() : d_text_hat.view();
        be.template gemm<T>(s, matrix_view<const T>(logits.view()), cols, T(1), d_all_rows.slice(0, begin, end));
        be.template gemm<T>(s, matrix_view<const T>(logits.view()).transposed(), rows, T(1),
                            img ? d_text_hat.view() : d_image_hat.view());
    }
    result.value = ccl_weight * result.contrastive + (T(1) - ccl_weight) * result.distillation;
    result.d_logit_scale = T(scale_total);
    normalise_rows_backward<T>(image_hat.view(), image_norms, d_image_hat.view(), d_images, norm_eps);
    normalise_rows_backward<T>(text_hat.view(), text_norms, d_text_hat.view(), d_texts, norm_eps);
    return result;
}

}  // namespace detail

/// L_ccl with its gradients: writes d(L)/d(images) [Ni, D] and d(L)/d(texts) [Nt, D] for
/// the gathered matrices, and returns the value and d(L)/d(logit_scale). Every row's class
/// must have a positive on the other side. label_smoothing in [0, 1] (the released code: 0.1).
template <class T, class Backend>
    requires backend<Backend, T>
contrastive_value<T> class_contrastive_loss(Backend& be, const contrastive_batch<T>& batch, T logit_scale,
                                            T label_smoothing, matrix_view<T> d_images, matrix_view<T> d_texts)
{
    return detail::pretraining_terms<T>(be, batch, logit_scale, T(1), label_smoothing, matrix_view<const T>{},
                                        d_images, d_texts);
}

}  // namespace tailor::loss
