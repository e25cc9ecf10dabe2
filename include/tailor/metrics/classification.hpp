#pragma once
// Per-class accuracy, top-k accuracy and the confusion matrix, from predictions or scores.
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "tailor/core/error.hpp"
#include "tailor/core/tensor.hpp"
#include "tailor/core/view.hpp"

namespace tailor::metrics {

namespace detail {

using tailor::detail::concat;
using tailor::detail::fail;
using tailor::detail::require;
using tailor::detail::require_extents;

template <class Label>
void require_label_range(vector_view<const Label> labels, index_t classes, std::string_view name)
{
    for (index_t i = 0; i < labels.extent(0); ++i)
        if (labels(i) < 0 || static_cast<index_t>(labels(i)) >= classes)
            fail<index_error>(name, concat("class ids in [0, ", classes, ")"), concat(labels(i), " at position ", i));
}

}  // namespace detail

/// Predicted class per row: the first maximum of each score row (NaN scores never win).
template <class T, class Label = std::int32_t>
void argmax_rows(matrix_view<const T> scores, vector_view<Label> predictions)
{
    detail::require_extents(predictions, "predictions", {scores.rows()});
    detail::require<shape_error>(scores.cols() > 0, "scores", "at least one column", scores.cols());
    for (index_t i = 0; i < scores.rows(); ++i) {
        index_t best = 0;
        T best_value = -std::numeric_limits<T>::infinity();
        bool found = false;
        for (index_t j = 0; j < scores.cols(); ++j) {
            const T v = scores(i, j);
            if (!std::isnan(v) && (!found || v > best_value)) {
                best = j;
                best_value = v;
                found = true;
            }
        }
        predictions(i) = static_cast<Label>(best);
    }
}

/// counts(t, p): test samples of true class t predicted as p.
template <class Label>
matrix<std::int64_t> confusion_matrix(vector_view<const Label> predictions, vector_view<const Label> truth,
                                      index_t classes)
{
    detail::require(classes > 0, "classes", "> 0", classes);
    detail::require_extents(predictions, "predictions", {truth.extent(0)});
    detail::require_label_range(truth, classes, "truth");
    detail::require_label_range(predictions, classes, "predictions");
    matrix<std::int64_t> counts({classes, classes});
    for (index_t i = 0; i < truth.extent(0); ++i) ++counts(truth(i), predictions(i));
    return counts;
}

/// Hits and test-sample totals per class; accuracy(c) is NaN for a class with no test sample.
struct per_class_result {
    std::vector<std::int64_t> correct;
    std::vector<std::int64_t> total;
    double accuracy(index_t c) const
    {
        const auto n = total[static_cast<std::size_t>(c)];
        return n == 0 ? std::numeric_limits<double>::quiet_NaN()
                      : double(correct[static_cast<std::size_t>(c)]) / double(n);
    }
    index_t classes() const { return static_cast<index_t>(total.size()); }
};

template <class Label>
per_class_result per_class_accuracy(vector_view<const Label> predictions, vector_view<const Label> truth,
                                    index_t classes)
{
    detail::require(classes > 0, "classes", "> 0", classes);
    detail::require_extents(predictions, "predictions", {truth.extent(0)});
    detail::require_label_range(truth, classes, "truth");
    detail::require_label_range(predictions, classes, "predictions");
    per_class_result r{std::vector<std::int64_t>(static_cast<std::size_t>(classes)),
                       std::vector<std::int64_t>(static_cast<std::size_t>(classes))};
    for (index_t i = 0; i < truth.extent(0); ++i) {
        const auto t = static_cast<std::size_t>(truth(i));
        ++r.total[t];
        if (predictions(i) == truth(i)) ++r.correct[t];
    }
    return r;
}

/// Fraction of rows whose true class is among the k highest scores. Ties count against
/// the truth only when strictly more than k - 1 classes score higher (PyTorch's topk
/// breaks ties by position; this is the position-free reading). NaN scores rank last.
template <class T, class Label>
double top_k_accuracy(matrix_view<const T> scores, vector_view<const Label> truth, index_t k)
{
    detail::require_extents(truth, "truth", {scores.rows()});
    detail::require(k >= 1 && k <= scores.cols(), "k", detail::concat("1 <= k <= ", scores.cols()), k);
    detail::require_label_range(truth, scores.cols(), "truth");
    if (scores.rows() == 0) return std::numeric_limits<double>::quiet_NaN();
    std::int64_t hits = 0;
    for (index_t i = 0; i < scores.rows(); ++i) {
        const T target = scores(i, truth(i));
        index_t higher = 0;
        for (index_t j = 0; j < scores.cols(); ++j) {
            const T v = scores(i, j);
            if (!std::isnan(v) && (std::isnan(target) || v > target)) ++higher;
        }
        if (higher < k) ++hits;
    }
    return double(hits) / double(scores.rows());
}

}  // namespace tailor::metrics
