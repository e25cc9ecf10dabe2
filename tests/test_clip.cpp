// CLIP encoders against independent references: Hugging Face transformers' CLIPModel (HF
// names) and open_clip (OpenAI names), random weights, fixtures from tools/clip_reference.py
// (outputs of a float64 copy of each reference model). Name maps, configuration from shapes,
// dtype conversion and the errors for bad checkpoints and bad inputs.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "tailor/backend/eigen/backend.hpp"
#include "tailor/model/clip.hpp"
#include "tailor/model/zero_shot.hpp"
#if defined(TAILOR_HAVE_XTENSOR)
#include "tailor/backend/xtensor/backend.hpp"
#endif

using tailor::index_t;
using tailor::matrix;
using tailor::matrix_view;
using tailor::io::safetensors_file;
using tailor::io::safetensors_writer;
namespace model = tailor::model;

namespace {

std::string clip_fixture(const std::string& name) { return std::string(TAILOR_FIXTURE_DIR) + "/clip/" + name; }

struct agreement {
    double min_cosine = 1;
    double max_abs = 0;
    double max_ref = 0;
};

/// Row-wise cosine similarity and max abs difference of `got` against `want` (same shape).
template <class A, class B>
agreement compare_rows(const A& got, const B& want, index_t rows, index_t cols)
{
    agreement a;
    for (index_t i = 0; i < rows; ++i) {
        double dot = 0, ng = 0, nw = 0;
        for (index_t j = 0; j < cols; ++j) {
            const double g = got[i * cols + j], w = want[i * cols + j];
            dot += g * w, ng += g * g, nw += w * w;
            a.max_abs = std::max(a.max_abs, std::abs(g - w));
            a.max_ref = std::max(a.max_ref, std::abs(w));
        }
        a.min_cosine = std::min(a.min_cosine, dot / std::sqrt(ng * nw));
    }
    return a;
}

/// The tolerance the fixtures support: cosine >= 0.99999 (the issue's bar) and a max abs
/// error below 2e-5 of the largest reference magnitude (fp32 against a float64 reference;
/// PyTorch's own fp32 model lands at the same order, see the test output).
void require_close(const agreement& a, const std::string& what)
{
    INFO(what << ": min cosine " << a.min_cosine << ", max abs " << a.max_abs << " (max |ref| " << a.max_ref << ")");
    CHECK(a.min_cosine >= 0.99999);
    CHECK(a.max_abs <= 2e-5 * a.max_ref);
}

struct parity_case {
    std::string name;
    model::clip_overrides overrides;
};

std::vector<parity_case> parity_cases()
{
    model::clip_overrides hf, openai;
    hf.vision_heads = 4, hf.text_heads = 4;  // quick_gelu is the default
    openai.vision_heads = 4, openai.text_heads = 4;
    openai.vision_activation = model::activation::gelu;
    openai.text_activation = model::activation::gelu;
    return {{"tiny_hf", hf}, {"tiny_openai", openai}};
}

template <class Backend>
void check_parity(Backend& be, const parity_case& pc)
{
    const safetensors_file io(clip_fixture(pc.name + "_io.safetensors"));
    auto m = model::clip_model<float>::load(clip_fixture(pc.name + ".safetensors"), pc.overrides);
    auto& vision = m.vision_encoder();
    auto& text = m.text_encoder();

    const auto pixels = io.load<float, 4>("pixel_values");
    const index_t n = pixels.extent(0), d = vision.config().output_dim;
    matrix<float> image({n, d});
    model::encoder_trace<float> vt;
    vision.encode(be, pixels.view(), image.view(), &vt);
    require_close(compare_rows(image.data(), io.load_values<float>("image_embeds").data(), n, d), pc.name + " image_embeds");
    require_close(compare_rows(vt.pooled.data(), io.load_values<float>("vision_pooled").data(), n, vt.pooled.extent(1)),
                  pc.name + " vision_pooled");
    const auto tokens_ref = io.load_values<float>("vision_tokens");
    REQUIRE(static_cast<index_t>(tokens_ref.size()) == vt.tokens.size());
    require_close(compare_rows(vt.tokens.data(), tokens_ref.data(), n * vt.tokens.extent(1), vt.tokens.extent(2)),
                  pc.name + " vision_tokens");

    const auto ids = io.load<std::int64_t, 2>("input_ids");
    matrix<float> texts({ids.extent(0), d});
    model::encoder_trace<float> tt;
    text.encode(be, ids.view(), texts.view(), &tt);
    require_close(compare_rows(texts.data(), io.load_values<float>("text_embeds").data(), ids.extent(0), d),
                  pc.name + " text_embeds");
    require_close(compare_rows(tt.pooled.data(), io.load_values<float>("text_pooled").data(), ids.extent(0), tt.pooled.extent(1)),
                  pc.name + " text_pooled");

    // CLIP's logits: exp(logit_scale) cos(image, text).
    const auto logits_ref = io.load_values<float>("logits_per_image");
    std::vector<double> logits(static_cast<std::size_t>(n * ids.extent(0)));
    for (index_t i = 0; i < n; ++i)
        for (index_t j = 0; j < ids.extent(0); ++j) {
            double dot = 0, ni = 0, nt = 0;
            for (index_t k = 0; k < d; ++k) dot += image(i, k) * texts(j, k), ni += image(i, k) * image(i, k), nt += texts(j, k) * texts(j, k);
            logits[static_cast<std::size_t>(i * ids.extent(0) + j)] = std::exp(double(m.logit_scale)) * dot / std::sqrt(ni * nt);
        }
    for (std::size_t k = 0; k < logits.size(); ++k) CHECK(logits[k] == Approx(logits_ref[k]).epsilon(1e-5).margin(1e-4));

    // For the record: how far PyTorch's own float32 model is from its float64 copy.
    const auto fp32 = compare_rows(io.load_values<float>("float32_image_embeds").data(), io.load_values<float>("image_embeds").data(), n, d);
    const auto ours = compare_rows(image.data(), io.load_values<float>("image_embeds").data(), n, d);
    WARN(pc.name << ": image embeds max abs error vs float64 reference: tailor " << ours.max_abs << ", PyTorch fp32 "
                 << fp32.max_abs);
}

/// Rewrites `source` through `edit(name, info) -> keep?` plus extra tensors.
template <class Edit>
std::filesystem::path rewrite(const std::string& source, const std::string& target, Edit edit)
{
    const safetensors_file in(source);
    safetensors_writer out;
    for (const auto& name : in.names()) {
        const auto& info = in.info(name);
        edit(in, name, info, out);
    }
    const auto path = std::filesystem::temp_directory_path() / target;
    out.write(path);
    return path;
}

}  // namespace

TEST_CASE("CLIP encoders match transformers and open_clip on random-weight models", "[clip]")
{
    for (const auto& pc : parity_cases()) {
        SECTION(pc.name + " on eigen")
        {
            tailor::eigen::backend be;
            check_parity(be, pc);
        }
#if defined(TAILOR_HAVE_XTENSOR)
        SECTION(pc.name + " on xtensor")
        {
            tailor::xtensor::backend be;
            check_parity(be, pc);
        }
#endif
    }
}

TEST_CASE("CLIP configuration comes from the tensors' shapes", "[clip]")
{
    const auto hf = model::load_clip_weights<float>(std::filesystem::path(clip_fixture("tiny_hf.safetensors")));
    CHECK(hf.naming == model::clip_naming::hugging_face);
    REQUIRE(hf.vision);
    REQUIRE(hf.text);
    CHECK(hf.vision->config.tower.width == 64);
    CHECK(hf.vision->config.tower.layers == 2);
    CHECK(hf.vision->config.tower.mlp_width == 256);
    CHECK(hf.vision->config.tower.heads == 1);  // width / 64 unless overridden
    CHECK(hf.vision->config.patch_size == 8);
    CHECK(hf.vision->config.image_size == 32);
    CHECK(hf.vision->config.tokens() == 17);
    CHECK(hf.vision->config.output_dim == 40);
    CHECK(hf.text->config.tower.width == 48);
    CHECK(hf.text->config.vocabulary_size == 99);
    CHECK(hf.text->config.context_length == 16);
    CHECK(hf.text->config.output_dim == 40);
    REQUIRE(hf.logit_scale);

    const auto openai = model::load_clip_weights<float>(std::filesystem::path(clip_fixture("tiny_openai.safetensors")));
    CHECK(openai.naming == model::clip_naming::openai);
    CHECK(openai.vision->config.patch_size == 16);
    CHECK(openai.vision->config.image_size == 48);
    CHECK(openai.vision->config.tokens() == 10);

    // The packed q/k/v of an OpenAI block and the stacked maps of a Hugging Face one agree
    // in layout: rows [0, W) are q. Checked through the file: HF q_proj row 0 = packed row 0.
    const safetensors_file file(clip_fixture("tiny_hf.safetensors"));
    const auto q = file.load_values<float>("vision_model.encoder.layers.0.self_attn.q_proj.weight");
    const auto k = file.load_values<float>("vision_model.encoder.layers.0.self_attn.k_proj.weight");
    CHECK(hf.vision->blocks[0].qkv.weight(0, 3) == q[3]);
    CHECK(hf.vision->blocks[0].qkv.weight(64, 5) == k[5]);
    // Hugging Face projections are transposed into tailor's [W, D].
    const auto proj = file.load_values<float>("visual_projection.weight");
    CHECK(hf.vision->projection(7, 2) == proj[2 * 64 + 7]);
}

TEST_CASE("A Hugging Face config.json supplies heads, activation, eps and the EOT id", "[clip]")
{
    const auto path = std::filesystem::temp_directory_path() / "tailor_clip_config.json";
    {
        std::ofstream out(path);
        out << R"({"model_type": "clip", "vision_config": {"num_attention_heads": 4, "hidden_act": "quick_gelu",
                 "layer_norm_eps": 1e-5}, "text_config": {"num_attention_heads": 4, "hidden_act": "gelu", "eos_token_id": 98}})";
    }
    const auto o = model::read_hugging_face_clip_config(path);
    CHECK(o.vision_heads == 4);
    CHECK(o.text_heads == 4);
    CHECK(o.vision_activation == model::activation::quick_gelu);
    CHECK(o.text_activation == model::activation::gelu);
    CHECK(o.end_of_text_id == 98);
    {
        std::ofstream out(path);
        out << R"({"vision_config": {"hidden_act": "gelu_new"}})";
    }
    CHECK_THROWS_AS(model::read_hugging_face_clip_config(path), tailor::unsupported_error);
    {
        std::ofstream out(path);
        out << "{not json";
    }
    CHECK_THROWS_AS(model::read_hugging_face_clip_config(path), tailor::parse_error);
    CHECK_THROWS_AS(model::read_hugging_face_clip_config(path.string() + ".missing"), tailor::io_error);
}

TEST_CASE("Half and bfloat16 checkpoints load and convert to float", "[clip]")
{
    const auto hf = parity_cases()[0];
    for (auto type : {tailor::io::dtype::float16, tailor::io::dtype::bfloat16}) {
        const auto shaped_path =
            rewrite(clip_fixture("tiny_hf.safetensors"), "tailor_clip_narrow.safetensors",
                    [&](const safetensors_file& in, const std::string& name, const auto& info, safetensors_writer& out) {
                        const std::vector<float> values = in.load_values<float>(name);
                        std::vector<std::uint16_t> narrow;
                        for (float v : values)
                            narrow.push_back(type == tailor::io::dtype::float16 ? tailor::io::detail::float_to_half(v)
                                                                                : tailor::io::detail::float_to_bfloat16(v));
                        out.add(name, type, info.shape, std::as_bytes(std::span(narrow)));
                    });
        auto m = model::clip_model<float>::load(shaped_path, hf.overrides);
        const safetensors_file io(clip_fixture("tiny_hf_io.safetensors"));
        const auto pixels = io.load<float, 4>("pixel_values");
        matrix<float> image({pixels.extent(0), 40});
        tailor::eigen::backend be;
        m.vision_encoder().encode(be, pixels.view(), image.view());
        const auto a = compare_rows(image.data(), io.load_values<float>("image_embeds").data(), pixels.extent(0), 40);
        INFO(tailor::io::dtype_name(type) << ": min cosine " << a.min_cosine);
        CHECK(a.min_cosine > (type == tailor::io::dtype::float16 ? 0.999 : 0.99));
    }
}

TEST_CASE("Bad checkpoints are reported tensor by tensor", "[clip]")
{
    const auto source = clip_fixture("tiny_hf.safetensors");
    auto copy_all_but = [](const std::string& drop, const std::string& reshape) {
        return [=](const safetensors_file& in, const std::string& name, const auto& info, safetensors_writer& out) {
            if (name == drop) return;
            auto shape = info.shape;
            auto raw = in.raw(name);
            if (name == reshape) {
                // Same bytes, a different (wrong) shape.
                shape = {static_cast<index_t>(raw.size() / 4)};
            }
            out.add(name, info.type, shape, raw);
        };
    };

    SECTION("missing")
    {
        const auto path = rewrite(source, "tailor_clip_missing.safetensors",
                                  copy_all_but("vision_model.encoder.layers.1.mlp.fc2.bias", ""));
        try {
            model::load_clip_weights<float>(path);
            FAIL("expected a parse_error");
        } catch (const tailor::parse_error& e) {
            CHECK_THAT(e.what(), Catch::Contains("missing (1)") && Catch::Contains("vision_model.encoder.layers.1.mlp.fc2.bias"));
        }
    }
    SECTION("mis-shaped")
    {
        const auto path = rewrite(source, "tailor_clip_shape.safetensors",
                                  copy_all_but("", "text_model.encoder.layers.0.self_attn.v_proj.weight"));
        try {
            model::load_clip_weights<float>(path);
            FAIL("expected a parse_error");
        } catch (const tailor::parse_error& e) {
            CHECK_THAT(e.what(), Catch::Contains("mis-shaped") &&
                                     Catch::Contains("text_model.encoder.layers.0.self_attn.v_proj.weight (expected [48, 48], found [2304])"));
        }
    }
    SECTION("extra")
    {
        const auto path = rewrite(source, "tailor_clip_extra.safetensors",
                                  [](const safetensors_file& in, const std::string& name, const auto& info, safetensors_writer& out) {
                                      out.add(name, info.type, info.shape, in.raw(name));
                                      if (name == "logit_scale") {
                                          const float one = 1;
                                          out.add("vision_model.head.weight", tailor::io::dtype::float32, {1}, std::as_bytes(std::span(&one, 1)));
                                      }
                                  });
        try {
            model::load_clip_weights<float>(path);
            FAIL("expected a parse_error");
        } catch (const tailor::parse_error& e) {
            CHECK_THAT(e.what(), Catch::Contains("extra (1)") && Catch::Contains("vision_model.head.weight"));
        }
    }
    SECTION("not a CLIP checkpoint")
    {
        safetensors_writer out;
        const float one = 1;
        out.add("encoder.weight", tailor::io::dtype::float32, {1}, std::as_bytes(std::span(&one, 1)));
        const auto path = std::filesystem::temp_directory_path() / "tailor_clip_none.safetensors";
        out.write(path);
        CHECK_THROWS_AS(model::load_clip_weights<float>(path), tailor::parse_error);
    }
    SECTION("heads that do not divide the width")
    {
        model::clip_overrides o;
        o.vision_heads = 5;
        CHECK_THROWS_WITH(model::load_clip_weights<float>(std::filesystem::path(source), o), Catch::Contains("vision_heads"));
    }
}

TEST_CASE("CLIP encoders reject bad inputs and pool exactly under truncation", "[clip]")
{
    auto m = model::clip_model<float>::load(clip_fixture("tiny_hf.safetensors"), parity_cases()[0].overrides);
    tailor::eigen::backend be;
    auto& vision = m.vision_encoder();
    auto& text = m.text_encoder();

    tailor::tensor<float, 4> wrong_size({1, 3, 31, 31});
    matrix<float> one({1, 40});
    CHECK_THROWS_AS(vision.encode(be, wrong_size.view(), one.view()), tailor::shape_error);
    tailor::tensor<float, 4> pixels({1, 3, 32, 32}, 0.25f);
    matrix<float> wrong_out({1, 39});
    CHECK_THROWS_AS(vision.encode(be, pixels.view(), wrong_out.view()), tailor::shape_error);

    std::vector<std::int32_t> bad = {97, 5, 99, 0};
    CHECK_THROWS_AS(text.encode(be, matrix_view<const std::int32_t>(bad.data(), {1, 4}), one.view()), tailor::index_error);
    std::vector<std::int32_t> too_long(17, 1);
    CHECK_THROWS_AS(text.encode(be, matrix_view<const std::int32_t>(too_long.data(), {1, 17}), one.view()), tailor::shape_error);

    // Padding after EOT never reaches the pooled row: the same prompt padded to 6 or to the
    // full context gives the same embedding (the encoder stops at the batch's last EOT).
    std::vector<std::int32_t> short_row = {97, 10, 20, 98, 0, 0};
    std::vector<std::int32_t> full_row(16, 0);
    std::copy(short_row.begin(), short_row.begin() + 4, full_row.begin());
    matrix<float> a({1, 40}), b({1, 40});
    text.encode(be, matrix_view<const std::int32_t>(short_row.data(), {1, 6}), a.view());
    text.encode(be, matrix_view<const std::int32_t>(full_row.data(), {1, 16}), b.view());
    for (index_t j = 0; j < 40; ++j) CHECK(a(0, j) == Approx(b(0, j)).margin(1e-6));
    // And batched with a longer row, it is unchanged too.
    std::vector<std::int32_t> batch(32, 0);
    std::copy(full_row.begin(), full_row.end(), batch.begin());
    for (index_t j = 0; j < 15; ++j) batch[static_cast<std::size_t>(16 + j)] = static_cast<std::int32_t>(1 + j);
    batch[31] = 98;
    matrix<float> both({2, 40});
    text.encode(be, matrix_view<const std::int32_t>(batch.data(), {2, 16}), both.view());
    for (index_t j = 0; j < 40; ++j) CHECK(both(0, j) == Approx(b(0, j)).margin(1e-5));
}

// Full-size ViT-B/32 (open_clip, OpenAI names) and ViT-B/16 + text (transformers): run by
// tools/clip_full_parity.sh, which writes the files with tools/clip_reference.py --full and
// points TAILOR_CLIP_FULL_DIR at them. Without it this test has nothing to compare.
TEST_CASE("Full-size CLIP models match their references", "[clip][clip-full]")
{
    const char* dir = std::getenv("TAILOR_CLIP_FULL_DIR");
    if (!dir) {
        WARN("TAILOR_CLIP_FULL_DIR is not set: full-size parity runs through tools/clip_full_parity.sh");
        return;
    }
    tailor::eigen::backend be;
    for (std::string name : {"vit_b32_openai", "vit_b16_hf"}) {
        INFO(name);
        model::clip_overrides o;
        if (name == "vit_b16_hf") o.end_of_text_id = 49407;
        auto m = model::clip_model<float>::load(std::string(dir) + "/" + name + ".safetensors", o);
        const safetensors_file io(std::string(dir) + "/" + name + "_io.safetensors");
        const auto pixels = io.load<float, 4>("pixel_values");
        const index_t d = m.vision_encoder().config().output_dim;
        matrix<float> image({pixels.extent(0), d});
        m.vision_encoder().encode(be, pixels.view(), image.view());
        require_close(compare_rows(image.data(), io.load_values<float>("image_embeds").data(), pixels.extent(0), d),
                      name + " image_embeds");
        const auto ids = io.load<std::int64_t, 2>("input_ids");
        matrix<float> texts({ids.extent(0), m.text_encoder().config().output_dim});
        m.text_encoder().encode(be, ids.view(), texts.view());
        require_close(compare_rows(texts.data(), io.load_values<float>("text_embeds").data(), ids.extent(0), texts.extent(1)),
                      name + " text_embeds");
    }
}

TEST_CASE("Zero-shot classifier: prompt ensemble of normalised text embeddings", "[clip]")
{
    CHECK(model::fill_prompt("a photo of a {}.", "dog") == "a photo of a dog.");
    CHECK(model::fill_prompt("{} and {}", "cat") == "cat and cat");
    CHECK_THROWS_WITH(model::fill_prompt("no placeholder", "dog"), Catch::Contains("templates"));

#if defined(TAILOR_SHARED_DATA_DIR)
    const auto tokenizer =
        tailor::text::clip_tokenizer::from_openai_bpe(std::string(TAILOR_SHARED_DATA_DIR) + "/clip/bpe_simple_vocab_16e6.txt.gz");
    // A small random text tower over the real vocabulary.
    model::text_config c{{32, 2, 2, 64, model::activation::quick_gelu, 1e-5}, 49408, 16, 24, -1};
    std::mt19937_64 engine(5);
    model::clip_text_encoder<float> encoder(model::random_text_weights<float>(c, engine));
    tailor::eigen::backend be;
    const std::vector<std::string> names = {"dog", "golden retriever", "sea lion"};
    const std::vector<std::string> templates = {"a photo of a {}.", "a drawing of the {}.", "{}"};
    const auto classifier = model::zero_shot_classifier(be, encoder, tokenizer, std::span(names), std::span(templates), 4);
    REQUIRE(classifier.extent(0) == 3);
    REQUIRE(classifier.extent(1) == 24);
    for (index_t k = 0; k < 3; ++k) {
        // The same by hand, one prompt at a time.
        std::vector<double> mean(24, 0.0);
        for (const auto& t : templates) {
            const auto ids = tokenizer.encode_batch<std::int32_t>(std::vector<std::string>{model::fill_prompt(t, names[k])}, 16);
            matrix<float> e({1, 24});
            encoder.encode(be, ids.view(), e.view());
            double n = 0;
            for (index_t j = 0; j < 24; ++j) n += double(e(0, j)) * e(0, j);
            for (index_t j = 0; j < 24; ++j) mean[j] += e(0, j) / std::sqrt(n);
        }
        double n = 0;
        for (double v : mean) n += v * v;
        for (index_t j = 0; j < 24; ++j) CHECK(classifier(k, j) == Approx(mean[j] / std::sqrt(n)).margin(2e-6));
    }
    // Logits: exp(scale) cos(image, class).
    matrix<float> images({2, 24});
    for (index_t j = 0; j < 24; ++j) images(0, j) = 3 * classifier(1, j), images(1, j) = -classifier(2, j);
    matrix<float> logits({2, 3});
    model::zero_shot_logits(be, matrix_view<const float>(images.view()), matrix_view<const float>(classifier.view()),
                            std::log(100.f), logits.view());
    CHECK(logits(0, 1) == Approx(100).epsilon(1e-5));
    CHECK(logits(1, 2) == Approx(-100).epsilon(1e-5));
    CHECK(logits(0, 0) < 100);
#endif
}

TEST_CASE("save_clip_weights writes either naming and loads back unchanged", "[clip]")
{
    const auto hf = parity_cases()[0];
    const auto original = model::load_clip_weights<float>(std::filesystem::path(clip_fixture("tiny_hf.safetensors")), hf.overrides);
    const safetensors_file io(clip_fixture("tiny_hf_io.safetensors"));
    const auto pixels = io.load<float, 4>("pixel_values");
    const auto ids = io.load<std::int64_t, 2>("input_ids");
    tailor::eigen::backend be;
    auto embed = [&](model::clip_model<float>& m) {
        matrix<float> image({pixels.extent(0), 40}), text({ids.extent(0), 40});
        m.vision_encoder().encode(be, pixels.view(), image.view());
        m.text_encoder().encode(be, ids.view(), text.view());
        std::vector<float> all(image.begin(), image.end());
        all.insert(all.end(), text.begin(), text.end());
        return all;
    };
    auto reference_model = model::clip_model<float>::from_weights(original);
    const auto reference = embed(reference_model);
    for (auto naming : {model::clip_naming::openai, model::clip_naming::hugging_face}) {
        const auto path = std::filesystem::temp_directory_path() / "tailor_clip_saved.safetensors";
        model::save_clip_weights(original, path, naming);
        const safetensors_file saved(path);
        CHECK(model::detect_clip_naming(saved) == naming);
        CHECK(saved.info("logit_scale").shape.empty());
        auto m = model::clip_model<float>::load(path, hf.overrides);
        CHECK(m.logit_scale == *original.logit_scale);
        CHECK(embed(m) == reference);
    }
}
