#pragma once
// CLIP's two encoders over any tailor backend: the vision transformer (patch embedding,
// class token, positions, ln_pre, blocks, ln_post on the class token, projection) and the
// text transformer (token and position embeddings, causal blocks, ln_final at the EOT
// position, projection). Inference only; fp32 (or double) throughout.
//
// Two exact shortcuts: the text tower runs only up to the last EOT of the batch (causal
// attention means later positions never reach an EOT row), and ln_final and the projection
// touch only the pooled rows.
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

#include "tailor/backend/checks.hpp"
#include "tailor/core/concepts.hpp"
#include "tailor/model/transformer.hpp"

namespace tailor::model {

namespace detail {
using ::tailor::detail::concat;
using ::tailor::detail::require;
using ::tailor::detail::require_extents;
}  // namespace detail

/// What an encoder can hand back besides its embeddings (for inspection and tests).
template <class T>
struct encoder_trace {
    tensor<T, 3> tokens;  ///< [batch, tokens, width], the last block's output
    matrix<T> pooled;     ///< [batch, width], the pooled row after the final LayerNorm
};

template <class T = float>
class clip_vision_encoder {
public:
    explicit clip_vision_encoder(vision_weights<T> weights) : w_(std::move(weights)) {}

    const vision_config& config() const noexcept { return w_.config; }
    const vision_weights<T>& weights() const noexcept { return w_; }

    /// `pixels` [N, 3, R, R] (already preprocessed, R = config().image_size; any strides)
    /// -> `embeddings` [N, output_dim], unnormalised. `trace`, when given, receives the
    /// last block's tokens and the pooled rows.
    template <class B>
    void encode(B& be, tensor_view<const T, 4> pixels, matrix_view<T> embeddings, encoder_trace<T>* trace = nullptr)
    {
        static_assert(std::is_same_v<typename B::memory_space, host_space>,
                      "tailor: the CLIP encoders keep their weights in host memory; a device backend needs device weights");
        const auto& c = w_.config;
        const index_t n = pixels.extent(0), r = c.image_size, p = c.patch_size, g = c.grid(), t = c.tokens();
        const index_t width = c.tower.width;
        detail::require_extents(pixels, "pixels", {-1, 3, r, r});
        detail::require_extents(embeddings, "embeddings", {n, c.output_dim});
        if (n == 0) return;

        // Patches as rows [N G G, 3 P P]: one strided copy (im2col) and one GEMM replace the
        // convolution, whose stride equals its kernel.
        const index_t s0 = pixels.stride(0), s1 = pixels.stride(1), s2 = pixels.stride(2), s3 = pixels.stride(3);
        const tensor_view<const T, 6> windows(pixels.data(), {n, g, g, 3, p, p}, {s0, p * s2, p * s3, s1, s2, s3});
        detail::ensure_size(patches_, n * g * g * 3 * p * p);
        be.copy(windows, tensor_view<T, 6>(patches_.data(), {n, g, g, 3, p, p}));
        detail::ensure_size(tokens_, n * t * width);
        detail::ensure_size(embedded_, n * g * g * width);
        const matrix_view<T> embedded(embedded_.data(), {n * g * g, width});
        be.gemm(T(1), matrix_view<const T>(patches_.data(), {n * g * g, 3 * p * p}), w_.patch_embedding.view().transposed(),
                T(0), embedded);

        // Class token and patch tokens, each plus its position (broadcast over the batch).
        const tensor_view<T, 3> x3(tokens_.data(), {n, t, width});
        const tensor_view<const T, 3> class_rows(w_.class_embedding.data(), {n, 1, width}, {0, 0, 1});
        const tensor_view<const T, 3> position_rows(w_.positions.data(), {n, t, width}, {0, width, 1});
        be.transform(class_rows, position_rows.slice(1, 0, 1), x3.slice(1, 0, 1), plus{});
        be.transform(tensor_view<const T, 3>(embedded_.data(), {n, g * g, width}), position_rows.slice(1, 1, t),
                     x3.slice(1, 1, t), plus{});

        const matrix_view<T> x(tokens_.data(), {n * t, width});
        const T eps = static_cast<T>(c.tower.layer_norm_eps);
        be.layer_norm_rows(matrix_view<const T>(x), w_.ln_pre.gamma.view(), w_.ln_pre.beta.view(), eps, x);
        for (const auto& block : w_.blocks) apply_block(be, block, c.tower, n, t, false, x, ws_);

        // ln_post on the class tokens (row 0 of each image) only.
        detail::ensure_size(pooled_, n * width);
        const matrix_view<const T> class_tokens(tokens_.data(), {n, width}, {t * width, 1});
        const matrix_view<T> pooled(pooled_.data(), {n, width});
        be.layer_norm_rows(class_tokens, w_.ln_post.gamma.view(), w_.ln_post.beta.view(), eps, pooled);
        be.gemm(T(1), matrix_view<const T>(pooled), w_.projection.view(), T(0), embeddings);
        if (trace) fill_trace(be, *trace, n, t, width);
    }

    /// Multiply-adds per image.
    double macs_per_image() const
    {
        const auto& c = w_.config;
        const double width = static_cast<double>(c.tower.width);
        return static_cast<double>(c.grid() * c.grid()) * 3.0 * static_cast<double>(c.patch_size * c.patch_size) * width +
               static_cast<double>(c.tower.layers) * block_macs(c.tower, c.tokens()) +
               width * static_cast<double>(c.output_dim);
    }

private:
    template <class B>
    void fill_trace(B& be, encoder_trace<T>& trace, index_t n, index_t t, index_t width) const
    {
        trace.tokens = tensor<T, 3>({n, t, width});
        be.copy(tensor_view<const T, 3>(tokens_.data(), {n, t, width}), trace.tokens.view());
        trace.pooled = matrix<T>({n, width});
        be.copy(matrix_view<const T>(pooled_.data(), {n, width}), trace.pooled.view());
    }

    vision_weights<T> w_;
    vector<T> patches_, embedded_, tokens_, pooled_;
    block_workspace<T> ws_;
};

template <class T = float>
class clip_text_encoder {
public:
    explicit clip_text_encoder(text_weights<T> weights) : w_(std::move(weights)) {}

    const text_config& config() const noexcept { return w_.config; }
    const text_weights<T>& weights() const noexcept { return w_; }

    /// `ids` [N, L] token ids (L <= context_length; SOT ... EOT then padding, as the
    /// tokenizer's encode_batch makes them) -> `embeddings` [N, output_dim], unnormalised.
    /// The pooled position of each row is its EOT (see text_config::end_of_text_id).
    template <class B, class Int>
    void encode(B& be, matrix_view<const Int> ids, matrix_view<T> embeddings, encoder_trace<T>* trace = nullptr)
    {
        static_assert(std::is_same_v<typename B::memory_space, host_space>,
                      "tailor: the CLIP encoders keep their weights in host memory; a device backend needs device weights");
        static_assert(std::is_integral_v<Int>, "tailor: token ids are integers");
        const auto& c = w_.config;
        const index_t n = ids.extent(0), width = c.tower.width;
        detail::require<shape_error>(ids.extent(1) >= 1 && ids.extent(1) <= c.context_length, "ids",
                                     [&] { return detail::concat("between 1 and ", c.context_length, " columns"); },
                                     [&] { return ::tailor::detail::format_extents(ids.extents()); });
        detail::require_extents(embeddings, "embeddings", {n, c.output_dim});
        if (n == 0) return;

        // Pooled positions, and the prefix length every row's EOT lies in.
        std::vector<std::int32_t> eot(static_cast<std::size_t>(n));
        for (index_t i = 0; i < n; ++i) {
            index_t best = 0;
            bool found = false;
            for (index_t j = 0; j < ids.extent(1); ++j) {
                const auto id = static_cast<std::int64_t>(ids(i, j));
                detail::require<index_error>(id >= 0 && id < c.vocabulary_size, "ids",
                                             [&] { return detail::concat("token ids in [0, ", c.vocabulary_size, ")"); },
                                             [&] { return detail::concat(id, " at [", i, ", ", j, "]"); });
                if (c.end_of_text_id >= 0) {
                    if (!found && id == c.end_of_text_id) best = j, found = true;
                } else if (id > static_cast<std::int64_t>(ids(i, best))) {
                    best = j;
                }
            }
            detail::require(c.end_of_text_id < 0 || found, "ids",
                            [&] { return detail::concat("an end-of-text id ", c.end_of_text_id, " in every row"); },
                            [&] { return detail::concat("row ", i, " without one"); });
            eot[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(best);
        }
        const index_t length = 1 + *std::max_element(eot.begin(), eot.end());

        std::vector<std::int32_t> flat(static_cast<std::size_t>(n * length));
        for (index_t i = 0; i < n; ++i)
            for (index_t j = 0; j < length; ++j) flat[static_cast<std::size_t>(i * length + j)] = static_cast<std::int32_t>(ids(i, j));
        detail::ensure_size(tokens_, n * length * width);
        const matrix_view<T> x(tokens_.data(), {n * length, width});
        be.gather_rows(w_.token_embedding.view(), vector_view<const std::int32_t>(flat.data(), {n * length}), x);
        const tensor_view<T, 3> x3(tokens_.data(), {n, length, width});
        const tensor_view<const T, 3> positions(w_.positions.data(), {n, length, width}, {0, width, 1});
        be.transform(tensor_view<const T, 3>(x3), positions, x3, plus{});
        for (const auto& block : w_.blocks) apply_block(be, block, c.tower, n, length, true, x, ws_);

        std::vector<std::int32_t> rows(static_cast<std::size_t>(n));
        for (index_t i = 0; i < n; ++i) rows[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(i * length) + eot[static_cast<std::size_t>(i)];
        detail::ensure_size(pooled_, 2 * n * width);
        const matrix_view<T> gathered(pooled_.data(), {n, width});
        const matrix_view<T> pooled(pooled_.data() + n * width, {n, width});
        be.gather_rows(matrix_view<const T>(x), vector_view<const std::int32_t>(rows.data(), {n}), gathered);
        be.layer_norm_rows(matrix_view<const T>(gathered), w_.ln_final.gamma.view(), w_.ln_final.beta.view(),
                           static_cast<T>(c.tower.layer_norm_eps), pooled);
        be.gemm(T(1), matrix_view<const T>(pooled), w_.projection.view(), T(0), embeddings);
        if (trace) {
            trace->tokens = tensor<T, 3>({n, length, width});
            be.copy(tensor_view<const T, 3>(x3), trace->tokens.view());
            trace->pooled = matrix<T>({n, width});
            be.copy(matrix_view<const T>(pooled), trace->pooled.view());
        }
    }

    /// Multiply-adds per sequence of `tokens` tokens.
    double macs_per_sequence(index_t tokens) const
    {
        const auto& c = w_.config;
        return static_cast<double>(c.tower.layers) * block_macs(c.tower, tokens) +
               static_cast<double>(c.tower.width) * static_cast<double>(c.output_dim);
    }

private:
    text_weights<T> w_;
    vector<T> tokens_, pooled_;
    block_workspace<T> ws_;
};

/// Both towers and the learned similarity scale, as one checkpoint holds them.
template <class T = float>
struct clip_model {
    std::optional<clip_vision_encoder<T>> vision;
    std::optional<clip_text_encoder<T>> text;
    T logit_scale = T(4.6051702);  ///< log(100), CLIP's trained value, when the file has none
    clip_naming naming = clip_naming::openai;

    static clip_model from_weights(clip_weights<T> w)
    {
        clip_model m;
        m.naming = w.naming;
        if (w.vision) m.vision.emplace(std::move(*w.vision));
        if (w.text) m.text.emplace(std::move(*w.text));
        if (w.logit_scale) m.logit_scale = *w.logit_scale;
        return m;
    }

    static clip_model load(const std::filesystem::path& path, const clip_overrides& overrides = {})
    {
        return from_weights(load_clip_weights<T>(path, overrides));
    }

    clip_vision_encoder<T>& vision_encoder()
    {
        if (!vision) throw argument_error("tailor: this CLIP checkpoint has no vision tower");
        return *vision;
    }
    clip_text_encoder<T>& text_encoder()
    {
        if (!text) throw argument_error("tailor: this CLIP checkpoint has no text tower");
        return *text;
    }
};

}  // namespace tailor::model
