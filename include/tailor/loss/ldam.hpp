#pragma once
// LDAM (label-distribution-aware margin, Cao et al.): the target logit is lowered by a
// margin that grows for rare classes, m_j = max_m n_j^(-1/4) / max_k n_k^(-1/4), and the
// logits are scaled by s: l = CE(s (z - m_y e_y), y). Pair with a DRW schedule.
//
// Soft targets (the reference crashes on them): the loss is the target-weighted sum of
// hard-label terms, each with its own margin, l = sum_k t_k w_k CE(s (z - m_k e_k), k),
// which is what the LFM code does for mixed pairs. All terms share one exp pass: term k's
// softmax denominator is the row's, with class k's own entry swapped for its lowered one.
#include <algorithm>
#include <cmath>
#include <vector>

#include "tailor/core/error.hpp"
#include "tailor/loss/counts.hpp"
#include "tailor/loss/row_math.hpp"

namespace tailor::loss {

template <class T = float>
class ldam {
public:
    using value_type = T;

    /// The largest s * max_m accepted: soft targets evaluate every term against the row's
    /// max, and a lowered entry must stay above the smallest normal number (e^-87 in float).
    static constexpr double largest_scaled_margin = 60.0;

    template <class Counts>
    explicit ldam(const Counts& counts, double max_margin = 0.5, double scale = 30.0) : max_margin_(max_margin), scale_(scale)
    {
        tailor::detail::require(std::isfinite(max_margin) && max_margin >= 0, "max_margin", "a finite value >= 0",
                                max_margin);
        tailor::detail::require(std::isfinite(scale) && scale > 0, "s", "a finite value > 0", scale);
        tailor::detail::require(scale * max_margin <= largest_scaled_margin, "max_margin",
                                tailor::detail::concat("s * max_margin <= ", largest_scaled_margin),
                                scale * max_margin);
        const auto n = detail::read_counts(counts);
        detail::require_positive_counts(n, "counts", "LDAM's margin n_j^(-1/4) is infinite for n_j = 0");
        const double smallest = *std::min_element(n.begin(), n.end());
        for (double c : n) {
            const double margin = max_margin * std::pow(smallest / c, 0.25);
            margins_.push_back(margin);
            scaled_margin_.push_back(static_cast<T>(scale * margin));
            margin_factor_.push_back(static_cast<T>(std::exp(-scale * margin)));
        }
    }

    index_t classes() const noexcept { return static_cast<index_t>(margins_.size()); }
    double max_margin() const noexcept { return max_margin_; }
    double scale() const noexcept { return scale_; }
    /// m_j
    const std::vector<double>& margins() const noexcept { return margins_; }

    void validate(index_t classes) const
    {
        detail::require_classes(this->classes(), classes, "the classes counted");
    }

    template <class Kernels>
    T row(const row_context<T>& row, const sparse_target<T>& target, const Kernels& k) const
    {
        const T s = static_cast<T>(scale_);
        detail::affine_row(row.logits(), s, static_cast<const T*>(nullptr), row.grad(), row.classes);
        if (target.count == 1) {
            // One term: lower the target entry and run plain cross-entropy on the row.
            row.grad()[target.label[0]] -= scaled_margin_[std::size_t(target.label[0])];
            return detail::softmax_cross_entropy(row, vector_view<const T>(row.grad_row), s, target, T(0), k);
        }
        return pair_row(row, target, k);
    }

    template <class Kernels>
    T row(const row_context<T>& row, const dense_target<T>& target, const Kernels& k) const
    {
        const index_t n = row.classes;
        T* g = row.grad();
        const T s = static_cast<T>(scale_);
        detail::affine_row(row.logits(), s, static_cast<const T*>(nullptr), g, n);
        const vector_view<const T> scaled(row.grad_row);
        const T m = k.max(scaled);
        index_t top = static_cast<index_t>(std::find(g, g + n, m) - g);
        if (top == n) top = 0;  // a NaN max: the row comes out NaN whichever entry is taken
        k.exp_shifted(scaled, m, T(1), row.grad_row);
        // e_j = exp(s z_j - m). Term j's denominator is S - e_j + e_j exp(-s m_j); S - e_j is
        // well conditioned except at the arg max, whose rest is summed directly.
        const T top_entry = g[top];
        g[top] = T(0);
        const T rest_of_top = k.sum(scaled);
        g[top] = top_entry;
        const T total = rest_of_top + top_entry;
        T* share_over_denominator = detail::thread_row<T>(detail::buffer_slot::policy, n).data();
        double loss = 0.0;
        T mass_without_top = T(0);  // sum_{k != top} q_k, q_k = c_k / S_k
        detail::with_class_weights(row, [&](auto w) {
            for (index_t j = 0; j < n; ++j) {
                const T c = target.share[j] * w(j);
                share_over_denominator[j] = T(0);
                if (!detail::is_nonzero(c)) continue;
                const T lowered = g[j] * margin_factor_[std::size_t(j)];
                const T denominator = (j == top ? rest_of_top : total - g[j]) + lowered;
                loss += double(c) * term_loss(double(denominator - lowered), double(lowered),
                                              double(m - s * row.logits()[j]) + double(scaled_margin_[std::size_t(j)]));
                share_over_denominator[j] = c / denominator;
                if (j != top) mass_without_top += share_over_denominator[j];
            }
            // grad_j = f s (e_j sum_{k != j} q_k + q_j e_j exp(-s m_j) - c_j). The top's own q
            // can dwarf the rest (its denominator is tiny when it wins by far), so its
            // sum over k != top is the one kept apart, never formed as a difference.
            const T step = row.grad_scale * s;
            const T* keep = margin_factor_.data();
            const T q_top = share_over_denominator[top];
            const T mass = mass_without_top + q_top;
            for (index_t j = 0; j < n; ++j) {
                const T q = share_over_denominator[j];
                g[j] = step * (g[j] * (mass - q) + q * g[j] * keep[j] - target.share[j] * w(j));
            }
            g[top] = step * (top_entry * mass_without_top + q_top * top_entry * keep[top] - target.share[top] * w(top));
        });
        return static_cast<T>(loss);
    }

private:
    /// One term's loss -log(own / (rest + own)) on the shared shift m, where own = exp of the
    /// term's lowered logit minus m and `gap` = m minus that logit. When the own entry
    /// dominates, gap and log(rest + own) nearly cancel, so log1p(rest / own) is taken.
    static double term_loss(double rest, double own, double gap)
    {
        if (own > rest) return std::log1p(rest / own);
        return gap + std::log(rest + own);
    }

    /// Two distinct target classes a and b over the shared exp pass of s z.
    template <class Kernels>
    T pair_row(const row_context<T>& row, const sparse_target<T>& target, const Kernels& k) const
    {
        const index_t n = row.classes;
        T* g = row.grad();
        const T s = static_cast<T>(scale_);
        const index_t a = target.label[0], b = target.label[1];
        const vector_view<const T> scaled(row.grad_row);
        const T m = k.max(scaled);
        const T lowered_a = g[a] - scaled_margin_[std::size_t(a)], lowered_b = g[b] - scaled_margin_[std::size_t(b)];
        k.exp_shifted(scaled, m, T(1), row.grad_row);
        const T e_a = g[a], e_b = g[b];
        g[a] = g[b] = T(0);
        const T rest = k.sum(scaled);  // every class but a and b, exactly
        const T e_a_lowered = std::exp(lowered_a - m), e_b_lowered = std::exp(lowered_b - m);
        const T denominator_a = rest + e_b + e_a_lowered, denominator_b = rest + e_a + e_b_lowered;
        const T c_a = target.coefficient[0], c_b = target.coefficient[1];
        double loss = 0.0;
        if (detail::is_nonzero(c_a)) loss += double(c_a) * term_loss(double(rest + e_b), double(e_a_lowered), double(m - lowered_a));
        if (detail::is_nonzero(c_b)) loss += double(c_b) * term_loss(double(rest + e_a), double(e_b_lowered), double(m - lowered_b));
        const T q_a = c_a / denominator_a, q_b = c_b / denominator_b;
        const T step = row.grad_scale * s;
        detail::scale_row(g, n, step * (q_a + q_b));
        g[a] = step * (q_a * e_a_lowered + q_b * e_a - c_a);
        g[b] = step * (q_b * e_b_lowered + q_a * e_b - c_b);
        return static_cast<T>(loss);
    }

    double max_margin_, scale_;
    std::vector<double> margins_;
    std::vector<T> scaled_margin_;  // s m_j
    std::vector<T> margin_factor_;  // exp(-s m_j)
};

}  // namespace tailor::loss
