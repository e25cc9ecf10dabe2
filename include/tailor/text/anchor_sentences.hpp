#pragma once
// VL-LTR's anchor sentence selection (AnSS). Each sentence of class c is scored by
//   L_lin = CE(softmax(s cos(sentence, images)), uniform over class c's images)
//         = logsumexp_i(z_i) - mean_{i in c} z_i,   z_i = s cos(sentence, image_i),
// over an image batch of at most K images per class; each class keeps its M lowest-scoring
// sentences (all of them, masked downstream, when it has fewer than M).
//
// Sentences stream through in chunks: only a [chunk, N] block of logits exists at a time,
// so 1000 classes x 700 sentences need no [S, N] matrix. Images are regrouped by class once,
// which turns the target term into the mean of a contiguous range of each logit row.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include "tailor/core/concepts.hpp"
#include "tailor/core/error.hpp"
#include "tailor/core/tensor.hpp"
#include "tailor/core/view.hpp"

namespace tailor::text {

struct anchor_selection_options {
    double scale = 100.0;               // s, the logit multiplier (CLIP's exp(logit_scale))
    index_t keep = 64;                  // M, sentences kept per class
    index_t max_images_per_class = 50;  // K: a class's images past its first K are left out
    index_t chunk = 256;                // sentences scored per GEMM
};

/// The scores of every sentence and, per class, the kept sentences (row indices into the
/// packed sentence matrix, lowest score first, ties to the lower index), padded with -1.
template <class T>
struct anchor_selection {
    index_t classes = 0, keep = 0;
    std::vector<T> scores;               // [S], L_lin per sentence
    std::vector<std::int64_t> selected;  // [C, keep], -1 past counts[c]
    std::vector<std::int32_t> counts;    // [C], min(m_c, keep)

    std::int64_t at(index_t c, index_t k) const { return selected[static_cast<std::size_t>(c * keep + k)]; }
};

namespace detail {

/// Row functor: score_r = lse(z_r) - mean of z_r over its class's image columns.
template <class T>
struct anchor_score_row {
    const index_t* sentence_class;  // class of each chunk row
    const index_t* image_offsets;   // class c's images are columns [off[c], off[c+1])
    T* scores;                      // this chunk's slice of the output

    template <class Row, class Kernels>
    T operator()(index_t r, const Row& z, const Kernels& k) const
    {
        const index_t c = sentence_class[r];
        const index_t begin = image_offsets[c], end = image_offsets[c + 1];
        double target = 0;
        for (index_t i = begin; i < end; ++i) target += z(i);
        const T value = k.logsumexp(z) - T(target / double(end - begin));
        scores[r] = value;
        return value;
    }
};

template <class T>
void normalise_into(matrix_view<const T> x, index_t row, matrix_view<T> out, index_t out_row)
{
    double sq = 0;
    for (index_t j = 0; j < x.cols(); ++j) sq += double(x(row, j)) * x(row, j);
    const T inv = T(1) / std::max(T(std::sqrt(sq)), T(1e-12));
    for (index_t j = 0; j < x.cols(); ++j) out(out_row, j) = x(row, j) * inv;
}

}  // namespace detail

/// Scores and selects anchor sentences.
/// - sentences [S, D] packed class after class; offsets [C + 1], class c owning rows
///   offsets[c] .. offsets[c+1] (a class may own none);
/// - images [N, D] with labels [N] in [0, C); every class that owns sentences needs at
///   least one image; only the first K images of a class (in batch order) take part.
template <class T, class Backend>
    requires backend<Backend, T>
anchor_selection<T> select_anchor_sentences(Backend& be, matrix_view<const T> sentences,
                                            vector_view<const std::int64_t> offsets, matrix_view<const T> images,
                                            vector_view<const std::int32_t> image_labels,
                                            const anchor_selection_options& options = {})
{
    using tailor::detail::concat;
    using tailor::detail::require;
    const index_t d = sentences.cols();
    require<shape_error>(offsets.extent(0) >= 2, "offsets", "[C + 1] entries with C >= 1", offsets.extent(0));
    const index_t classes = offsets.extent(0) - 1, total = sentences.rows();
    require<index_error>(offsets(0) == 0 && offsets(classes) == total, "offsets",
                         concat("offsets[0] == 0 and offsets[C] == ", total), concat(offsets(0), " and ", offsets(classes)));
    for (index_t c = 0; c < classes; ++c)
        require<index_error>(offsets(c + 1) >= offsets(c), "offsets", "non-decreasing offsets", concat("a decrease at class ", c));
    tailor::detail::require_extents(images, "images", {-1, d});
    tailor::detail::require_extents(image_labels, "image_labels", {images.rows()});
    require(std::isfinite(options.scale) && options.scale > 0, "options.scale", "a finite value > 0", options.scale);
    require(options.keep >= 1, "options.keep", ">= 1", options.keep);
    require(options.max_images_per_class >= 1, "options.max_images_per_class", ">= 1", options.max_images_per_class);
    require(options.chunk >= 1, "options.chunk", ">= 1", options.chunk);
    for (index_t i = 0; i < images.rows(); ++i)
        if (image_labels(i) < 0 || image_labels(i) >= classes)
            tailor::detail::fail<index_error>("image_labels", concat("labels in [0, ", classes, ")"),
                                              concat(image_labels(i), " at image ", i));

    // Regroup the images by class, first K of each, normalised.
    std::vector<index_t> per_class(static_cast<std::size_t>(classes), 0);
    std::vector<index_t> kept_images;
    for (index_t i = 0; i < images.rows(); ++i) {
        auto& n = per_class[static_cast<std::size_t>(image_labels(i))];
        if (n < options.max_images_per_class) {
            ++n;
            kept_images.push_back(i);
        }
    }
    std::vector<index_t> image_offsets(static_cast<std::size_t>(classes) + 1, 0);
    for (index_t c = 0; c < classes; ++c) {
        const bool has_sentences = offsets(c + 1) > offsets(c);
        if (has_sentences && per_class[static_cast<std::size_t>(c)] == 0)
            tailor::detail::fail("image_labels", "at least one image of every class that has sentences",
                                 concat("none of class ", c));
        image_offsets[static_cast<std::size_t>(c) + 1] = image_offsets[static_cast<std::size_t>(c)] + per_class[static_cast<std::size_t>(c)];
    }
    const index_t n_images = static_cast<index_t>(kept_images.size());
    matrix<T> image_hat({n_images, d});
    {
        std::vector<index_t> cursor(image_offsets.begin(), image_offsets.end() - 1);
        for (const index_t i : kept_images)
            detail::normalise_into<T>(images, i, image_hat.view(), cursor[static_cast<std::size_t>(image_labels(i))]++);
    }
    for (index_t i = 0; i < n_images; ++i)
        for (index_t j = 0; j < d; ++j)
            if (!std::isfinite(image_hat(i, j))) tailor::detail::fail("images", "finite values", "a non-finite value");

    anchor_selection<T> out;
    out.classes = classes;
    out.keep = options.keep;
    out.scores.assign(static_cast<std::size_t>(total), T(0));
    if (total > 0 && n_images > 0) {
        const index_t chunk = std::min(options.chunk, total);
        matrix<T> sentence_hat({chunk, d}), logits({chunk, n_images});
        std::vector<index_t> sentence_class(static_cast<std::size_t>(chunk));
        std::vector<T> unused(static_cast<std::size_t>(chunk));
        index_t owner = 0;
        for (index_t begin = 0; begin < total; begin += chunk) {
            const index_t n = std::min(chunk, total - begin);
            for (index_t r = 0; r < n; ++r) {
                while (offsets(owner + 1) <= begin + r) ++owner;
                sentence_class[static_cast<std::size_t>(r)] = owner;
                detail::normalise_into<T>(sentences, begin + r, sentence_hat.view(), r);
                for (index_t j = 0; j < d; ++j)
                    if (!std::isfinite(sentence_hat(r, j)))
                        tailor::detail::fail("sentences", "finite values", concat("a non-finite value in row ", begin + r));
            }
            const matrix_view<const T> rows = matrix_view<const T>(sentence_hat.view()).slice(0, 0, n);
            const matrix_view<T> z = logits.view().slice(0, 0, n);
            be.template gemm<T>(T(options.scale), rows, matrix_view<const T>(image_hat.view()).transposed(), T(0), z);
            be.template map_rows<T>(matrix_view<const T>(z), vector_view<T>(unused.data(), {n}),
                                    detail::anchor_score_row<T>{sentence_class.data(), image_offsets.data(),
                                                                out.scores.data() + begin});
        }
    }

    out.selected.assign(static_cast<std::size_t>(classes * options.keep), -1);
    out.counts.assign(static_cast<std::size_t>(classes), 0);
    std::vector<std::int64_t> order;
    for (index_t c = 0; c < classes; ++c) {
        order.resize(static_cast<std::size_t>(offsets(c + 1) - offsets(c)));
        std::iota(order.begin(), order.end(), offsets(c));
        const auto kept = std::min<std::size_t>(order.size(), static_cast<std::size_t>(options.keep));
        std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(kept), order.end(),
                          [&](std::int64_t a, std::int64_t b) {
                              const T sa = out.scores[static_cast<std::size_t>(a)], sb = out.scores[static_cast<std::size_t>(b)];
                              return sa < sb || (sa == sb && a < b);
                          });
        out.counts[static_cast<std::size_t>(c)] = static_cast<std::int32_t>(kept);
        for (std::size_t k = 0; k < kept; ++k) out.selected[static_cast<std::size_t>(c * options.keep) + k] = order[k];
    }
    return out;
}

/// Copies the selected sentences into the padded [C, keep, D] layout the LGR head's bank
/// takes (rows past counts[c] are zero); counts come from `selection.counts`.
template <class T>
void gather_selected_sentences(const anchor_selection<T>& selection, matrix_view<const T> sentences,
                               tensor_view<T, 3> padded)
{
    tailor::detail::require_extents(padded, "padded", {selection.classes, selection.keep, sentences.cols()});
    for (index_t c = 0; c < selection.classes; ++c)
        for (index_t k = 0; k < selection.keep; ++k) {
            const std::int64_t row = selection.at(c, k);
            for (index_t j = 0; j < sentences.cols(); ++j) padded(c, k, j) = row < 0 ? T(0) : sentences(row, j);
        }
}

}  // namespace tailor::text
