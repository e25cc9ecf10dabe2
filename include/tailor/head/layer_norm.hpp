#pragma once
// LayerNorm over rows with the statistics a backward pass needs, and that backward pass.
// The backend's layer_norm_rows gives only the output; training needs the normalised rows
// n = (x - mean) * rstd and rstd per row, so both are kept here, built on map_rows.
#include <cmath>
#include <type_traits>
#include <vector>

#include "tailor/core/concepts.hpp"
#include "tailor/core/error.hpp"
#include "tailor/core/view.hpp"

namespace tailor::head {

namespace detail {

/// Row functor: n_r = (x_r - mean) * rstd, returns rstd = 1 / sqrt(var + eps) (biased var).
template <class T>
struct normalise_row {
    matrix_view<T> normalised;
    T eps;
    template <class Row, class Kernels>
    T operator()(index_t r, const Row& x, const Kernels&) const
    {
        const index_t d = x.extent(0);
        double mean = 0;
        for (index_t j = 0; j < d; ++j) mean += x(j);
        mean /= double(d);
        double var = 0;
        for (index_t j = 0; j < d; ++j) {
            const double c = double(x(j)) - mean;
            var += c * c;
        }
        var /= double(d);
        const double rstd = 1.0 / std::sqrt(var + double(eps));
        auto out = normalised.row(r);
        for (index_t j = 0; j < d; ++j) out(j) = T((double(x(j)) - mean) * rstd);
        return T(rstd);
    }
};

/// Row functor of the LayerNorm backward: given dy, n, rstd and gamma writes
/// dx = rstd * (g - mean(g) - n * mean(g * n)) with g = dy * gamma; adds (accumulate) or
/// writes dx into `dx`. Returns 0.
template <class T>
struct normalise_row_backward {
    matrix_view<const T> normalised;
    vector_view<const T> rstd;
    vector_view<const T> gamma;
    matrix_view<T> dx;
    bool accumulate;
    template <class Row, class Kernels>
    T operator()(index_t r, const Row& dy, const Kernels&) const
    {
        const index_t d = dy.extent(0);
        const auto n = normalised.row(r);
        double mean_g = 0, mean_gn = 0;
        for (index_t j = 0; j < d; ++j) {
            const double g = double(dy(j)) * gamma(j);
            mean_g += g;
            mean_gn += g * n(j);
        }
        mean_g /= double(d);
        mean_gn /= double(d);
        auto out = dx.row(r);
        const double s = rstd(r);
        for (index_t j = 0; j < d; ++j) {
            const double g = double(dy(j)) * gamma(j);
            const T v = T(s * (g - mean_g - n(j) * mean_gn));
            out(j) = accumulate ? out(j) + v : v;
        }
        return T(0);
    }
};

}  // namespace detail

/// normalised = (x - mean) / sqrt(var + eps) per row, rstd = 1 / sqrt(var + eps).
template <class T, class Backend>
    requires backend<Backend, T>
void layer_norm_statistics(Backend& be, matrix_view<const T> x, T eps, matrix_view<T> normalised, vector_view<T> rstd)
{
    tailor::detail::require_extents(normalised, "normalised", x.extents());
    tailor::detail::require_extents(rstd, "rstd", {x.rows()});
    tailor::detail::require(std::isfinite(eps) && eps >= T(0), "eps", "a finite value >= 0", eps);
    be.template map_rows<T>(x, rstd, detail::normalise_row<T>{normalised, eps});
}

/// Backward of y = gamma * normalised + beta: dx (written, or added with `accumulate`),
/// d_gamma and d_beta (added).
template <class T, class Backend>
    requires backend<Backend, T>
void layer_norm_backward(Backend& be, matrix_view<const T> dy, matrix_view<const T> normalised, vector_view<const T> rstd,
                         vector_view<const T> gamma, matrix_view<T> dx, vector_view<T> d_gamma, vector_view<T> d_beta,
                         bool accumulate)
{
    const index_t rows = dy.rows(), d = dy.cols();
    for (index_t r = 0; r < rows; ++r)
        for (index_t j = 0; j < d; ++j) {
            d_gamma(j) += dy(r, j) * normalised(r, j);
            d_beta(j) += dy(r, j);
        }
    std::vector<T> unused(static_cast<std::size_t>(rows));
    be.template map_rows<T>(dy, vector_view<T>(unused.data(), {rows}),
                            detail::normalise_row_backward<T>{normalised, rstd, gamma, dx, accumulate});
}

}  // namespace tailor::head
