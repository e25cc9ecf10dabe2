#pragma once
// MMS, the margin metric softmax of CLIPood: every non-target logit is raised by a margin
// that grows with the semantic distance of its class from the target class, measured on
// unit text embeddings, and the logits are divided by a temperature:
//   l = CE((z + lambda (1 - t_y . t_k)_k) / T, y).
// Soft targets: the sum of target-weighted hard terms, each with its own margin row (what
// the LFM code does for a mixed pair): l = sum_k t_k w_k CE((z + M_k) / T, k). Unlike
// LDAM the rows differ everywhere, so each term with t_k != 0 costs one exp pass.
#include <cmath>
#include <vector>

#include "tailor/core/error.hpp"
#include "tailor/core/view.hpp"
#include "tailor/loss/counts.hpp"
#include "tailor/loss/row_math.hpp"

namespace tailor::loss {

template <class T = float>
class mms {
public:
    using value_type = T;

    /// `embeddings` [C, D]: one text embedding per class, normalised here to unit length
    /// (a zero row is an error). Precomputes the C x C margins M_yk = lambda (1 - t_y . t_k).
    template <class E>
    mms(matrix_view<E> embeddings, double lambda = 0.3, double temperature = 0.01)
        : lambda_(lambda), temperature_(temperature), classes_(embeddings.rows())
    {
        using tailor::detail::concat;
        using tailor::detail::require;
        require(std::isfinite(lambda) && lambda >= 0, "lambda", "a finite value >= 0", lambda);
        require(std::isfinite(temperature) && temperature > 0, "temperature", "a finite value > 0", temperature);
        require<shape_error>(embeddings.rows() >= 1 && embeddings.cols() >= 1, "embeddings",
                             "a [C, D] matrix with C, D >= 1", tailor::detail::format_extents(embeddings.extents()));
        const index_t c = embeddings.rows(), d = embeddings.cols();
        std::vector<double> unit(static_cast<std::size_t>(c * d));
        for (index_t i = 0; i < c; ++i) {
            double norm = 0;
            for (index_t j = 0; j < d; ++j) {
                const double v = static_cast<double>(embeddings(i, j));
                if (!std::isfinite(v)) tailor::detail::fail("embeddings", "finite values", concat(v, " in row ", i));
                norm += v * v;
            }
            if (!(norm > 0)) tailor::detail::fail("embeddings", "non-zero rows (they are normalised)", concat("a zero row ", i));
            const double inv = 1.0 / std::sqrt(norm);
            for (index_t j = 0; j < d; ++j) unit[std::size_t(i * d + j)] = static_cast<double>(embeddings(i, j)) * inv;
        }
        // M is symmetric with a zero diagonal; O(C^2 D) once, at construction.
        margins_.assign(static_cast<std::size_t>(c * c), T(0));
        for (index_t y = 0; y < c; ++y) {
            const double* ty = unit.data() + y * d;
            for (index_t k = y + 1; k < c; ++k) {
                const double* tk = unit.data() + k * d;
                const double dot = detail::lane_sum<double>(d, [&](index_t j) { return ty[j] * tk[j]; });
                const T margin = static_cast<T>(lambda * (1.0 - dot));
                margins_[std::size_t(y * c + k)] = margin;
                margins_[std::size_t(k * c + y)] = margin;
            }
        }
    }

    index_t classes() const noexcept { return classes_; }
    double lambda() const noexcept { return lambda_; }
    double temperature() const noexcept { return temperature_; }
    /// Row y of the margins, M_y. (M_yy = 0.)
    const T* margin_row(index_t y) const noexcept { return margins_.data() + y * classes_; }

    void validate(index_t classes) const
    {
        detail::require_classes(classes_, classes, "one per embedding");
    }

    template <class Kernels>
    T row(const row_context<T>& row, const sparse_target<T>& target, const Kernels& k) const
    {
        const T inverse_temperature = static_cast<T>(1.0 / temperature_);
        if (target.count == 1) {
            detail::affine_row(row.logits(), inverse_temperature, margin_row(target.label[0]), row.grad(), row.classes);
            return detail::softmax_cross_entropy(row, vector_view<const T>(row.grad_row), inverse_temperature, target, T(0), k);
        }
        term_sum sum{row};
        for (int e = 0; e < target.count; ++e) sum.add(*this, target.label[e], target.coefficient[e], k);
        return sum.finish();
    }

    template <class Kernels>
    T row(const row_context<T>& row, const dense_target<T>& target, const Kernels& k) const
    {
        term_sum sum{row};
        detail::with_class_weights(row, [&](auto w) {
            for (index_t j = 0; j < row.classes; ++j) {
                const T c = target.share[j] * w(j);
                if (detail::is_nonzero(c)) sum.add(*this, j, c, k);
            }
        });
        return sum.finish();
    }

private:
    /// Accumulates terms c CE((z + M_y) / T, y): the first in the gradient row itself,
    /// later ones in a per-thread row added into it.
    struct term_sum {
        const row_context<T>& row;
        double loss = 0.0;
        bool empty = true;

        template <class Kernels>
        void add(const mms& self, index_t y, T c, const Kernels& k)
        {
            const index_t n = row.classes;
            const T inverse_temperature = static_cast<T>(1.0 / self.temperature_);
            const vector_view<T> a_row = empty ? row.grad_row : detail::thread_row<T>(detail::buffer_slot::policy, n);
            T* a = a_row.data();
            detail::affine_row(row.logits(), inverse_temperature, self.margin_row(y), a, n);
            const T target_logit = a[y];
            const T m = k.max(vector_view<const T>(a_row));
            const T total = k.exp_shifted(vector_view<const T>(a_row), m, T(1), a_row);
            loss += double(c) * (double(m - target_logit) + std::log(double(total)));
            const T step = row.grad_scale * inverse_temperature;
            const T weight = step * c / total;
            if (empty) {
                detail::scale_row(a, n, weight);
            } else {
                T* g = row.grad();
                for (index_t j = 0; j < n; ++j) g[j] += weight * a[j];
            }
            row.grad()[y] -= step * c;
            empty = false;
        }

        T finish()
        {
            if (empty)  // an all-zero target: nothing to learn from this row
                for (index_t j = 0; j < row.classes; ++j) row.grad()[j] = T(0);
            return static_cast<T>(loss);
        }
    };

    double lambda_, temperature_;
    index_t classes_;
    std::vector<T> margins_;  // C x C, row-major
};

}  // namespace tailor::loss
