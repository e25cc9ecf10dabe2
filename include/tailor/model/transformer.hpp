#pragma once
// The pre-LN residual block both CLIP towers stack, written once over the backend op set:
//   x += out(attention(ln_1(x)));  x += proj(act(fc(ln_2(x))))
// Biases, the activation and the residual adds ride in GEMM epilogues and beta = 1, so the
// only passes over memory besides the GEMMs are the two LayerNorms, the softmax and the
// two head permutes that give the batched attention GEMMs unit-stride operands.
#include <cmath>
#include <limits>

#include "tailor/core/concepts.hpp"
#include "tailor/core/tensor.hpp"
#include "tailor/model/clip_config.hpp"
#include "tailor/model/clip_weights.hpp"

namespace tailor::model {

/// Causal attention: a query never sees later keys.
struct causal_mask_epilogue {
    template <class T>
    TAILOR_HOST_DEVICE T operator()(index_t row, index_t col, T value) const noexcept
    {
        return col > row ? -std::numeric_limits<T>::infinity() : value;
    }
};

namespace detail {

/// Reallocates `v` only when a call needs more than it holds, so repeated calls of one
/// size reuse their buffers.
template <class T>
void ensure_size(vector<T>& v, index_t n)
{
    if (v.size() < n) v = vector<T>({n});
}

}  // namespace detail

/// Scratch buffers for one tower, sized for a batch of `sequences` x `tokens` and reused
/// across blocks (and across calls of the same size).
template <class T>
class block_workspace {
public:
    void reserve(index_t sequences, index_t tokens, const transformer_config& c)
    {
        const index_t rows = sequences * tokens;
        detail::ensure_size(normed_, rows * c.width);
        detail::ensure_size(packed_, rows * 3 * c.width);
        detail::ensure_size(heads_, rows * 3 * c.width);
        detail::ensure_size(scores_, sequences * c.heads * tokens * tokens);
        detail::ensure_size(attended_, rows * c.width);
        detail::ensure_size(hidden_, rows * c.mlp_width);
    }

    T* normed() { return normed_.data(); }
    T* packed() { return packed_.data(); }
    T* heads() { return heads_.data(); }
    T* scores() { return scores_.data(); }
    T* attended() { return attended_.data(); }
    T* hidden() { return hidden_.data(); }

private:
    vector<T> normed_, packed_, heads_, scores_, attended_, hidden_;
};

/// One residual block applied in place to `x` = [sequences * tokens, width] (sequence-major).
template <class B, class T>
void apply_block(B& be, const block_weights<T>& w, const transformer_config& c, index_t sequences, index_t tokens,
                 bool causal, matrix_view<T> x, block_workspace<T>& ws)
{
    const index_t rows = sequences * tokens, width = c.width, heads = c.heads, dh = c.head_width();
    const T eps = static_cast<T>(c.layer_norm_eps);
    ws.reserve(sequences, tokens, c);
    const matrix_view<T> normed(ws.normed(), {rows, width});
    const matrix_view<T> packed(ws.packed(), {rows, 3 * width});

    be.layer_norm_rows(matrix_view<const T>(x), w.ln_1.gamma.view(), w.ln_1.beta.view(), eps, normed);
    be.gemm(T(1), matrix_view<const T>(normed), w.qkv.weight.view().transposed(), T(0), packed,
            bias_epilogue<T>{w.qkv.bias.data()});

    // [sequence, token, {q,k,v}, head, d] -> [{q,k,v}, sequence, head, token, d]: each head's
    // q, k and v become contiguous [tokens, d] blocks, one batched GEMM over sequence x head.
    const tensor_view<const T, 5> by_token(ws.packed(), {3, sequences, heads, tokens, dh},
                                           {width, tokens * 3 * width, dh, 3 * width, 1});
    const tensor_view<T, 5> by_head(ws.heads(), {3, sequences, heads, tokens, dh});
    be.copy(by_token, by_head);
    const index_t batch = sequences * heads, block = batch * tokens * dh;
    const tensor_view<const T, 3> q(ws.heads(), {batch, tokens, dh});
    const tensor_view<const T, 3> k(ws.heads() + block, {batch, tokens, dh});
    const tensor_view<const T, 3> v(ws.heads() + 2 * block, {batch, tokens, dh});
    const tensor_view<T, 3> scores(ws.scores(), {batch, tokens, tokens});
    const T scale = T(1) / std::sqrt(static_cast<T>(dh));
    if (causal)
        be.gemm_batched(scale, q, k.swapped(1, 2), T(0), scores, causal_mask_epilogue{});
    else
        be.gemm_batched(scale, q, k.swapped(1, 2), T(0), scores);
    const matrix_view<T> score_rows(ws.scores(), {batch * tokens, tokens});
    be.softmax_rows(matrix_view<const T>(score_rows), score_rows);
    const tensor_view<T, 3> attended(ws.attended(), {batch, tokens, dh});
    be.gemm_batched(T(1), tensor_view<const T, 3>(scores), v, T(0), attended);

    // Back to [sequence, token, head, d] rows for the output projection.
    const tensor_view<const T, 4> head_major(ws.attended(), {sequences, heads, tokens, dh});
    const tensor_view<T, 4> token_major(ws.normed(), {sequences, heads, tokens, dh},
                                        {tokens * width, dh, width, 1});
    be.copy(head_major, token_major);
    be.gemm(T(1), matrix_view<const T>(normed), w.out.weight.view().transposed(), T(1), x,
            bias_epilogue<T>{w.out.bias.data()});

    be.layer_norm_rows(matrix_view<const T>(x), w.ln_2.gamma.view(), w.ln_2.beta.view(), eps, normed);
    const matrix_view<T> hidden(ws.hidden(), {rows, c.mlp_width});
    if (c.act == activation::gelu)
        be.gemm(T(1), matrix_view<const T>(normed), w.fc.weight.view().transposed(), T(0), hidden,
                bias_activation_epilogue<T, gelu_op>{w.fc.bias.data()});
    else
        be.gemm(T(1), matrix_view<const T>(normed), w.fc.weight.view().transposed(), T(0), hidden,
                bias_activation_epilogue<T, quick_gelu_op>{w.fc.bias.data()});
    be.gemm(T(1), matrix_view<const T>(hidden), w.proj.weight.view().transposed(), T(1), x,
            bias_epilogue<T>{w.proj.bias.data()});
}

/// Multiply-adds of one block over `tokens` tokens (for GFLOP/s reports: FLOPs = 2 x MACs).
inline double block_macs(const transformer_config& c, index_t tokens)
{
    const double t = static_cast<double>(tokens), w = static_cast<double>(c.width);
    return t * w * (3 * w + w + 2 * static_cast<double>(c.mlp_width)) + 2 * t * t * w;
}

}  // namespace tailor::model
