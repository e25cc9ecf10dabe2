#pragma once
// Logit adjustment (Menon et al.): the training loss CE(z + tau log pi, t) and the post-hoc
// correction z - tau log pi applied to a model trained with plain cross-entropy.
#include <cmath>
#include <numeric>
#include <vector>

#include "tailor/core/concepts.hpp"
#include "tailor/loss/counts.hpp"
#include "tailor/loss/row_math.hpp"

namespace tailor::loss {

/// Holds tau * log pi_j with pi_j = n_j / sum n. As a loss: l = CE(z + tau log pi, t).
/// With tau = 1 it equals balanced softmax (log pi and log n differ by a constant).
template <class T = float>
class logit_adjustment {
public:
    using value_type = T;

    template <class Counts>
    explicit logit_adjustment(const Counts& counts, double tau = 1.0) : tau_(tau)
    {
        detail::require_finite(tau, "tau", "a finite value");
        const auto n = detail::read_counts(counts);
        detail::require_positive_counts(n, "counts", "logit adjustment adds tau log(n_j / N), and log 0 = -inf");
        const double total = std::accumulate(n.begin(), n.end(), 0.0);
        bias_.reserve(n.size());
        for (double c : n) bias_.push_back(static_cast<T>(tau * std::log(c / total)));
    }

    double tau() const noexcept { return tau_; }
    index_t classes() const noexcept { return static_cast<index_t>(bias_.size()); }
    /// tau log pi_j
    const std::vector<T>& bias() const noexcept { return bias_; }

    void validate(index_t classes) const
    {
        detail::require_classes(this->classes(), classes, "the classes counted");
    }

    template <class Target, class Kernels>
    T row(const row_context<T>& row, const Target& target, const Kernels& k) const
    {
        const vector_view<const T> adjusted = detail::biased_row(row, bias_.data());
        return detail::softmax_cross_entropy(row, adjusted, T(1), target, T(0), k);
    }

private:
    double tau_;
    std::vector<T> bias_;
};


namespace detail {

template <class T>
struct subtract_bias_row {
    const T* bias;
    matrix_view<T> out;
    template <class Row, class Kernels>
    T operator()(index_t r, const Row& z, const Kernels&) const
    {
        auto o = out.row(r);
        for (index_t j = 0; j < z.extent(0); ++j) o(j) = z(j) - bias[j];
        return T(0);
    }
};

}  // namespace detail

/// The post-hoc adjustment: out = logits - tau log pi, for the predictions of a model
/// trained without the prior. `out` may be `logits` itself (same view), not a partial overlap.
template <class Backend, class T>
    requires backend<Backend, T>
void posthoc_adjust(Backend& be, const logit_adjustment<T>& adjustment,
                    std::type_identity_t<matrix_view<const T, typename Backend::memory_space>> logits,
                    matrix_view<T, typename Backend::memory_space> out)
{
    static_assert(is_host_accessible<typename Backend::memory_space>,
                  "tailor::loss::posthoc_adjust reads its bias from host memory");
    tailor::detail::require_extents(out, "out", logits.extents());
    adjustment.validate(logits.cols());
    std::vector<T> unused(static_cast<std::size_t>(logits.rows()));
    be.template map_rows<T>(logits, vector_view<T>(unused.data(), {logits.rows()}),
                            detail::subtract_bias_row<T>{adjustment.bias().data(), out});
}

}  // namespace tailor::loss
