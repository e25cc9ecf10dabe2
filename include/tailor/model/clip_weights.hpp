#pragma once
// CLIP weights in tailor's own layout, and the maps from the two naming schemes checkpoints
// use: OpenAI / open_clip (`visual.transformer.resblocks.0.attn.in_proj_weight`, ...) and
// Hugging Face `CLIPModel` (`vision_model.encoder.layers.0.self_attn.q_proj.weight`, ...).
//
// tailor's layout: linear maps keep PyTorch's [out, in] weight (the GEMM reads it
// transposed for free); q, k and v are one packed [3W, W] map so a block does one GEMM for
// all three (Hugging Face's separate maps are stacked on load); the patch embedding is the
// convolution flattened to [W, 3 P P]; both output projections are [W, D] (OpenAI's
// orientation; Hugging Face's [D, W] Linear weights are transposed on load).
//
// Loading checks everything at once and reports every missing, extra or mis-shaped tensor
// by name in one error.
#include <algorithm>
#include <cmath>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "tailor/core/tensor.hpp"
#include "tailor/io/safetensors.hpp"
#include "tailor/model/clip_config.hpp"

namespace tailor::model {

/// Which naming scheme a checkpoint uses.
enum class clip_naming { openai, hugging_face };

template <class T>
struct layer_norm_weights {
    vector<T> gamma;
    vector<T> beta;
};

template <class T>
struct linear_weights {
    matrix<T> weight;  ///< [out, in]
    vector<T> bias;    ///< [out]
};

template <class T>
struct block_weights {
    layer_norm_weights<T> ln_1;
    linear_weights<T> qkv;  ///< [3W, W], rows q then k then v
    linear_weights<T> out;  ///< [W, W]
    layer_norm_weights<T> ln_2;
    linear_weights<T> fc;    ///< [M, W]
    linear_weights<T> proj;  ///< [W, M]
};

template <class T>
struct vision_weights {
    vision_config config;
    matrix<T> patch_embedding;  ///< [W, 3 P P], the convolution flattened (channel, row, column)
    vector<T> class_embedding;  ///< [W]
    matrix<T> positions;        ///< [tokens, W]
    layer_norm_weights<T> ln_pre;
    std::vector<block_weights<T>> blocks;
    layer_norm_weights<T> ln_post;
    matrix<T> projection;  ///< [W, D]
};

template <class T>
struct text_weights {
    text_config config;
    matrix<T> token_embedding;  ///< [vocabulary, W]
    matrix<T> positions;        ///< [context, W]
    std::vector<block_weights<T>> blocks;
    layer_norm_weights<T> ln_final;
    matrix<T> projection;  ///< [W, D]
};

/// A whole checkpoint: either tower may be absent (vision-only or text-only files).
template <class T>
struct clip_weights {
    clip_naming naming = clip_naming::openai;
    std::optional<vision_weights<T>> vision;
    std::optional<text_weights<T>> text;
    std::optional<T> logit_scale;  ///< log of the similarity scale, when the file has it
};

namespace detail {

using ::tailor::detail::concat;

/// The names one scheme uses for each tailor parameter.
struct naming_scheme {
    clip_naming kind;
    // Vision tower.
    std::string vision_prefix, patch, class_embedding, vision_positions, ln_pre, ln_post, vision_blocks;
    std::string vision_projection;
    // Text tower.
    std::string text_prefix, token_embedding, text_positions, ln_final, text_blocks, text_projection;
    // Inside a block (after "<blocks><i>.").
    std::string ln_1, ln_2, out_proj, fc, proj;
    std::vector<std::string> ignorable;  ///< buffers some exporters save; never parameters
};

inline naming_scheme openai_scheme()
{
    return {clip_naming::openai,
            "visual.", "visual.conv1.weight", "visual.class_embedding", "visual.positional_embedding",
            "visual.ln_pre.", "visual.ln_post.", "visual.transformer.resblocks.", "visual.proj",
            "", "token_embedding.weight", "positional_embedding", "ln_final.", "transformer.resblocks.",
            "text_projection",
            "ln_1.", "ln_2.", "attn.out_proj.", "mlp.c_fc.", "mlp.c_proj.",
            {"attn_mask", "input_resolution", "context_length", "vocab_size"}};
}

inline naming_scheme hugging_face_scheme()
{
    return {clip_naming::hugging_face,
            "vision_model.", "vision_model.embeddings.patch_embedding.weight",
            "vision_model.embeddings.class_embedding", "vision_model.embeddings.position_embedding.weight",
            "vision_model.pre_layrnorm.", "vision_model.post_layernorm.", "vision_model.encoder.layers.",
            "visual_projection.weight",
            "text_model.", "text_model.embeddings.token_embedding.weight",
            "text_model.embeddings.position_embedding.weight", "text_model.final_layer_norm.",
            "text_model.encoder.layers.", "text_projection.weight",
            "layer_norm1.", "layer_norm2.", "self_attn.out_proj.", "mlp.fc1.", "mlp.fc2.",
            {"vision_model.embeddings.position_ids", "text_model.embeddings.position_ids"}};
}

inline bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

/// Reads tensors by name, remembering which were used and collecting every problem, so
/// one error can list them all.
template <class T>
class checkpoint_reader {
public:
    explicit checkpoint_reader(const io::safetensors_file& file) : file_(file) {}

    bool has(const std::string& name) const { return file_.contains(name); }

    /// Extents of `name`, or nullopt (and a "missing" entry) when absent.
    std::optional<std::vector<index_t>> shape(const std::string& name)
    {
        if (!file_.contains(name)) {
            missing_.push_back(name);
            return std::nullopt;
        }
        const auto& info = file_.info(name);
        return std::vector<index_t>(info.shape.begin(), info.shape.end());
    }

    /// Loads `name` as a flat array after checking its extents equal `expected`.
    std::vector<T> values(const std::string& name, const std::vector<index_t>& expected)
    {
        used_.push_back(name);
        if (!file_.contains(name)) {
            missing_.push_back(name);
            return {};
        }
        const auto& info = file_.info(name);
        const std::vector<index_t> got(info.shape.begin(), info.shape.end());
        if (got != expected) {
            mis_shaped_.push_back(concat(name, " (expected ", format(expected), ", found ", format(got), ")"));
            return {};
        }
        if (!io::is_floating(info.type)) {
            mis_shaped_.push_back(concat(name, " (expected a floating-point dtype, found ",
                                         io::dtype_name(info.type), ")"));
            return {};
        }
        return file_.template load_values<T>(name);
    }

    template <std::size_t Rank>
    tensor<T, Rank> load(const std::string& name, const extents_t<Rank>& extents)
    {
        tensor<T, Rank> out(extents);
        auto flat = values(name, std::vector<index_t>(extents.begin(), extents.end()));
        if (static_cast<index_t>(flat.size()) == out.size()) std::copy(flat.begin(), flat.end(), out.data());
        return out;
    }

    /// A rank-0 or one-element tensor as a scalar.
    std::optional<T> scalar(const std::string& name)
    {
        used_.push_back(name);
        if (!file_.contains(name)) return std::nullopt;
        const auto flat = file_.template load_values<T>(name);
        if (flat.size() != 1) {
            mis_shaped_.push_back(concat(name, " (expected one element, found ", flat.size(), ")"));
            return std::nullopt;
        }
        return flat[0];
    }

    void note_mis_shaped(std::string what) { mis_shaped_.push_back(std::move(what)); }
    void mark_used(const std::string& name) { used_.push_back(name); }

    /// Throws one parse_error listing every problem, extras included.
    void finish(const std::vector<std::string>& ignorable, std::string_view source)
    {
        std::vector<std::string> extra;
        for (const auto& name : file_.names()) {
            const bool used = std::find(used_.begin(), used_.end(), name) != used_.end();
            const bool ignored = std::find(ignorable.begin(), ignorable.end(), name) != ignorable.end();
            if (!used && !ignored) extra.push_back(name);
        }
        if (missing_.empty() && mis_shaped_.empty() && extra.empty()) return;
        std::string message = concat("tailor: CLIP checkpoint ", source, " does not match the model:");
        auto list = [&](std::string_view what, const std::vector<std::string>& names) {
            if (names.empty()) return;
            message += concat("\n  ", what, " (", names.size(), "):");
            for (std::size_t k = 0; k < names.size() && k < 20; ++k) message += "\n    " + names[k];
            if (names.size() > 20) message += concat("\n    ... and ", names.size() - 20, " more");
        };
        list("missing", missing_);
        list("mis-shaped", mis_shaped_);
        list("extra", extra);
        throw parse_error(message);
    }

    static std::string format(const std::vector<index_t>& shape)
    {
        std::string text = "[";
        for (std::size_t k = 0; k < shape.size(); ++k) text += (k ? ", " : "") + std::to_string(shape[k]);
        return text + "]";
    }

private:
    const io::safetensors_file& file_;
    std::vector<std::string> used_, missing_, mis_shaped_;
};

/// Number of consecutive blocks `prefix0.`, `prefix1.`, ... that have a first LayerNorm.
inline index_t count_blocks(const io::safetensors_file& file, const std::string& prefix, const std::string& ln_1)
{
    index_t n = 0;
    while (file.contains(concat(prefix, n, ".", ln_1, "weight"))) ++n;
    return n;
}

template <class T>
layer_norm_weights<T> read_layer_norm(checkpoint_reader<T>& in, const std::string& prefix, index_t width)
{
    return {in.template load<1>(prefix + "weight", {width}), in.template load<1>(prefix + "bias", {width})};
}

template <class T>
linear_weights<T> read_linear(checkpoint_reader<T>& in, const std::string& prefix, index_t out, index_t in_width)
{
    return {in.template load<2>(prefix + "weight", {out, in_width}), in.template load<1>(prefix + "bias", {out})};
}

template <class T>
block_weights<T> read_block(checkpoint_reader<T>& in, const naming_scheme& s, const std::string& prefix,
                            const transformer_config& c)
{
    const index_t w = c.width;
    block_weights<T> b;
    b.ln_1 = read_layer_norm(in, prefix + s.ln_1, w);
    if (s.kind == clip_naming::openai) {
        b.qkv = {in.template load<2>(prefix + "attn.in_proj_weight", {3 * w, w}),
                 in.template load<1>(prefix + "attn.in_proj_bias", {3 * w})};
    } else {
        // Stack Hugging Face's q, k, v maps into tailor's packed [3W, W] layout.
        b.qkv = {matrix<T>({3 * w, w}), vector<T>({3 * w})};
        const char* parts[] = {"q_proj.", "k_proj.", "v_proj."};
        for (index_t k = 0; k < 3; ++k) {
            auto part = read_linear(in, prefix + "self_attn." + parts[k], w, w);
            if (part.weight.size() == w * w) std::copy(part.weight.begin(), part.weight.end(), b.qkv.weight.data() + k * w * w);
            if (part.bias.size() == w) std::copy(part.bias.begin(), part.bias.end(), b.qkv.bias.data() + k * w);
        }
    }
    b.out = read_linear(in, prefix + s.out_proj, w, w);
    b.ln_2 = read_layer_norm(in, prefix + s.ln_2, w);
    b.fc = read_linear(in, prefix + s.fc, c.mlp_width, w);
    b.proj = read_linear(in, prefix + s.proj, w, c.mlp_width);
    return b;
}

/// The output projection as [W, D]: OpenAI stores it so, Hugging Face as a [D, W] Linear.
template <class T>
matrix<T> read_projection(checkpoint_reader<T>& in, const naming_scheme& s, const std::string& name, index_t width)
{
    auto shape = in.shape(name);
    if (!shape) {
        in.mark_used(name);
        return {};
    }
    if (shape->size() != 2) {
        in.mark_used(name);
        in.note_mis_shaped(concat(name, " (expected a matrix, found ", checkpoint_reader<T>::format(*shape), ")"));
        return {};
    }
    if (s.kind == clip_naming::openai) return in.template load<2>(name, {width, (*shape)[1]});
    const index_t d = (*shape)[0];
    auto stored = in.template load<2>(name, {d, width});
    matrix<T> out({width, d});
    if (stored.size() == out.size())
        for (index_t i = 0; i < d; ++i)
            for (index_t j = 0; j < width; ++j) out(j, i) = stored(i, j);
    return out;
}

/// Reads the MLP width and checks the block count from block 0.
template <class T>
transformer_config tower_config(checkpoint_reader<T>& in, const naming_scheme& s, const std::string& blocks_prefix,
                                index_t width, index_t layers, index_t heads, activation act, double eps)
{
    transformer_config c;
    c.width = width;
    c.layers = layers;
    c.heads = heads;
    c.act = act;
    c.layer_norm_eps = eps;
    if (layers > 0) {
        if (auto shape = in.shape(concat(blocks_prefix, 0, ".", s.fc, "weight")); shape && shape->size() == 2)
            c.mlp_width = (*shape)[0];
    }
    return c;
}

template <class T>
vision_weights<T> read_vision(checkpoint_reader<T>& in, const io::safetensors_file& file, const naming_scheme& s,
                              const clip_overrides& o)
{
    vision_weights<T> v;
    auto conv = in.shape(s.patch);
    auto pos = in.shape(s.vision_positions);
    in.mark_used(s.patch);
    in.mark_used(s.vision_positions);
    if (!conv || !pos) return v;
    if (conv->size() != 4 || (*conv)[1] != 3 || (*conv)[2] != (*conv)[3] || (*conv)[2] <= 0) {
        in.note_mis_shaped(concat(s.patch, " (expected [width, 3, patch, patch], found ",
                                  checkpoint_reader<T>::format(*conv), ")"));
        return v;
    }
    const index_t width = (*conv)[0], patch = (*conv)[2];
    const auto grid = pos->size() == 2 ? static_cast<index_t>(std::lround(std::sqrt(double((*pos)[0] - 1)))) : -1;
    if (pos->size() != 2 || grid <= 0 || grid * grid + 1 != (*pos)[0] || (*pos)[1] != width) {
        in.note_mis_shaped(concat(s.vision_positions, " (expected [grid^2 + 1, ", width, "], found ",
                                  checkpoint_reader<T>::format(*pos), ")"));
        return v;
    }
    const index_t layers = count_blocks(file, s.vision_blocks, s.ln_1);
    v.config.tower = tower_config(in, s, s.vision_blocks, width, layers,
                                  resolve_heads(width, o.vision_heads, "vision"),
                                  o.vision_activation.value_or(activation::quick_gelu), o.layer_norm_eps.value_or(1e-5));
    v.config.patch_size = patch;
    v.config.image_size = grid * patch;
    const index_t tokens = v.config.tokens();

    auto conv_weight = in.template load<4>(s.patch, {width, 3, patch, patch});
    v.patch_embedding = matrix<T>({width, 3 * patch * patch});
    if (conv_weight.size() == v.patch_embedding.size())
        std::copy(conv_weight.begin(), conv_weight.end(), v.patch_embedding.data());
    v.class_embedding = in.template load<1>(s.class_embedding, {width});
    v.positions = in.template load<2>(s.vision_positions, {tokens, width});
    v.ln_pre = read_layer_norm(in, s.ln_pre, width);
    for (index_t l = 0; l < layers; ++l)
        v.blocks.push_back(read_block(in, s, concat(s.vision_blocks, l, "."), v.config.tower));
    v.ln_post = read_layer_norm(in, s.ln_post, width);
    v.projection = read_projection(in, s, s.vision_projection, width);
    v.config.output_dim = v.projection.extent(1);
    return v;
}

template <class T>
text_weights<T> read_text(checkpoint_reader<T>& in, const io::safetensors_file& file, const naming_scheme& s,
                          const clip_overrides& o)
{
    text_weights<T> t;
    auto tokens = in.shape(s.token_embedding);
    auto pos = in.shape(s.text_positions);
    in.mark_used(s.token_embedding);
    in.mark_used(s.text_positions);
    if (!tokens || !pos) return t;
    if (tokens->size() != 2 || pos->size() != 2 || (*pos)[1] != (*tokens)[1]) {
        in.note_mis_shaped(concat(s.token_embedding, " and ", s.text_positions, " (expected [vocabulary, width] and [context, width], found ",
                                  checkpoint_reader<T>::format(*tokens), " and ", checkpoint_reader<T>::format(*pos), ")"));
        return t;
    }
    const index_t width = (*tokens)[1];
    const index_t layers = count_blocks(file, s.text_blocks, s.ln_1);
    t.config.tower = tower_config(in, s, s.text_blocks, width, layers, resolve_heads(width, o.text_heads, "text"),
                                  o.text_activation.value_or(activation::quick_gelu), o.layer_norm_eps.value_or(1e-5));
    t.config.vocabulary_size = (*tokens)[0];
    t.config.context_length = (*pos)[0];
    t.config.end_of_text_id = o.end_of_text_id.value_or(-1);
    t.token_embedding = in.template load<2>(s.token_embedding, {(*tokens)[0], width});
    t.positions = in.template load<2>(s.text_positions, {(*pos)[0], width});
    for (index_t l = 0; l < layers; ++l)
        t.blocks.push_back(read_block(in, s, concat(s.text_blocks, l, "."), t.config.tower));
    t.ln_final = read_layer_norm(in, s.ln_final, width);
    t.projection = read_projection(in, s, s.text_projection, width);
    t.config.output_dim = t.projection.extent(1);
    return t;
}

}  // namespace detail

namespace detail {

template <class T, std::size_t R, class E>
tensor<T, R> random_tensor(const extents_t<R>& extents, E& engine, double stddev, double mean = 0)
{
    tensor<T, R> out(extents);
    std::normal_distribution<double> normal(mean, stddev);
    for (auto& x : out) x = static_cast<T>(normal(engine));
    return out;
}

template <class T, class E>
std::vector<block_weights<T>> random_blocks(const transformer_config& c, E& engine)
{
    const double w = static_cast<double>(c.width), m = static_cast<double>(c.mlp_width);
    std::vector<block_weights<T>> blocks;
    for (index_t l = 0; l < c.layers; ++l) {
        block_weights<T> b;
        b.ln_1 = {random_tensor<T, 1>({c.width}, engine, 0.02, 1), random_tensor<T, 1>({c.width}, engine, 0.02)};
        b.qkv = {random_tensor<T, 2>({3 * c.width, c.width}, engine, 1 / std::sqrt(w)), random_tensor<T, 1>({3 * c.width}, engine, 0.02)};
        b.out = {random_tensor<T, 2>({c.width, c.width}, engine, 1 / std::sqrt(w)), random_tensor<T, 1>({c.width}, engine, 0.02)};
        b.ln_2 = {random_tensor<T, 1>({c.width}, engine, 0.02, 1), random_tensor<T, 1>({c.width}, engine, 0.02)};
        b.fc = {random_tensor<T, 2>({c.mlp_width, c.width}, engine, 1 / std::sqrt(w)), random_tensor<T, 1>({c.mlp_width}, engine, 0.02)};
        b.proj = {random_tensor<T, 2>({c.width, c.mlp_width}, engine, 1 / std::sqrt(m)), random_tensor<T, 1>({c.width}, engine, 0.02)};
        blocks.push_back(std::move(b));
    }
    return blocks;
}

}  // namespace detail

/// Randomly initialised vision weights of shape `c` (normal, fan-in scaled; LayerNorm near
/// identity), for benchmarks and tests that need a model but not a trained one.
template <class T = float, class E>
vision_weights<T> random_vision_weights(const vision_config& c, E& engine)
{
    vision_weights<T> v;
    v.config = c;
    const index_t w = c.tower.width, p = c.patch_size;
    ::tailor::detail::require(p > 0 && c.image_size % p == 0, "config", "an image size divisible by the patch size",
                              [&] { return ::tailor::detail::concat(c.image_size, " and ", p); });
    v.patch_embedding = detail::random_tensor<T, 2>({w, 3 * p * p}, engine, 1 / std::sqrt(3.0 * double(p * p)));
    v.class_embedding = detail::random_tensor<T, 1>({w}, engine, 0.5);
    v.positions = detail::random_tensor<T, 2>({c.tokens(), w}, engine, 0.5);
    v.ln_pre = {detail::random_tensor<T, 1>({w}, engine, 0.02, 1), detail::random_tensor<T, 1>({w}, engine, 0.02)};
    v.blocks = detail::random_blocks<T>(c.tower, engine);
    v.ln_post = {detail::random_tensor<T, 1>({w}, engine, 0.02, 1), detail::random_tensor<T, 1>({w}, engine, 0.02)};
    v.projection = detail::random_tensor<T, 2>({w, c.output_dim}, engine, 1 / std::sqrt(double(w)));
    return v;
}

template <class T = float, class E>
text_weights<T> random_text_weights(const text_config& c, E& engine)
{
    text_weights<T> t;
    t.config = c;
    const index_t w = c.tower.width;
    t.token_embedding = detail::random_tensor<T, 2>({c.vocabulary_size, w}, engine, 0.5);
    t.positions = detail::random_tensor<T, 2>({c.context_length, w}, engine, 0.5);
    t.blocks = detail::random_blocks<T>(c.tower, engine);
    t.ln_final = {detail::random_tensor<T, 1>({w}, engine, 0.02, 1), detail::random_tensor<T, 1>({w}, engine, 0.02)};
    t.projection = detail::random_tensor<T, 2>({w, c.output_dim}, engine, 1 / std::sqrt(double(w)));
    return t;
}

/// The naming scheme of `file`, from its tensor names; throws parse_error when neither fits.
inline clip_naming detect_clip_naming(const io::safetensors_file& file)
{
    bool openai = false, hugging_face = false;
    for (const auto& name : file.names()) {
        hugging_face = hugging_face || detail::starts_with(name, "vision_model.") || detail::starts_with(name, "text_model.");
        openai = openai || detail::starts_with(name, "visual.") || detail::starts_with(name, "transformer.resblocks.") ||
                 name == "token_embedding.weight";
    }
    if (openai == hugging_face)
        throw parse_error(openai ? "tailor: CLIP checkpoint mixes OpenAI and Hugging Face tensor names"
                                 : "tailor: no CLIP tensors found (expected OpenAI names such as 'visual.conv1.weight' "
                                   "or Hugging Face names such as 'vision_model.embeddings.patch_embedding.weight')");
    return openai ? clip_naming::openai : clip_naming::hugging_face;
}

/// Loads a CLIP checkpoint into tailor's layout, converting any float dtype to `T`. The
/// configuration is read from the shapes (plus `overrides`); every missing, extra or
/// mis-shaped tensor is reported by name in one parse_error.
template <class T = float>
clip_weights<T> load_clip_weights(const io::safetensors_file& file, const clip_overrides& overrides = {},
                                  std::string_view source = "file")
{
    clip_weights<T> out;
    out.naming = detect_clip_naming(file);
    const auto scheme = out.naming == clip_naming::openai ? detail::openai_scheme() : detail::hugging_face_scheme();
    detail::checkpoint_reader<T> in(file);
    const bool has_vision = file.contains(scheme.patch) ||
                            std::any_of(file.names().begin(), file.names().end(),
                                        [&](const std::string& n) { return detail::starts_with(n, scheme.vision_prefix); });
    const bool has_text = file.contains(scheme.token_embedding) || file.contains(scheme.text_positions) ||
                          (!scheme.text_prefix.empty() &&
                           std::any_of(file.names().begin(), file.names().end(), [&](const std::string& n) {
                               return detail::starts_with(n, scheme.text_prefix);
                           })) ||
                          (scheme.text_prefix.empty() && file.contains("ln_final.weight"));
    if (has_vision) out.vision = detail::read_vision(in, file, scheme, overrides);
    if (has_text) out.text = detail::read_text(in, file, scheme, overrides);
    out.logit_scale = in.scalar("logit_scale");
    in.finish(scheme.ignorable, source);
    return out;
}

/// The same from a path (mapped, not read).
template <class T = float>
clip_weights<T> load_clip_weights(const std::filesystem::path& path, const clip_overrides& overrides = {})
{
    const io::safetensors_file file(path);
    return load_clip_weights<T>(file, overrides, "'" + path.string() + "'");
}

namespace detail {

template <class T>
void write_block(io::safetensors_writer& out, const naming_scheme& s, const std::string& prefix, const block_weights<T>& b)
{
    auto add = [&](const std::string& name, const auto& t) { out.add(prefix + name, t.view()); };
    add(s.ln_1 + "weight", b.ln_1.gamma);
    add(s.ln_1 + "bias", b.ln_1.beta);
    if (s.kind == clip_naming::openai) {
        add("attn.in_proj_weight", b.qkv.weight);
        add("attn.in_proj_bias", b.qkv.bias);
    } else {
        const index_t w = b.qkv.weight.extent(1);
        const char* parts[] = {"q_proj.", "k_proj.", "v_proj."};
        for (index_t k = 0; k < 3; ++k) {
            out.add(prefix + "self_attn." + parts[k] + "weight", b.qkv.weight.view().slice(0, k * w, (k + 1) * w));
            out.add(prefix + "self_attn." + parts[k] + "bias", b.qkv.bias.view().slice(0, k * w, (k + 1) * w));
        }
    }
    add(s.out_proj + "weight", b.out.weight);
    add(s.out_proj + "bias", b.out.bias);
    add(s.ln_2 + "weight", b.ln_2.gamma);
    add(s.ln_2 + "bias", b.ln_2.beta);
    add(s.fc + "weight", b.fc.weight);
    add(s.fc + "bias", b.fc.bias);
    add(s.proj + "weight", b.proj.weight);
    add(s.proj + "bias", b.proj.bias);
}

}  // namespace detail

/// Writes `w` as a safetensors checkpoint under either naming scheme (float32 or the
/// element type's own dtype), the inverse of load_clip_weights: what it writes loads back
/// unchanged, here and in PyTorch (transformers' CLIPModel or open_clip's CLIP state dict).
template <class T>
void save_clip_weights(const clip_weights<T>& w, const std::filesystem::path& path, clip_naming naming)
{
    const auto s = naming == clip_naming::openai ? detail::openai_scheme() : detail::hugging_face_scheme();
    io::safetensors_writer out;
    out.set_metadata("format", "pt");
    auto projection = [&](const std::string& name, const matrix<T>& p) {
        if (naming == clip_naming::openai)
            out.add(name, p.view());
        else
            out.add(name, p.view().transposed());  // a [D, W] Linear weight
    };
    if (w.vision) {
        const auto& v = *w.vision;
        const index_t width = v.config.tower.width, p = v.config.patch_size;
        out.add(s.patch, tensor_view<const T, 4>(v.patch_embedding.data(), {width, 3, p, p}));
        out.add(s.class_embedding, v.class_embedding.view());
        out.add(s.vision_positions, v.positions.view());
        out.add(s.ln_pre + "weight", v.ln_pre.gamma.view());
        out.add(s.ln_pre + "bias", v.ln_pre.beta.view());
        for (std::size_t l = 0; l < v.blocks.size(); ++l)
            detail::write_block(out, s, detail::concat(s.vision_blocks, l, "."), v.blocks[l]);
        out.add(s.ln_post + "weight", v.ln_post.gamma.view());
        out.add(s.ln_post + "bias", v.ln_post.beta.view());
        projection(s.vision_projection, v.projection);
    }
    if (w.text) {
        const auto& t = *w.text;
        out.add(s.token_embedding, t.token_embedding.view());
        out.add(s.text_positions, t.positions.view());
        for (std::size_t l = 0; l < t.blocks.size(); ++l)
            detail::write_block(out, s, detail::concat(s.text_blocks, l, "."), t.blocks[l]);
        out.add(s.ln_final + "weight", t.ln_final.gamma.view());
        out.add(s.ln_final + "bias", t.ln_final.beta.view());
        projection(s.text_projection, t.projection);
    }
    if (w.logit_scale) {
        const float scale = static_cast<float>(*w.logit_scale);  // a 0-d tensor, as PyTorch saves it
        out.add("logit_scale", io::dtype::float32, {}, std::as_bytes(std::span(&scale, 1)));
    }
    out.write(path);
}

}  // namespace tailor::model
