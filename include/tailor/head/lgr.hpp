#pragma once
// VL-LTR's language-guided recognition (LGR) head: an image branch (MLP D -> H -> C with
// ReLU) and a text branch where each image attends over its class's anchor sentences.
//
//   q_b  = W_q LN_q(e_b)                 k_cm = W_k LN_k(v_cm)          (v_cm: raw sentences)
//   a_bc = softmax_m (q_b . k_cm / sqrt(D))  over the m_c sentences of class c
//   G_bc = sum_m a_bcm v_cm              x_txt[b, c] = exp(logit_scale) cos(e_b, G_bc)
//
// Neither K [C, M, D] nor G [B, C, D] is ever built (docs/lgr.md has the derivation):
// - q . W_k (gamma_k n + beta_k) = ((W_k^T q) * gamma_k) . n + const_c, and the constant
//   cancels inside the per-class softmax; n (the normalised sentences) is cached by the bank.
// - v = mu + r n (LayerNorm inverted), so e . v_cm = mu_cm sum(e) + r_cm (e . n_cm): the
//   scores and the projections e . v come from one GEMM [2B, D] x [D, C M] against n.
// - e . G_bc = sum_m a_bcm (e . v_cm) and ||G_bc||^2 = a_bc^T (V_c V_c^T) a_bc with the
//   per-class Gram matrices [C, M, M] cached by the bank.
#include <cmath>
#include <concepts>
#include <cstdint>
#include <limits>
#include <random>
#include <type_traits>
#include <utility>
#include <vector>

#include "tailor/core/concepts.hpp"
#include "tailor/core/error.hpp"
#include "tailor/core/functional.hpp"
#include "tailor/core/tensor.hpp"
#include "tailor/core/view.hpp"
#include "tailor/head/layer_norm.hpp"
#include "tailor/loss/driver.hpp"

namespace tailor::head {

/// The frozen anchor sentences of every class, in the form the LGR head reads them:
/// LayerNorm-normalised rows n [C*M, D] (padding rows zero), each row's mean and
/// r = sqrt(var + eps) so that v = mean + r n, and the per-class Gram matrices V_c V_c^T
/// [C, M, M] (zero outside the first m_c rows and columns). Depends only on the sentences
/// and LN_k's eps, never on trainable parameters: build it once per sentence set.
template <class T>
class lgr_anchor_bank {
public:
    lgr_anchor_bank() = default;

    /// sentences [C, M, D] (unit inner stride), counts [C] with 1 <= m_c <= M: class c's
    /// sentences are its first m_c rows; the remaining rows are ignored (their contents too).
    template <class Backend>
        requires backend<Backend, T>
    static lgr_anchor_bank from_padded(Backend& be, tensor_view<const T, 3> sentences,
                                       vector_view<const std::int32_t> counts, T eps = T(1e-5))
    {
        using tailor::detail::concat;
        const index_t classes = sentences.extent(0), slots = sentences.extent(1), dim = sentences.extent(2);
        tailor::detail::require<shape_error>(classes >= 1 && slots >= 1 && dim >= 1, "sentences",
                                             "extents [C, M, D] with C, M, D >= 1",
                                             tailor::detail::format_extents(sentences.extents()));
        tailor::detail::require_extents(counts, "counts", {classes});
        tailor::detail::require(std::isfinite(eps) && eps > T(0), "eps", "a finite value > 0", eps);
        for (index_t c = 0; c < classes; ++c)
            if (counts(c) < 1 || counts(c) > slots)
                tailor::detail::fail<index_error>("counts", concat("sentence counts in [1, ", slots, "]"),
                                                  concat(counts(c), " for class ", c));
        for (index_t c = 0; c < classes; ++c)
            for (index_t m = 0; m < counts(c); ++m)
                for (index_t j = 0; j < dim; ++j)
                    if (!std::isfinite(sentences(c, m, j)))
                        tailor::detail::fail("sentences", "finite values",
                                             concat("a non-finite value in sentence ", m, " of class ", c));

        lgr_anchor_bank bank;
        bank.classes_ = classes;
        bank.slots_ = slots;
        bank.dim_ = dim;
        bank.eps_ = eps;
        bank.counts_.assign(static_cast<std::size_t>(classes), 0);
        bank.normalised_ = tensor<T, 2>({classes * slots, dim});
        bank.means_ = tensor<T, 1>({classes * slots});
        bank.scales_ = tensor<T, 1>({classes * slots});
        bank.gram_ = tensor<T, 3>({classes, slots, slots});
        for (index_t c = 0; c < classes; ++c) {
            const index_t m_c = counts(c);
            bank.counts_[static_cast<std::size_t>(c)] = m_c;
            for (index_t m = 0; m < m_c; ++m) {
                double mean = 0, var = 0;
                for (index_t j = 0; j < dim; ++j) mean += sentences(c, m, j);
                mean /= double(dim);
                for (index_t j = 0; j < dim; ++j) {
                    const double d = double(sentences(c, m, j)) - mean;
                    var += d * d;
                }
                const double r = std::sqrt(var / double(dim) + double(eps));
                const index_t row = c * slots + m;
                bank.means_(row) = T(mean);
                bank.scales_(row) = T(r);
                for (index_t j = 0; j < dim; ++j) bank.normalised_(row, j) = T((double(sentences(c, m, j)) - mean) / r);
            }
            const matrix_view<const T> v = sentences[c].slice(0, 0, m_c);
            const matrix_view<T> gram = bank.gram_.view()[c].slice(0, 0, m_c).slice(1, 0, m_c);
            be.template gemm<T>(T(1), v, v.transposed(), T(0), gram);
        }
        return bank;
    }

    /// sentences [S, D] packed class after class, offsets [C + 1] (class c owns rows
    /// offsets[c] .. offsets[c+1]); slots M = the largest class unless given larger.
    template <class Backend>
        requires backend<Backend, T>
    static lgr_anchor_bank from_packed(Backend& be, matrix_view<const T> sentences,
                                       vector_view<const std::int64_t> offsets, index_t slots = 0, T eps = T(1e-5))
    {
        using tailor::detail::concat;
        tailor::detail::require<shape_error>(offsets.extent(0) >= 2, "offsets", "[C + 1] entries with C >= 1",
                                             offsets.extent(0));
        const index_t classes = offsets.extent(0) - 1;
        tailor::detail::require<index_error>(offsets(0) == 0 && offsets(classes) == sentences.rows(), "offsets",
                                             concat("offsets[0] == 0 and offsets[C] == ", sentences.rows()),
                                             concat(offsets(0), " and ", offsets(classes)));
        index_t largest = 0;
        for (index_t c = 0; c < classes; ++c) {
            const index_t m_c = offsets(c + 1) - offsets(c);
            tailor::detail::require<index_error>(m_c >= 1, "offsets", "at least one sentence per class",
                                                 concat(m_c, " for class ", c));
            largest = std::max(largest, m_c);
        }
        if (slots == 0) slots = largest;
        tailor::detail::require<index_error>(slots >= largest, "slots", concat(">= ", largest), slots);
        tensor<T, 3> padded({classes, slots, sentences.cols()});
        std::vector<std::int32_t> counts(static_cast<std::size_t>(classes));
        for (index_t c = 0; c < classes; ++c) {
            counts[static_cast<std::size_t>(c)] = static_cast<std::int32_t>(offsets(c + 1) - offsets(c));
            for (index_t m = 0; m < counts[static_cast<std::size_t>(c)]; ++m)
                for (index_t j = 0; j < sentences.cols(); ++j) padded(c, m, j) = sentences(offsets(c) + m, j);
        }
        return from_padded(be, tensor_view<const T, 3>(padded.view()),
                           vector_view<const std::int32_t>(counts.data(), {classes}), eps);
    }

    index_t classes() const noexcept { return classes_; }
    index_t slots() const noexcept { return slots_; }
    index_t dim() const noexcept { return dim_; }
    T eps() const noexcept { return eps_; }
    index_t count(index_t c) const noexcept { return counts_[static_cast<std::size_t>(c)]; }
    const index_t* counts() const noexcept { return counts_.data(); }
    /// [C * M, D]
    matrix_view<const T> normalised() const noexcept { return normalised_.view(); }
    /// [C * M]
    vector_view<const T> means() const noexcept { return means_.view(); }
    vector_view<const T> scales() const noexcept { return scales_.view(); }
    /// [C, M, M]
    tensor_view<const T, 3> gram() const noexcept { return gram_.view(); }

private:
    index_t classes_ = 0, slots_ = 0, dim_ = 0;
    T eps_ = T(1e-5);
    std::vector<index_t> counts_;
    tensor<T, 2> normalised_;
    tensor<T, 1> means_, scales_;
    tensor<T, 3> gram_;
};

/// Shapes and constants of an LGR head.
struct lgr_config {
    index_t dim = 512;        // D, the embedding width
    index_t classes = 1000;   // C
    index_t hidden = 0;       // H of the image MLP; 0 means 4 D
    double layer_norm_eps = 1e-5;
    double logit_scale = 4.605170185988091;  // log(100), CLIP's learned value
    double norm_eps = 1e-12;                 // cosine norms are clamped below at this (F.normalize)
};

/// Every trainable parameter of the head; the gradients use the same type.
template <class T>
struct lgr_parameters {
    matrix<T> query_weight;       // W_q [D, D]
    matrix<T> key_weight;         // W_k [D, D]
    vector<T> query_norm_weight;  // LN_q gamma [D]
    vector<T> query_norm_bias;    // LN_q beta [D]
    vector<T> key_norm_weight;    // LN_k gamma [D]
    vector<T> key_norm_bias;      // LN_k beta [D]; its gradient is exactly zero (see docs/lgr.md)
    matrix<T> hidden_weight;      // [H, D]
    vector<T> hidden_bias;        // [H]
    matrix<T> output_weight;      // [C, H]
    vector<T> output_bias;        // [C]
    T logit_scale = T(0);         // the text logits are scaled by exp(logit_scale)

    lgr_parameters() = default;
    lgr_parameters(index_t dim, index_t hidden, index_t classes)
        : query_weight({dim, dim}), key_weight({dim, dim}), query_norm_weight({dim}), query_norm_bias({dim}),
          key_norm_weight({dim}), key_norm_bias({dim}), hidden_weight({hidden, dim}), hidden_bias({hidden}),
          output_weight({classes, hidden}), output_bias({classes})
    {
    }

    /// Calls f(name, view) for every tensor parameter (not logit_scale).
    template <class F>
    void for_each(F&& f)
    {
        f("query_weight", query_weight.view().template reshaped<1>({query_weight.size()}));
        f("key_weight", key_weight.view().template reshaped<1>({key_weight.size()}));
        f("query_norm_weight", query_norm_weight.view());
        f("query_norm_bias", query_norm_bias.view());
        f("key_norm_weight", key_norm_weight.view());
        f("key_norm_bias", key_norm_bias.view());
        f("hidden_weight", hidden_weight.view().template reshaped<1>({hidden_weight.size()}));
        f("hidden_bias", hidden_bias.view());
        f("output_weight", output_weight.view().template reshaped<1>({output_weight.size()}));
        f("output_bias", output_bias.view());
    }
};

/// What a forward pass keeps for its backward pass, and the two branches' logits. Sized by
/// the head on first use and reused while the batch size stays the same.
template <class T>
struct lgr_activations {
    index_t batch = -1;
    matrix<T> image_logits;  // [B, C]
    matrix<T> text_logits;   // [B, C]

    // Query side.
    matrix<T> query_normalised;  // n_q [B, D]
    vector<T> query_rstd;        // [B]
    matrix<T> query_input;       // LN_q(e) [B, D]
    matrix<T> queries;           // q [B, D]
    matrix<T> folded_queries;    // u = W_k^T q [B, D]
    matrix<T> stacked;           // [u * gamma_k / sqrt(D); e] [2B, D], then its gradient
    // Attention over the classes' sentences, all [B, C*M] or [2B, C*M].
    matrix<T> scores;       // top: scores then their gradient; bottom: e . v then r * its gradient
    matrix<T> attention;    // a
    matrix<T> gram_times_attention;  // (V_c V_c^T) a_bc
    // Cosine pieces.
    matrix<T> dots;         // e . G [B, C]
    matrix<T> gram_norms;   // ||G|| [B, C]
    vector<T> image_norms;  // ||e|| [B]
    matrix<T> cosines;      // [B, C]
    // Image branch.
    matrix<T> hidden;  // relu(e W1^T + b1) [B, H]
    // Backward scratch.
    matrix<T> d_hidden, d_folded, d_queries, d_query_input;
    vector<T> row_scratch;
    // Gradients of the last loss_and_gradients with respect to the logits.
    matrix<T> d_image_logits, d_text_logits;
};

/// The three values of the LGR training loss.
template <class T>
struct lgr_loss_value {
    T total;  // image + text
    T image;
    T text;
};

namespace detail {

/// Per image: masked softmax of the scores over each class's sentences (padding set to
/// -inf first, so the backend's exp gives exactly 0 there), the projections e . v rebuilt
/// from e . n, dot_bc = sum_m a_bcm (e . v_cm), Y_bc = Gram_c a_bc, ||G_bc||^2 = a . Y,
/// and the text logits.
template <class T>
struct attend_row {
    matrix_view<T> scores;  // [2B, C*M]
    matrix_view<T> attention;
    matrix_view<const T> images;
    matrix_view<T> dots;
    matrix_view<T> gram_times_attention;
    const T* gram;  // [C, M, M], symmetric
    matrix_view<T> gram_norms;
    vector_view<T> image_norms;
    matrix_view<T> cosines;
    matrix_view<T> text_logits;
    const index_t* counts;
    const T* means;
    const T* scales;
    index_t batch, classes, slots;
    T scale, norm_eps;

    template <class Row, class Kernels>
    T operator()(index_t b, const Row&, const Kernels& k) const
    {
        const T e_norm = std::sqrt(k.dot(images.row(b), images.row(b)));
        image_norms(b) = e_norm;
        const T e_eff = std::max(e_norm, norm_eps);
        const matrix_view<T> y(gram_times_attention.row(b).data(), {classes, slots});
        double image_sum = 0;
        for (index_t j = 0; j < images.cols(); ++j) image_sum += images(b, j);
        const T sum_e = T(image_sum);
        const matrix_view<T> s(scores.row(b).data(), {classes, slots});
        const matrix_view<T> p(scores.row(batch + b).data(), {classes, slots});
        const matrix_view<T> a(attention.row(b).data(), {classes, slots});
        constexpr T minus_inf = -std::numeric_limits<T>::infinity();
        for (index_t c = 0; c < classes; ++c) {
            T* sc = s.row(c).data();
            T* ac = a.row(c).data();
            T* pc = p.row(c).data();
            const T* mu = means + c * slots;
            const T* r = scales + c * slots;
            for (index_t m = counts[c]; m < slots; ++m) sc[m] = minus_inf;
            const vector_view<const T> srow = s.row(c);
            const auto [low, top] = std::pair<T, T>(k.min_max(srow));
            const T inv = T(1) / k.exp_shifted(srow, top, T(1), a.row(c), low);
            for (index_t m = 0; m < slots; ++m) ac[m] *= inv;
            for (index_t m = 0; m < slots; ++m) pc[m] = mu[m] * sum_e + r[m] * pc[m];
            const T dot = k.dot(vector_view<const T>(a.row(c)), vector_view<const T>(p.row(c)));
            dots(b, c) = dot;
            // Y = Gram_c a as a sum of Gram rows (contiguous, vectorised); padding has a = 0.
            T* yc = y.row(c).data();
            for (index_t m = 0; m < slots; ++m) yc[m] = T(0);
            const T* gram_c = gram + c * slots * slots;
            for (index_t q = 0; q < counts[c]; ++q) {
                const T aq = ac[q];
                const T* gq = gram_c + q * slots;
                for (index_t m = 0; m < slots; ++m) yc[m] += aq * gq[m];
            }
            const T g_norm = std::sqrt(std::max(k.dot(vector_view<const T>(a.row(c)), vector_view<const T>(y.row(c))), T(0)));
            gram_norms(b, c) = g_norm;
            const T cosine = dot / (e_eff * std::max(g_norm, norm_eps));
            cosines(b, c) = cosine;
            text_logits(b, c) = scale * cosine;
        }
        return T(0);
    }
};

/// Per image, the text branch backward down to the scores and projections: writes
/// d(scores) over the top half of `scores` and r * d(e . v) over the bottom half, adds the
/// mean and norm terms to d_images, and returns sum_c d(x_txt) cos (for logit_scale).
template <class T>
struct text_backward_row {
    matrix_view<T> scores;
    matrix_view<const T> attention;
    matrix_view<const T> gram_times_attention;
    matrix_view<const T> images;
    matrix_view<const T> d_text_logits;
    matrix_view<const T> dots;
    matrix_view<const T> gram_norms;
    vector_view<const T> image_norms;
    matrix_view<const T> cosines;
    matrix_view<T> d_images;  // may be empty
    const T* means;
    const T* scales;
    index_t batch, classes, slots;
    T scale, norm_eps;

    template <class Row, class Kernels>
    T operator()(index_t b, const Row&, const Kernels&) const
    {
        const matrix_view<T> ds(scores.row(b).data(), {classes, slots});
        const matrix_view<T> dp(scores.row(batch + b).data(), {classes, slots});
        const matrix_view<const T> a(attention.row(b).data(), {classes, slots});
        const matrix_view<const T> y(gram_times_attention.row(b).data(), {classes, slots});
        const T e_norm = image_norms(b);
        const bool e_clamped = !(e_norm > norm_eps);
        const T e_eff = e_clamped ? norm_eps : e_norm;
        double d_scale = 0, d_sum = 0, d_e_norm = 0;
        for (index_t c = 0; c < classes; ++c) {
            const T cosine = cosines(b, c);
            const T d_logit = d_text_logits(b, c);
            d_scale += double(d_logit) * cosine;
            const T d_cos = d_logit * scale;
            const T g_norm = gram_norms(b, c);
            const bool g_clamped = !(g_norm > norm_eps);
            const T g_eff = g_clamped ? norm_eps : g_norm;
            const T d_dot = d_cos / (e_eff * g_eff);
            // ||G||^2 = a^T Gram a; d/da = 2 Gram a.
            const T two_d_g2 = g_clamped ? T(0) : -d_cos * cosine / (g_norm * g_norm);
            if (!e_clamped) d_e_norm -= double(d_cos) * cosine / e_norm;
            const T* ac = a.row(c).data();
            const T* yc = y.row(c).data();
            T* sc = ds.row(c).data();
            T* pc = dp.row(c).data();
            const T* mu = means + c * slots;
            const T* r = scales + c * slots;
            T weighted = T(0);
            for (index_t m = 0; m < slots; ++m) {
                const T d_a = d_dot * pc[m] + two_d_g2 * yc[m];
                sc[m] = d_a;
                weighted += ac[m] * d_a;
            }
            T mean_part = T(0);
            for (index_t m = 0; m < slots; ++m) {
                sc[m] = ac[m] * (sc[m] - weighted);
                const T d_projection = d_dot * ac[m];
                mean_part += d_projection * mu[m];
                pc[m] = d_projection * r[m];
            }
            d_sum += mean_part;
        }
        if (!d_images.empty()) {
            const T norm_factor = e_clamped ? T(0) : T(d_e_norm / e_norm);
            for (index_t j = 0; j < images.cols(); ++j)
                d_images(b, j) += T(d_sum) + norm_factor * images(b, j);
        }
        return T(d_scale);
    }
};

template <class T>
void resize(matrix<T>& m, index_t rows, index_t cols)
{
    if (m.extent(0) != rows || m.extent(1) != cols) m = matrix<T>({rows, cols});
}

template <class T>
void resize(vector<T>& v, index_t n)
{
    if (v.extent(0) != n) v = vector<T>({n});
}

template <class T>
matrix_view<const T> cview(const matrix<T>& m)
{
    return m.view();
}

}  // namespace detail

/// The LGR head: parameters, their gradients, forward, backward, the training loss.
template <class T>
class lgr_head {
public:
    /// W_q, W_k = I; LayerNorms gamma = 1, beta = 0; MLP weights and biases uniform in
    /// +-1/sqrt(fan_in) (PyTorch's nn.Linear default), drawn from `engine`.
    template <class Engine>
        requires random_engine<Engine>
    lgr_head(const lgr_config& config, Engine&& engine) : config_(checked(config))
    {
        const index_t d = config_.dim, h = config_.hidden, c = config_.classes;
        params = lgr_parameters<T>(d, h, c);
        grads = lgr_parameters<T>(d, h, c);
        for (index_t i = 0; i < d; ++i) {
            params.query_weight(i, i) = T(1);
            params.key_weight(i, i) = T(1);
            params.query_norm_weight(i) = T(1);
            params.key_norm_weight(i) = T(1);
        }
        auto uniform = [&](auto& t, index_t fan_in) {
            const double bound = 1.0 / std::sqrt(double(fan_in));
            std::uniform_real_distribution<double> dist(-bound, bound);
            for (auto& x : t) x = T(dist(engine));
        };
        uniform(params.hidden_weight, d);
        uniform(params.hidden_bias, d);
        uniform(params.output_weight, h);
        uniform(params.output_bias, h);
        params.logit_scale = T(config_.logit_scale);
    }

    const lgr_config& config() const noexcept { return config_; }
    index_t dim() const noexcept { return config_.dim; }
    index_t classes() const noexcept { return config_.classes; }
    index_t hidden() const noexcept { return config_.hidden; }

    /// images [B, D] (any strides with a unit inner stride). Fills act.image_logits and
    /// act.text_logits [B, C] and what backward needs.
    template <class Backend>
        requires backend<Backend, T>
    void forward(Backend& be, const lgr_anchor_bank<T>& bank, matrix_view<const T> images,
                 lgr_activations<T>& act) const
    {
        check_inputs(bank, images);
        const index_t b = images.rows(), d = dim(), c = classes(), m = bank.slots(), cm = c * m;
        allocate(act, b, cm);
        if (b == 0) return;

        // Query side: u = W_k^T W_q LN_q(e), folded with gamma_k and 1/sqrt(D) into the
        // top half of the stacked left operand; e is its bottom half.
        layer_norm_statistics<T>(be, images, T(config_.layer_norm_eps), act.query_normalised.view(),
                                 act.query_rstd.view());
        for (index_t i = 0; i < b; ++i)
            for (index_t j = 0; j < d; ++j)
                act.query_input(i, j) = params.query_norm_weight(j) * act.query_normalised(i, j) + params.query_norm_bias(j);
        be.template gemm<T>(T(1), detail::cview(act.query_input), detail::cview(params.query_weight).transposed(), T(0),
                            act.queries.view());
        be.template gemm<T>(T(1), detail::cview(act.queries), detail::cview(params.key_weight), T(0),
                            act.folded_queries.view());
        const T inv_sqrt_d = T(1) / std::sqrt(T(d));
        for (index_t i = 0; i < b; ++i) {
            for (index_t j = 0; j < d; ++j)
                act.stacked(i, j) = act.folded_queries(i, j) * params.key_norm_weight(j) * inv_sqrt_d;
            for (index_t j = 0; j < d; ++j) act.stacked(b + i, j) = images(i, j);
        }

        // One GEMM against the normalised sentences: scores (top) and e . n (bottom).
        be.template gemm<T>(T(1), detail::cview(act.stacked), bank.normalised().transposed(), T(0), act.scores.view());
        // Per image: masked softmax, e . G, (V_c V_c^T) a and the cosines, in one row pass.
        be.template map_rows<T>(detail::cview(act.scores).slice(0, 0, b), act.row_scratch.view(),
                                detail::attend_row<T>{act.scores.view(), act.attention.view(), images,
                                                      act.dots.view(), act.gram_times_attention.view(),
                                                      bank.gram().data(), act.gram_norms.view(),
                                                      act.image_norms.view(), act.cosines.view(),
                                                      act.text_logits.view(), bank.counts(), bank.means().data(),
                                                      bank.scales().data(), b, c, m, text_scale(),
                                                      T(config_.norm_eps)});

        // Image branch.
        be.template gemm<T>(T(1), images, detail::cview(params.hidden_weight).transposed(), T(0), act.hidden.view(),
                            bias_relu_epilogue<T>{params.hidden_bias.data()});
        be.template gemm<T>(T(1), detail::cview(act.hidden), detail::cview(params.output_weight).transposed(), T(0),
                            act.image_logits.view(), bias_epilogue<T>{params.output_bias.data()});
    }

    /// Gradients of a scalar loss given its gradients with respect to both branches'
    /// logits [B, C]: overwrites `grads` (every parameter, logit_scale included) and, when
    /// d_images is not empty, writes d(loss)/d(images) [B, D]. `act` must come from
    /// forward on the same bank and images; its buffers are reused as scratch, so call
    /// backward once per forward.
    template <class Backend>
        requires backend<Backend, T>
    void backward(Backend& be, const lgr_anchor_bank<T>& bank, matrix_view<const T> images, lgr_activations<T>& act,
                  matrix_view<const T> d_image_logits, matrix_view<const T> d_text_logits,
                  matrix_view<T> d_images = {})
    {
        check_inputs(bank, images);
        const index_t b = images.rows(), d = dim(), c = classes(), m = bank.slots(), h = hidden();
        tailor::detail::require(act.batch == b, "act", concat_batch(b), act.batch);
        tailor::detail::require_extents(d_image_logits, "d_image_logits", {b, c});
        tailor::detail::require_extents(d_text_logits, "d_text_logits", {b, c});
        if (!d_images.empty()) tailor::detail::require_extents(d_images, "d_images", {b, d});
        zero(grads);
        if (b == 0) return;

        // Image branch; it also initialises d_images.
        be.template gemm<T>(T(1), d_image_logits.transposed(), detail::cview(act.hidden), T(0),
                            grads.output_weight.view());
        column_sums(d_image_logits, grads.output_bias.view());
        be.template gemm<T>(T(1), d_image_logits, detail::cview(params.output_weight), T(0), act.d_hidden.view());
        for (index_t i = 0; i < b; ++i)
            for (index_t j = 0; j < h; ++j)
                if (!(act.hidden(i, j) > T(0))) act.d_hidden(i, j) = T(0);
        be.template gemm<T>(T(1), detail::cview(act.d_hidden).transposed(), images, T(0), grads.hidden_weight.view());
        column_sums(detail::cview(act.d_hidden), grads.hidden_bias.view());
        if (!d_images.empty())
            be.template gemm<T>(T(1), detail::cview(act.d_hidden), detail::cview(params.hidden_weight), T(0), d_images);

        // Text branch down to the scores and projections.
        be.template map_rows<T>(d_text_logits, act.row_scratch.view(),
                                detail::text_backward_row<T>{act.scores.view(), detail::cview(act.attention),
                                                             detail::cview(act.gram_times_attention), images,
                                                             d_text_logits, detail::cview(act.dots),
                                                             detail::cview(act.gram_norms), act.image_norms.view(),
                                                             detail::cview(act.cosines), d_images,
                                                             bank.means().data(), bank.scales().data(), b, c, m,
                                                             text_scale(), T(config_.norm_eps)});
        double d_scale = 0;
        for (index_t i = 0; i < b; ++i) d_scale += act.row_scratch(i);
        grads.logit_scale = T(d_scale * double(text_scale()));

        // One GEMM back through the normalised sentences: d(stacked) [2B, D].
        be.template gemm<T>(T(1), detail::cview(act.scores), bank.normalised(), T(0), act.stacked.view());
        const T inv_sqrt_d = T(1) / std::sqrt(T(d));
        for (index_t i = 0; i < b; ++i)
            for (index_t j = 0; j < d; ++j) {
                const T g = act.stacked(i, j) * inv_sqrt_d;
                grads.key_norm_weight(j) += g * act.folded_queries(i, j);
                act.d_folded(i, j) = g * params.key_norm_weight(j);
            }
        if (!d_images.empty())
            for (index_t i = 0; i < b; ++i)
                for (index_t j = 0; j < d; ++j) d_images(i, j) += act.stacked(b + i, j);

        // u = q W_k, q = LN_q(e) W_q^T.
        be.template gemm<T>(T(1), detail::cview(act.queries).transposed(), detail::cview(act.d_folded), T(0),
                            grads.key_weight.view());
        be.template gemm<T>(T(1), detail::cview(act.d_folded), detail::cview(params.key_weight).transposed(), T(0),
                            act.d_queries.view());
        be.template gemm<T>(T(1), detail::cview(act.d_queries).transposed(), detail::cview(act.query_input), T(0),
                            grads.query_weight.view());
        be.template gemm<T>(T(1), detail::cview(act.d_queries), detail::cview(params.query_weight), T(0),
                            act.d_query_input.view());
        if (d_images.empty()) {
            // Still need the LayerNorm parameter gradients.
            for (index_t i = 0; i < b; ++i)
                for (index_t j = 0; j < d; ++j) {
                    grads.query_norm_weight(j) += act.d_query_input(i, j) * act.query_normalised(i, j);
                    grads.query_norm_bias(j) += act.d_query_input(i, j);
                }
        } else {
            layer_norm_backward<T>(be, detail::cview(act.d_query_input), detail::cview(act.query_normalised),
                                   act.query_rstd.view(), params.query_norm_weight.view(), d_images,
                                   grads.query_norm_weight.view(), grads.query_norm_bias.view(), true);
        }
    }

    /// The training loss loss(x_img) + loss(x_txt) for any tailor loss policy (CE by
    /// default) and any tailor target form; runs forward and backward, leaving the logits
    /// in `act`, the gradients in `grads` and d(loss)/d(images) in d_images (if given).
    template <class Backend, loss::loss_policy Loss, class Targets>
        requires backend<Backend, T>
    lgr_loss_value<T> loss_and_gradients(Backend& be, const lgr_anchor_bank<T>& bank, matrix_view<const T> images,
                                         const Loss& loss, const Targets& targets, lgr_activations<T>& act,
                                         matrix_view<T> d_images = {},
                                         const loss::loss_options<T, host_space>& options = {})
    {
        forward(be, bank, images, act);
        const index_t b = images.rows(), c = classes();
        detail::resize(act.d_image_logits, b, c);
        detail::resize(act.d_text_logits, b, c);
        const T image_loss = loss::value_and_gradient<T, host_space>(be, loss, detail::cview(act.image_logits), targets,
                                                                     act.d_image_logits.view(), options);
        const T text_loss = loss::value_and_gradient<T, host_space>(be, loss, detail::cview(act.text_logits), targets,
                                                                    act.d_text_logits.view(), options);
        backward(be, bank, images, act, detail::cview(act.d_image_logits), detail::cview(act.d_text_logits), d_images);
        return {image_loss + text_loss, image_loss, text_loss};
    }

    /// exp(logit_scale), the text logits' multiplier (1 / tau).
    T text_scale() const { return std::exp(params.logit_scale); }

    lgr_parameters<T> params;
    lgr_parameters<T> grads;

private:
    static lgr_config checked(lgr_config config)
    {
        tailor::detail::require(config.dim >= 1, "config.dim", ">= 1", config.dim);
        tailor::detail::require(config.classes >= 1, "config.classes", ">= 1", config.classes);
        if (config.hidden == 0) config.hidden = 4 * config.dim;
        tailor::detail::require(config.hidden >= 1, "config.hidden", ">= 1 (or 0 for 4 D)", config.hidden);
        tailor::detail::require(std::isfinite(config.layer_norm_eps) && config.layer_norm_eps > 0,
                                "config.layer_norm_eps", "a finite value > 0", config.layer_norm_eps);
        tailor::detail::require(std::isfinite(config.logit_scale), "config.logit_scale", "a finite value",
                                config.logit_scale);
        tailor::detail::require(std::isfinite(config.norm_eps) && config.norm_eps > 0, "config.norm_eps",
                                "a finite value > 0", config.norm_eps);
        return config;
    }

    static std::string concat_batch(index_t b) { return tailor::detail::concat("activations of a forward pass on ", b, " images"); }

    void check_inputs(const lgr_anchor_bank<T>& bank, matrix_view<const T> images) const
    {
        tailor::detail::require<shape_error>(bank.classes() == classes() && bank.dim() == dim(), "bank",
                                             tailor::detail::concat("an anchor bank of ", classes(), " classes of width ", dim()),
                                             tailor::detail::concat(bank.classes(), " classes of width ", bank.dim()));
        tailor::detail::require_extents(images, "images", {-1, dim()});
        tailor::detail::require_unit_inner_stride(images, "images");
        for (index_t i = 0; i < images.rows(); ++i)
            for (index_t j = 0; j < images.cols(); ++j)
                if (!std::isfinite(images(i, j)))
                    tailor::detail::fail("images", "finite values", tailor::detail::concat("a non-finite value in row ", i));
    }

    void allocate(lgr_activations<T>& act, index_t b, index_t cm) const
    {
        const index_t d = dim(), c = classes(), h = hidden();
        act.batch = b;
        detail::resize(act.image_logits, b, c);
        detail::resize(act.text_logits, b, c);
        detail::resize(act.query_normalised, b, d);
        detail::resize(act.query_rstd, b);
        detail::resize(act.query_input, b, d);
        detail::resize(act.queries, b, d);
        detail::resize(act.folded_queries, b, d);
        detail::resize(act.stacked, 2 * b, d);
        detail::resize(act.scores, 2 * b, cm);
        detail::resize(act.attention, b, cm);
        detail::resize(act.gram_times_attention, b, cm);
        detail::resize(act.dots, b, c);
        detail::resize(act.gram_norms, b, c);
        detail::resize(act.image_norms, b);
        detail::resize(act.cosines, b, c);
        detail::resize(act.hidden, b, h);
        detail::resize(act.d_hidden, b, h);
        detail::resize(act.d_folded, b, d);
        detail::resize(act.d_queries, b, d);
        detail::resize(act.d_query_input, b, d);
        detail::resize(act.row_scratch, b);
    }

    static void zero(lgr_parameters<T>& p)
    {
        p.for_each([](const char*, vector_view<T> v) {
            for (index_t i = 0; i < v.extent(0); ++i) v(i) = T(0);
        });
        p.logit_scale = T(0);
    }

    static void column_sums(matrix_view<const T> x, vector_view<T> out)
    {
        for (index_t j = 0; j < x.cols(); ++j) out(j) = T(0);
        for (index_t i = 0; i < x.rows(); ++i)
            for (index_t j = 0; j < x.cols(); ++j) out(j) += x(i, j);
    }

    lgr_config config_;
};

/// Inference fusion: out = alpha softmax(x_img) + (1 - alpha) softmax(x_txt), alpha in [0, 1]
/// (the paper: 0.2 for ImageNet-LT and Places-LT, 0.7 for iNaturalist).
template <class T, class Backend>
    requires backend<Backend, T>
void fuse_probabilities(Backend& be, matrix_view<const T> image_logits, matrix_view<const T> text_logits, T alpha,
                        matrix_view<T> out)
{
    tailor::detail::require(std::isfinite(alpha) && alpha >= T(0) && alpha <= T(1), "alpha", "a value in [0, 1]", alpha);
    tailor::detail::require_extents(text_logits, "text_logits", image_logits.extents());
    tailor::detail::require_extents(out, "out", image_logits.extents());
    matrix<T> text_probabilities(image_logits.extents());
    be.template softmax_rows<T>(image_logits, out);
    be.template softmax_rows<T>(text_logits, text_probabilities.view());
    be.template transform(matrix_view<const T>(out), detail::cview(text_probabilities), out,
                          [alpha](T p, T q) { return alpha * p + (T(1) - alpha) * q; });
}

/// The released code's shot-group variant: out = x_img + x_txt.
template <class T, class Backend>
    requires backend<Backend, T>
void fuse_logits(Backend& be, matrix_view<const T> image_logits, matrix_view<const T> text_logits, matrix_view<T> out)
{
    tailor::detail::require_extents(text_logits, "text_logits", image_logits.extents());
    tailor::detail::require_extents(out, "out", image_logits.extents());
    be.template transform(image_logits, text_logits, out, plus{});
}

}  // namespace tailor::head
