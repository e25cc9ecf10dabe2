#pragma once
// The shape of a CLIP model. Every field but the head counts, the activation and the
// LayerNorm epsilon is read off the checkpoint's tensors (see clip_weights.hpp); those three
// are not visible in the shapes, so they come with defaults that match OpenAI's released
// models and can be overridden (by hand, or from a Hugging Face config.json).
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tailor/core/config.hpp"
#include "tailor/core/error.hpp"

namespace tailor::model {

/// The MLP nonlinearity. OpenAI's CLIP uses QuickGELU, x * sigmoid(1.702 x); open_clip's
/// non-"quickgelu" models and most later ViTs use the exact GELU, x * Phi(x).
enum class activation { quick_gelu, gelu };

inline std::string_view activation_name(activation a) { return a == activation::gelu ? "gelu" : "quick_gelu"; }

/// One pre-LN transformer tower: `layers` blocks of width `width`, `heads` heads, an MLP of
/// `mlp_width` (4 x width in CLIP).
struct transformer_config {
    index_t width = 0;
    index_t layers = 0;
    index_t heads = 0;
    index_t mlp_width = 0;
    activation act = activation::quick_gelu;
    double layer_norm_eps = 1e-5;

    index_t head_width() const { return heads > 0 ? width / heads : 0; }
};

struct vision_config {
    transformer_config tower;
    index_t patch_size = 0;
    index_t image_size = 0;  ///< input resolution in pixels (square)
    index_t output_dim = 0;  ///< width of the projected embedding

    index_t grid() const { return patch_size > 0 ? image_size / patch_size : 0; }
    index_t tokens() const { return grid() * grid() + 1; }  ///< patches plus the class token
};

struct text_config {
    transformer_config tower;
    index_t vocabulary_size = 0;
    index_t context_length = 0;
    index_t output_dim = 0;
    /// Pooling position: the first occurrence of this id, or (when negative) the position of
    /// the largest id, OpenAI's rule, which finds EOT because EOT is the largest id.
    std::int64_t end_of_text_id = -1;
};

/// OpenAI's released shapes, for benchmarks and randomly initialised models.
inline vision_config vit_b32_config()
{
    return {{768, 12, 12, 3072, activation::quick_gelu, 1e-5}, 32, 224, 512};
}
inline vision_config vit_b16_config()
{
    return {{768, 12, 12, 3072, activation::quick_gelu, 1e-5}, 16, 224, 512};
}
/// The text tower of ViT-B/32 and ViT-B/16.
inline text_config clip_text_b_config()
{
    return {{512, 12, 8, 2048, activation::quick_gelu, 1e-5}, 49408, 77, 512, -1};
}

/// What the shapes cannot tell. Zero / empty keeps the default: heads = width / 64 (every
/// released OpenAI and open_clip ViT), QuickGELU, eps 1e-5.
struct clip_overrides {
    index_t vision_heads = 0;
    index_t text_heads = 0;
    std::optional<activation> vision_activation;
    std::optional<activation> text_activation;
    std::optional<double> layer_norm_eps;
    std::optional<std::int64_t> end_of_text_id;
};

namespace detail {

inline activation parse_activation(std::string_view name, std::string_view where)
{
    if (name == "quick_gelu") return activation::quick_gelu;
    // transformers spells the exact GELU "gelu"; its tanh approximation is not CLIP's.
    if (name == "gelu") return activation::gelu;
    throw unsupported_error(::tailor::detail::concat("tailor: ", where, ": activation '", name,
                                                     "' is not supported (quick_gelu, gelu)"));
}

/// Heads from an override or the width / 64 convention; checked to divide the width.
inline index_t resolve_heads(index_t width, index_t requested, std::string_view tower)
{
    const index_t heads = requested > 0 ? requested : std::max<index_t>(1, width / 64);
    ::tailor::detail::require(width % heads == 0, tower == "vision" ? "vision_heads" : "text_heads",
                              [&] { return ::tailor::detail::concat("a divisor of the ", tower, " width ", width); },
                              heads);
    return heads;
}

}  // namespace detail

/// Reads the fields a Hugging Face `config.json` (CLIPConfig, or a CLIPVisionConfig /
/// CLIPTextConfig on its own) holds that shapes do not: heads, activation, eps, eos id.
inline clip_overrides read_hugging_face_clip_config(const std::filesystem::path& path)
{
    std::ifstream in(path);
    if (!in) throw io_error("tailor: cannot open CLIP config '" + path.string() + "'");
    nlohmann::json json;
    try {
        json = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
        throw parse_error("tailor: '" + path.string() + "' is not valid JSON: " + e.what());
    }
    if (!json.is_object()) throw parse_error("tailor: '" + path.string() + "' must hold a JSON object");
    clip_overrides out;
    const auto where = path.string();
    auto read_tower = [&](const nlohmann::json& tower, index_t& heads, std::optional<activation>& act) {
        if (!tower.is_object()) return;
        if (auto it = tower.find("num_attention_heads"); it != tower.end() && it->is_number_integer())
            heads = it->get<index_t>();
        if (auto it = tower.find("hidden_act"); it != tower.end() && it->is_string())
            act = detail::parse_activation(it->get<std::string>(), where);
        if (auto it = tower.find("layer_norm_eps"); it != tower.end() && it->is_number())
            out.layer_norm_eps = it->get<double>();
    };
    const bool combined = json.contains("vision_config") || json.contains("text_config");
    if (combined) {
        if (json.contains("vision_config")) read_tower(json["vision_config"], out.vision_heads, out.vision_activation);
        if (json.contains("text_config")) {
            const auto& text = json["text_config"];
            read_tower(text, out.text_heads, out.text_activation);
            if (text.is_object())
                if (auto it = text.find("eos_token_id"); it != text.end() && it->is_number_integer()) {
                    // transformers treats eos id 2 as a legacy config and pools at the largest id.
                    if (it->get<std::int64_t>() != 2) out.end_of_text_id = it->get<std::int64_t>();
                }
        }
    } else if (json.value("model_type", "") == "clip_text_model") {
        read_tower(json, out.text_heads, out.text_activation);
    } else {
        read_tower(json, out.vision_heads, out.vision_activation);
    }
    return out;
}

}  // namespace tailor::model
