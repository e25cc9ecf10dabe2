#pragma once
// The text-classifier head of LFM's decoupled stage 2 (and the zero-shot classifier when W
// is the identity): logits_bk = s cos(W f_b, t_k) against fixed class text embeddings t_k.
//
// Forward:  H = F W^T,  n_b = ||h_b||,  U = H / n,  Z = s U T^T.
// Backward: G_U = s G_Z T,  G_H = (G_U - U diag(u_b . g_b)) / n,  G_W = G_H^T F,  G_F = G_H W.
// Three GEMMs each way on the backend; the row steps are map_rows functors.
#include <cmath>

#include "tailor/core/concepts.hpp"
#include "tailor/core/error.hpp"
#include "tailor/core/tensor.hpp"

namespace tailor {

namespace detail {

/// out_r = x_r / ||x_r||; returns ||x_r|| (a zero row stays zero).
template <class T>
struct normalise_rows {
    matrix_view<T> out;
    template <class Row, class Kernels>
    TAILOR_HOST_DEVICE T operator()(index_t r, const Row& x, const Kernels& k) const
    {
        const T norm = std::sqrt(k.dot(x, x));
        const T inv = norm > T(0) ? T(1) / norm : T(0);
        for (index_t j = 0; j < x.extent(0); ++j) out(r, j) = x(j) * inv;
        return norm;
    }
};

/// grad_h_r = (g_r - u_r (u_r . g_r)) / n_r: the Jacobian of h / ||h|| applied to g.
template <class T>
struct unnormalise_gradient {
    matrix_view<const T> unit;
    vector_view<const T> norms;
    matrix_view<T> grad_h;
    template <class Row, class Kernels>
    TAILOR_HOST_DEVICE T operator()(index_t r, const Row& g, const Kernels& k) const
    {
        const auto u = unit.row(r);
        const T along = k.dot(u, g);
        const T inv = norms(r) > T(0) ? T(1) / norms(r) : T(0);
        for (index_t j = 0; j < g.extent(0); ++j) grad_h(r, j) = (g(j) - u(j) * along) * inv;
        return along;
    }
};

}  // namespace detail

template <class T = float>
class cosine_head {
public:
    /// `text` [C, D]: the class embeddings, normalised here; W starts as the D x D identity.
    template <class E>
    cosine_head(matrix_view<E> text, T scale) : text_({text.rows(), text.cols()}), weight_({text.cols(), text.cols()}),
                                                scale_(scale)
    {
        detail::require(std::isfinite(scale) && scale > T(0), "scale", "a finite value > 0", scale);
        detail::require<shape_error>(text.rows() >= 1 && text.cols() >= 1, "text", "a [C, D] matrix with C, D >= 1",
                                     detail::format_extents(text.extents()));
        for (index_t c = 0; c < text.rows(); ++c) {
            double norm = 0;
            for (index_t d = 0; d < text.cols(); ++d) norm += double(text(c, d)) * double(text(c, d));
            detail::require(std::isfinite(norm) && norm > 0, "text", "finite, non-zero rows",
                            [&] { return detail::concat("row ", c, " with squared norm ", norm); });
            for (index_t d = 0; d < text.cols(); ++d) text_(c, d) = T(double(text(c, d)) / std::sqrt(norm));
        }
        for (index_t d = 0; d < dim(); ++d) weight_(d, d) = T(1);
    }

    index_t classes() const noexcept { return text_.extent(0); }
    index_t dim() const noexcept { return text_.extent(1); }
    T scale() const noexcept { return scale_; }
    matrix_view<T> weight() noexcept { return weight_.view(); }
    matrix_view<const T> weight() const noexcept { return weight_.view(); }
    matrix_view<const T> text() const noexcept { return text_.view(); }

    /// What forward keeps for backward, sized for a batch.
    struct workspace {
        matrix<T> hidden, unit, grad_unit;
        vector<T> norms, scratch;
        explicit workspace(index_t batch = 0, index_t dim = 0)
            : hidden({batch, dim}), unit({batch, dim}), grad_unit({batch, dim}), norms({batch}), scratch({batch})
        {
        }
    };

    template <class B>
        requires backend<B, T>
    void forward(B& be, matrix_view<const T> features, matrix_view<T> logits, workspace& ws) const
    {
        detail::require_extents(features, "features", {-1, dim()});
        detail::require_extents(logits, "logits", {features.rows(), classes()});
        if (ws.hidden.extent(0) != features.rows() || ws.hidden.extent(1) != dim()) ws = workspace(features.rows(), dim());
        be.template gemm<T>(T(1), features, weight_.view().transposed(), T(0), ws.hidden.view());
        be.template map_rows<T>(ws.hidden.view(), ws.norms.view(), detail::normalise_rows<T>{ws.unit.view()});
        be.template gemm<T>(scale_, ws.unit.view(), text_.view().transposed(), T(0), logits);
    }

    /// Accumulates dL/dW into grad_weight (beta = accumulate ? 1 : 0); optionally dL/dF.
    template <class B>
        requires backend<B, T>
    void backward(B& be, matrix_view<const T> features, matrix_view<const T> grad_logits, workspace& ws,
                  matrix_view<T> grad_weight, bool accumulate = false, matrix_view<T> grad_features = {}) const
    {
        detail::require_extents(grad_logits, "grad_logits", {features.rows(), classes()});
        detail::require_extents(grad_weight, "grad_weight", {dim(), dim()});
        detail::require<shape_error>(ws.unit.extent(0) == features.rows(), "workspace",
                                     "the workspace of the forward pass on this batch",
                                     [&] { return detail::format_extents(ws.unit.extents()); });
        be.template gemm<T>(scale_, grad_logits, text_.view(), T(0), ws.grad_unit.view());
        // grad_h overwrites hidden: forward's H is not needed once U and n are known.
        be.template map_rows<T>(ws.grad_unit.view(), ws.scratch.view(),
                                detail::unnormalise_gradient<T>{ws.unit.view(), ws.norms.view(), ws.hidden.view()});
        be.template gemm<T>(T(1), ws.hidden.view().transposed(), features, accumulate ? T(1) : T(0), grad_weight);
        if (!grad_features.empty()) {
            detail::require_extents(grad_features, "grad_features", features.extents());
            be.template gemm<T>(T(1), ws.hidden.view(), weight_.view(), T(0), grad_features);
        }
    }

private:
    matrix<T> text_;
    matrix<T> weight_;
    T scale_;
};

}  // namespace tailor
