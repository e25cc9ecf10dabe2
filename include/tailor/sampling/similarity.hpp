#pragma once
// Similarity sources for the text-similarity pair sampler.
#include <cmath>
#include <concepts>
#include <utility>

#include "tailor/core/concepts.hpp"
#include "tailor/core/error.hpp"
#include "tailor/core/tensor.hpp"
#include "tailor/core/view.hpp"
#include "tailor/sampling/concepts.hpp"

namespace tailor {

/// s_ij = cos(t_i, t_j) for class text embeddings t [C, D] (rows need not be unit length;
/// they are normalised first), computed as one GEMM U U^T on a host backend.
template <class Backend>
    requires backend<Backend, float> && std::same_as<typename Backend::memory_space, host_space>
class text_embedding_similarity {
public:
    explicit text_embedding_similarity(matrix_view<const float> embeddings, Backend backend = Backend{})
        : embeddings_(embeddings), backend_(std::move(backend))
    {
        detail::require<shape_error>(embeddings.rows() >= 1 && embeddings.cols() >= 1, "embeddings",
                                     "a non-empty [classes, width] matrix",
                                     detail::format_extents(embeddings.extents()));
    }

    index_t classes() const noexcept { return embeddings_.rows(); }

    void write_similarities(matrix_view<float> out) const
    {
        detail::require_extents(out, "out", {classes(), classes()});
        const index_t width = embeddings_.cols();
        tensor<float, 2> unit({classes(), width});
        for (index_t c = 0; c < classes(); ++c) {
            double squared = 0;
            for (index_t d = 0; d < width; ++d) squared += static_cast<double>(embeddings_(c, d)) * embeddings_(c, d);
            const double norm = std::sqrt(squared);
            if (!(std::isfinite(norm) && norm > 0))
                detail::fail("embeddings", "rows of finite, non-zero length", detail::concat("length ", norm, " for class ", c));
            for (index_t d = 0; d < width; ++d)
                unit(c, d) = static_cast<float>(static_cast<double>(embeddings_(c, d)) / norm);
        }
        const auto u = std::as_const(unit).view();
        backend_.gemm(1.0f, u, u.transposed(), 0.0f, out);
    }

private:
    matrix_view<const float> embeddings_;
    mutable Backend backend_;
};

/// Any similarity matrix [C, C] computed elsewhere (only the off-diagonal entries are used).
class precomputed_similarity {
public:
    explicit precomputed_similarity(matrix_view<const float> similarities) : similarities_(similarities)
    {
        detail::require<shape_error>(similarities.rows() == similarities.cols() && similarities.rows() >= 1,
                                     "similarities", "a non-empty square matrix",
                                     detail::format_extents(similarities.extents()));
    }

    index_t classes() const noexcept { return similarities_.rows(); }

    void write_similarities(matrix_view<float> out) const
    {
        detail::require_extents(out, "out", {classes(), classes()});
        for (index_t i = 0; i < classes(); ++i)
            for (index_t j = 0; j < classes(); ++j) out(i, j) = similarities_(i, j);
    }

private:
    matrix_view<const float> similarities_;
};

static_assert(similarity_source<precomputed_similarity>);

}  // namespace tailor
