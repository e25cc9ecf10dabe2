// Writes what tests/demo/check_demo_images.py runs tailor_demo's real-data path on:
//   OUT/tiny-clip.safetensors           a random-weight CLIP (OpenAI names): vision width 32,
//                                       2 layers, 2 heads, patch 8, 32 px; text width 32,
//                                       2 layers, 2 heads, context 77, vocabulary 49408 (the
//                                       real tokenizer's ids fit); embeddings of 32
//   OUT/tiny-clip-vocab1000.safetensors the same with a 1000-token vocabulary (a mismatch)
//   OUT/config.json                     a Hugging Face config with the 2 heads of both towers
//   OUT/images/<class>/...              three classes of generated images, 12, 6 and 3 of
//                                       them, each class its own colour and pattern; sizes
//                                       vary, and PNG (RGB, RGBA, one gray) and JPEG mix;
//                                       plus a text file and a hidden folder to be ignored
// Usage: make_tiny_clip OUT
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <stb_image_write.h>

#include "tailor/core/random.hpp"
#include "tailor/model/clip_weights.hpp"

namespace {

namespace fs = std::filesystem;

tailor::model::clip_weights<float> tiny_clip(tailor::index_t vocabulary, std::uint64_t seed)
{
    using namespace tailor::model;
    const vision_config vision{{32, 2, 2, 128, activation::quick_gelu, 1e-5}, 8, 32, 32};
    const text_config text{{32, 2, 2, 128, activation::quick_gelu, 1e-5}, vocabulary, 77, 32, -1};
    tailor::philox4x32_10 engine(seed);
    clip_weights<float> w;
    w.naming = clip_naming::openai;
    w.vision = random_vision_weights<float>(vision, engine);
    w.text = random_text_weights<float>(text, engine);
    w.logit_scale = std::log(100.0f);
    return w;
}

struct rgb {
    double r, g, b;
};

/// One image of class `c`: a class colour on a class background, a class pattern (disc,
/// stripes, checks), jittered per image by `engine`.
std::vector<std::uint8_t> draw(int c, int height, int width, int channels, tailor::philox4x32_10& engine)
{
    static const rgb colour[3] = {{220, 40, 40}, {40, 200, 60}, {50, 70, 230}};
    static const rgb background[3] = {{240, 230, 200}, {30, 30, 30}, {200, 200, 210}};
    auto jitter = [&](double scale) { return scale * (tailor::uniform_real<double>(engine) - 0.5); };
    const double cx = width * (0.5 + jitter(0.3)), cy = height * (0.5 + jitter(0.3));
    const double radius = std::min(width, height) * (0.3 + jitter(0.1)), period = 6 + jitter(3);
    const double shade = 1 + jitter(0.2);
    std::vector<std::uint8_t> pixels(static_cast<std::size_t>(height * width * channels));
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x) {
            bool on = false;
            if (c == 0) on = std::hypot(x - cx, y - cy) < radius;
            if (c == 1) on = std::fmod(x + 0.5 * y + period * 8, period) < period / 2;
            if (c == 2) on = (int(x / period) + int(y / period)) % 2 == 0;
            const rgb& p = on ? colour[c] : background[c];
            const double v[3] = {p.r * shade + jitter(20), p.g * shade + jitter(20), p.b * shade + jitter(20)};
            std::uint8_t* out = &pixels[static_cast<std::size_t>((y * width + x) * channels)];
            auto clamp = [](double t) { return static_cast<std::uint8_t>(std::lround(std::min(255.0, std::max(0.0, t)))); };
            if (channels == 1) {
                out[0] = clamp(0.299 * v[0] + 0.587 * v[1] + 0.114 * v[2]);
            } else {
                for (int k = 0; k < 3; ++k) out[k] = clamp(v[k]);
                if (channels == 4) out[3] = 255;
            }
        }
    return pixels;
}

bool write_images(const fs::path& root)
{
    const char* folders[3] = {"red_disc", "green_stripes", "blue_checks"};
    const int counts[3] = {12, 6, 3};
    tailor::philox4x32_10 engine(2024, 1);
    for (int c = 0; c < 3; ++c) {
        fs::create_directories(root / folders[c]);
        for (int i = 0; i < counts[c]; ++i) {
            const int height = 28 + int(tailor::uniform_real<double>(engine) * 40);
            const int width = 28 + int(tailor::uniform_real<double>(engine) * 40);
            // Mostly RGB PNG; every 5th image a JPEG, every 7th RGBA, one gray image (class 0).
            const int channels = c == 0 && i == 3 ? 1 : (i % 7 == 6 ? 4 : 3);
            const bool jpeg = i % 5 == 4 && channels == 3;
            const auto pixels = draw(c, height, width, channels, engine);
            char name[32];
            std::snprintf(name, sizeof name, "img_%02d.%s", i, jpeg ? "jpg" : "png");
            const std::string path = (root / folders[c] / name).string();
            const int ok = jpeg ? stbi_write_jpg(path.c_str(), width, height, channels, pixels.data(), 95)
                                : stbi_write_png(path.c_str(), width, height, channels, pixels.data(), width * channels);
            if (!ok) {
                std::fprintf(stderr, "make_tiny_clip: cannot write %s\n", path.c_str());
                return false;
            }
        }
    }
    std::ofstream(root / folders[0] / "notes.txt") << "not an image; the demo ignores it\n";
    fs::create_directories(root / ".hidden_folder");
    return true;
}

}  // namespace

int main(int argc, char** argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: make_tiny_clip OUT\n");
        return 2;
    }
    const fs::path out = argv[1];
    try {
        fs::create_directories(out);
        tailor::model::save_clip_weights(tiny_clip(49408, 7), out / "tiny-clip.safetensors",
                                         tailor::model::clip_naming::openai);
        tailor::model::save_clip_weights(tiny_clip(1000, 8), out / "tiny-clip-vocab1000.safetensors",
                                         tailor::model::clip_naming::openai);
        std::ofstream(out / "config.json")
            << R"({"vision_config": {"num_attention_heads": 2, "hidden_act": "quick_gelu"},)"
            << R"( "text_config": {"num_attention_heads": 2, "hidden_act": "quick_gelu"}})" << '\n';
        if (!write_images(out / "images")) return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "make_tiny_clip: %s\n", e.what());
        return 1;
    }
    return 0;
}
