#pragma once
// The demo's real-data source: a folder with one sub-folder of images per class, encoded by
// a CLIP checkpoint into the same dataset the generated world fills (dataset.hpp).
//
//   classes      sub-folders of --images, sorted by name; a name's underscores become spaces
//                ("snow_leopard" -> "snow leopard"); names starting with '.' are skipped
//   images       files directly inside a class folder with an image extension (png, jpg,
//                jpeg, bmp, gif, tga, psd, hdr, pic, pnm, ppm, pgm; any case), sorted by name;
//                other files are counted and ignored
//   split        per class of n images: t = clamp(round(test_fraction n), 1, n - 1) test
//                images, chosen by a Fisher-Yates shuffle from Philox stream
//                (split_seed, FNV-1a 64 of the folder name); the rest train. n < 2 is an error.
//   image side   tailor/image's CLIP preprocessing at the model's resolution, the vision
//                tower in batches, L2-normalised rows
//   text side    per template k, tailor::model::zero_shot_classifier(names, {template k}):
//                the normalised prompt embedding of every class; a class's anchor sentences
//                (LGR) are these K rows, its classifier row is their normalised mean (the
//                prompt ensemble, zero_shot_classifier's rule over all templates)
//   cache        one safetensors file per checkpoint in the cache folder, keyed by what the
//                numbers depend on (see feature_cache below); a stale or damaged part is
//                recomputed and the file rewritten
#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/core.h>
#include <unistd.h>
#if defined(_OPENMP)
#include <omp.h>
#endif

#include "tailor/backend/eigen/backend.hpp"
#include "tailor/core/error.hpp"
#include "tailor/core/random.hpp"
#include "tailor/image/decode.hpp"
#include "tailor/image/preprocess.hpp"
#include "tailor/io/safetensors.hpp"
#include "tailor/model/clip.hpp"
#include "tailor/model/zero_shot.hpp"
#include "tailor/text/clip_tokenizer.hpp"
#include "dataset.hpp"
#include "progress.hpp"

namespace demo {

namespace fs = std::filesystem;

/// The prompt templates used without --templates: a few of the CLIP ImageNet style.
inline std::vector<std::string> default_templates()
{
    return {"a photo of a {}.",         "a blurry photo of a {}.", "a close-up photo of a {}.",
            "a photo of the small {}.", "a photo of the large {}.", "a cropped photo of a {}.",
            "a bright photo of a {}.",  "art of the {}."};
}

struct image_data_options {
    fs::path weights;          ///< CLIP checkpoint (safetensors, OpenAI or Hugging Face names)
    fs::path vocab;            ///< bpe_simple_vocab_16e6.txt[.gz], or a folder with vocab.json + merges.txt
    fs::path images;           ///< one sub-folder per class
    fs::path hf_config;        ///< optional Hugging Face config.json (heads, activation, eps)
    fs::path templates;        ///< optional file of prompt templates, one per line
    fs::path cache_dir;        ///< empty: images/.tailor-cache
    bool use_cache = true;
    double test_fraction = 0.2;
    std::uint64_t split_seed = 5;
    index_t extract_batch = 32;
    int extract_threads = 0;   ///< OpenMP threads while extracting; 0: every processor
    bool progress = false;
};

struct image_file {
    fs::path path;         ///< as found under --images
    std::string relative;  ///< "class_folder/file", '/'-separated
    std::int32_t label = 0;
    std::uintmax_t bytes = 0;
    std::int64_t modified = 0;  ///< last write time, file clock ticks
};

struct image_listing {
    std::vector<std::string> folders;      ///< class folders, sorted
    std::vector<std::string> class_names;  ///< folder names with '_' -> ' '
    std::vector<image_file> files;         ///< grouped by class, by name within a class
    index_t ignored = 0;                   ///< files in class folders without an image extension
};

/// What the cache did for each part: "hit", "missing" (no file), "stale" (the file is for
/// other inputs), "invalid" (unreadable or damaged), "disabled" (--no-cache).
struct cache_report {
    fs::path path;
    std::string image_features = "disabled", text_embeddings = "disabled";
    std::string reason;  ///< why a part was recomputed, empty on a hit
    bool written = false;
};

struct image_data {
    dataset data;
    image_listing listing;
    std::vector<index_t> train_rows, test_rows;  ///< indices into listing.files, in sample order
    std::vector<std::string> templates;
    cache_report cache;
    index_t resolution = 0, feature_dim = 0;
    double load_seconds = 0, feature_seconds = 0, text_seconds = 0;
};

namespace detail {

using tailor::detail::concat;

[[noreturn]] inline void fail_io(const std::string& message) { throw tailor::io_error("tailor demo: " + message); }
[[noreturn]] inline void fail_argument(const std::string& message)
{
    throw tailor::argument_error("tailor demo: " + message);
}

inline std::uint64_t fnv1a(std::span<const std::byte> bytes, std::uint64_t h = 14695981039346656037ull)
{
    for (std::byte b : bytes) h = (h ^ std::to_integer<std::uint64_t>(b)) * 1099511628211ull;
    return h;
}
inline std::uint64_t fnv1a(std::string_view s, std::uint64_t h = 14695981039346656037ull)
{
    return fnv1a(std::as_bytes(std::span(s.data(), s.size())), h);
}
inline std::string hex(std::uint64_t v) { return fmt::format("{:016x}", v); }

inline bool has_image_extension(const fs::path& p)
{
    std::string ext = p.extension().string();
    for (auto& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    static constexpr std::array<std::string_view, 12> known = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tga",
                                                                 ".psd", ".hdr", ".pic", ".pnm", ".ppm", ".pgm"};
    return std::find(known.begin(), known.end(), ext) != known.end();
}

/// The entries of `dir` whose names do not start with '.', sorted by name.
inline std::vector<fs::directory_entry> visible_entries(const fs::path& dir)
{
    std::vector<fs::directory_entry> out;
    try {
        for (const auto& e : fs::directory_iterator(dir))
            if (!e.path().filename().string().starts_with(".")) out.push_back(e);
    } catch (const fs::filesystem_error& e) {
        fail_io(concat("cannot read the folder '", dir.string(), "': ", e.code().message()));
    }
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return a.path().filename().string() < b.path().filename().string(); });
    return out;
}

inline bool is_directory(const fs::directory_entry& e)
{
    std::error_code ec;
    return e.is_directory(ec);
}

}  // namespace detail

/// Finds the classes and their images under `root` (see the header comment for the rules).
inline image_listing list_images(const fs::path& root)
{
    using detail::concat;
    std::error_code ec;
    if (!fs::exists(root, ec)) detail::fail_io(concat("--images '", root.string(), "': no such folder"));
    if (!fs::is_directory(root, ec)) detail::fail_io(concat("--images '", root.string(), "' is not a folder"));
    image_listing out;
    for (const auto& e : detail::visible_entries(root))
        if (detail::is_directory(e)) out.folders.push_back(e.path().filename().string());
    if (out.folders.empty())
        detail::fail_argument(concat("--images '", root.string(),
                                     "' has no class folders (expected one sub-folder of images per class, named "
                                     "after the class)"));
    if (out.folders.size() < 2)
        detail::fail_argument(concat("--images '", root.string(), "' has one class folder ('", out.folders[0],
                                     "'); the comparison needs at least 2 classes"));
    std::map<std::string, std::string> seen;  // class name -> folder
    for (std::size_t c = 0; c < out.folders.size(); ++c) {
        const std::string& folder = out.folders[c];
        std::string name = folder;
        std::replace(name.begin(), name.end(), '_', ' ');
        if (auto [it, added] = seen.emplace(name, folder); !added)
            detail::fail_argument(concat("the class folders '", it->second, "' and '", folder, "' both name the class '",
                                         name, "'"));
        out.class_names.push_back(name);
        std::size_t found = 0;
        for (const auto& e : detail::visible_entries(root / folder)) {
            if (detail::is_directory(e)) continue;
            if (!detail::has_image_extension(e.path())) {
                ++out.ignored;
                continue;
            }
            image_file f;
            f.path = e.path();
            f.relative = folder + "/" + e.path().filename().string();
            f.label = static_cast<std::int32_t>(c);
            f.bytes = e.file_size(ec);
            if (ec) detail::fail_io(concat("cannot read the image '", e.path().string(), "': ", ec.message()));
            f.modified = static_cast<std::int64_t>(e.last_write_time(ec).time_since_epoch().count());
            out.files.push_back(std::move(f));
            ++found;
        }
        if (found < 2)
            detail::fail_argument(concat("class '", name, "' (folder '", (root / folder).string(), "') has ", found,
                                         found == 1 ? " image" : " images",
                                         "; every class needs at least 2, one to train on and one to test"));
    }
    return out;
}

/// The deterministic train / test split (see the header comment): row indices into
/// `listing.files`, each list in listing order.
inline void split_images(const image_listing& listing, double test_fraction, std::uint64_t seed,
                         std::vector<index_t>& train, std::vector<index_t>& test)
{
    train.clear();
    test.clear();
    const auto n_files = static_cast<index_t>(listing.files.size());
    for (index_t begin = 0; begin < n_files;) {
        const std::int32_t label = listing.files[std::size_t(begin)].label;
        index_t end = begin;
        while (end < n_files && listing.files[std::size_t(end)].label == label) ++end;
        const index_t n = end - begin;
        const index_t t = std::clamp<index_t>(std::lround(test_fraction * double(n)), 1, n - 1);
        std::vector<index_t> order(static_cast<std::size_t>(n));
        for (index_t i = 0; i < n; ++i) order[std::size_t(i)] = i;
        tailor::philox4x32_10 rng(seed, detail::fnv1a(listing.folders[std::size_t(label)]));
        for (index_t i = n - 1; i > 0; --i) {
            const auto j = std::min(i, index_t(tailor::uniform_real<double>(rng) * double(i + 1)));
            std::swap(order[std::size_t(i)], order[std::size_t(j)]);
        }
        std::vector<bool> is_test(static_cast<std::size_t>(n), false);
        for (index_t k = 0; k < t; ++k) is_test[std::size_t(order[std::size_t(k)])] = true;
        for (index_t i = 0; i < n; ++i) (is_test[std::size_t(i)] ? test : train).push_back(begin + i);
        begin = end;
    }
}

/// Prompt templates from a file: one per line, each containing "{}"; blank lines and lines
/// starting with '#' are skipped, surrounding whitespace is trimmed.
inline std::vector<std::string> read_templates(const fs::path& path)
{
    using detail::concat;
    std::ifstream in(path);
    if (!in) detail::fail_io(concat("--templates '", path.string(), "': cannot open it"));
    std::vector<std::string> out;
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
        const auto first = line.find_first_not_of(" \t\r");
        if (first == std::string::npos || line[first] == '#') continue;
        line = line.substr(first, line.find_last_not_of(" \t\r") - first + 1);
        if (line.find("{}") == std::string::npos)
            detail::fail_argument(concat("--templates '", path.string(), "' line ", number, ": '", line,
                                         "' has no '{}' for the class name"));
        out.push_back(line);
    }
    if (out.empty()) detail::fail_argument(concat("--templates '", path.string(), "' holds no templates"));
    return out;
}

/// The CLIP tokenizer from --vocab: OpenAI's merges file (gzip or plain), or a folder with
/// Hugging Face's vocab.json and merges.txt.
inline tailor::text::clip_tokenizer load_tokenizer(const fs::path& vocab)
{
    using detail::concat;
    std::error_code ec;
    if (fs::is_directory(vocab, ec)) {
        const fs::path json = vocab / "vocab.json", merges = vocab / "merges.txt";
        for (const auto& p : {json, merges})
            if (!fs::is_regular_file(p, ec))
                detail::fail_io(concat("--vocab '", vocab.string(), "' is a folder without '", p.filename().string(),
                                       "' (a folder needs vocab.json and merges.txt; or pass bpe_simple_vocab_16e6.txt.gz)"));
        return tailor::text::clip_tokenizer::from_hugging_face(json, merges);
    }
    if (!fs::is_regular_file(vocab, ec)) detail::fail_io(concat("--vocab '", vocab.string(), "': no such file or folder"));
    return tailor::text::clip_tokenizer::from_openai_bpe(vocab);
}

/// The feature cache: one safetensors file holding the raw image embeddings of every listed
/// image ("image_features" [N, D], listing order, before normalisation) and the per-template
/// prompt embeddings ("text_anchors" [C, K, D]), with the keys they were computed under and
/// an FNV-1a 64 checksum of each tensor's bytes in its metadata. A part is used only when
/// its keys equal the current ones and its checksum matches.
class feature_cache {
public:
    struct keys {
        std::string weights;  ///< canonical path, size and modification time of the checkpoint
        std::string vision;   ///< vision tower configuration (heads and activation included) and preprocessing
        std::string images;   ///< count and digest of "relative path, size, modification time" per image
        std::string text;     ///< text tower configuration, tokenizer file(s), class names and templates
    };

    feature_cache(fs::path path, keys k) : path_(std::move(path)), keys_(std::move(k)) {}

    const fs::path& path() const noexcept { return path_; }

    /// Reads what is valid; fills the report's statuses and reason.
    void read(index_t images, index_t classes, index_t templates, index_t dim, cache_report& report)
    {
        using tailor::detail::concat;
        report.path = path_;
        std::error_code ec;
        if (!fs::exists(path_, ec)) {
            report.image_features = report.text_embeddings = "missing";
            report.reason = "no cache file yet";
            return;
        }
        std::vector<std::string> reasons;
        try {
            const tailor::io::safetensors_file file(path_);
            const auto& meta = file.metadata();
            auto get = [&](const std::string& key) -> std::string {
                const auto it = meta.find(key);
                return it == meta.end() ? std::string() : it->second;
            };
            if (get("tailor_demo_cache") != format_version) {
                report.image_features = report.text_embeddings = "invalid";
                report.reason = "not a tailor demo feature cache of this version";
                return;
            }
            auto load_part = [&](const std::string& tensor, std::vector<index_t> shape,
                                 std::vector<std::pair<const char*, const std::string*>> wanted, auto& into,
                                 std::string& status, const char* what) {
                for (const auto& [key, value] : wanted)
                    if (get(key) != *value) {
                        status = "stale";
                        reasons.push_back(concat(what, ": the ", key, " changed"));
                        return;
                    }
                if (!file.contains(tensor)) {
                    status = "invalid";
                    reasons.push_back(concat(what, ": no tensor '", tensor, "'"));
                    return;
                }
                const auto& info = file.info(tensor);
                if (info.type != tailor::io::dtype::float32 || info.shape != shape) {
                    status = "invalid";
                    reasons.push_back(concat(what, ": tensor '", tensor, "' has the wrong dtype or shape"));
                    return;
                }
                if (detail::hex(detail::fnv1a(file.raw(tensor))) != get(tensor + "_fnv1a64")) {
                    status = "invalid";
                    reasons.push_back(concat(what, ": checksum mismatch (the file is damaged)"));
                    return;
                }
                using value_type = std::remove_cvref_t<decltype(*into)>;
                into = file.load<float, value_type::rank>(tensor);
                status = "hit";
            };
            load_part("image_features", {images, dim},
                      {{"weights", &keys_.weights}, {"vision", &keys_.vision}, {"images", &keys_.images}}, features_,
                      report.image_features, "image features");
            load_part("text_anchors", {classes, templates, dim}, {{"weights", &keys_.weights}, {"text", &keys_.text}},
                      anchors_, report.text_embeddings, "text embeddings");
        } catch (const tailor::error& e) {
            features_.reset();
            anchors_.reset();
            report.image_features = report.text_embeddings = "invalid";
            reasons.push_back(concat("unreadable: ", e.what()));
        }
        for (const auto& r : reasons) report.reason += (report.reason.empty() ? "" : "; ") + r;
    }

    std::optional<tailor::matrix<float>>& features() noexcept { return features_; }
    std::optional<tailor::tensor<float, 3>>& anchors() noexcept { return anchors_; }

    /// Writes both parts (to a temporary file, then renamed over the cache). A failure is
    /// reported and otherwise ignored: the cache only saves time.
    bool write(const tailor::matrix<float>& features, const tailor::tensor<float, 3>& anchors) const
    {
        try {
            tailor::io::safetensors_writer out;
            out.set_metadata("tailor_demo_cache", format_version);
            out.set_metadata("weights", keys_.weights);
            out.set_metadata("vision", keys_.vision);
            out.set_metadata("images", keys_.images);
            out.set_metadata("text", keys_.text);
            out.set_metadata("image_features_fnv1a64", detail::hex(detail::fnv1a(bytes_of(features))));
            out.set_metadata("text_anchors_fnv1a64", detail::hex(detail::fnv1a(bytes_of(anchors))));
            out.add("image_features", features.view());
            out.add("text_anchors", anchors.view());
            fs::create_directories(path_.parent_path());
            const fs::path temporary = path_.string() + fmt::format(".tmp-{}", ::getpid());
            out.write(temporary);
            fs::rename(temporary, path_);
            return true;
        } catch (const std::exception& e) {
            fmt::print(stderr, "tailor demo: warning: cannot write the feature cache '{}': {}\n", path_.string(), e.what());
            return false;
        }
    }

private:
    static constexpr const char* format_version = "1";

    template <class Tensor>
    static std::span<const std::byte> bytes_of(const Tensor& t)
    {
        return std::as_bytes(std::span(t.data(), static_cast<std::size_t>(t.size())));
    }

    fs::path path_;
    keys keys_;
    std::optional<tailor::matrix<float>> features_;
    std::optional<tailor::tensor<float, 3>> anchors_;
};

namespace detail {

inline std::string canonical_name(const fs::path& p)
{
    std::error_code ec;
    const fs::path canonical = fs::weakly_canonical(p, ec);
    return ec ? p.string() : canonical.string();
}

/// A file's canonical path, size and modification time: what says it is the same file.
inline std::string file_identity(const fs::path& p)
{
    std::error_code ec;
    const auto size = fs::file_size(p, ec);
    const auto modified = fs::last_write_time(p, ec).time_since_epoch().count();
    return concat(canonical_name(p), " size ", size, " modified ", static_cast<std::int64_t>(modified));
}

inline std::string tower_key(const tailor::model::transformer_config& t)
{
    return fmt::format("width {} layers {} heads {} mlp {} activation {} eps {}", t.width, t.layers, t.heads, t.mlp_width,
                       tailor::model::activation_name(t.act), t.layer_norm_eps);
}

/// Sets OpenMP's thread count for a scope.
class thread_scope {
public:
    explicit thread_scope([[maybe_unused]] int threads)
    {
#if defined(_OPENMP)
        saved_ = omp_get_max_threads();
        omp_set_num_threads(threads > 0 ? threads : omp_get_num_procs());
#endif
    }
    ~thread_scope()
    {
#if defined(_OPENMP)
        omp_set_num_threads(saved_);
#endif
    }
    thread_scope(const thread_scope&) = delete;
    thread_scope& operator=(const thread_scope&) = delete;

private:
    [[maybe_unused]] int saved_ = 1;
};

inline double seconds_since(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace detail

/// Lists, splits and encodes the images of `o.images` and the prompts of its class names
/// with the CLIP checkpoint `o.weights`, reusing the feature cache where it is valid.
inline image_data load_image_data(const image_data_options& o)
{
    using detail::concat;
    tailor::detail::require(std::isfinite(o.test_fraction) && o.test_fraction > 0 && o.test_fraction < 1,
                            "--test-fraction", "a value in (0, 1)", o.test_fraction);
    tailor::detail::require(o.extract_batch >= 1, "--extract-batch", ">= 1", o.extract_batch);
    std::error_code ec;
    if (!fs::exists(o.weights, ec)) detail::fail_io(concat("--weights '", o.weights.string(), "': no such file"));
    if (!fs::is_regular_file(o.weights, ec)) detail::fail_io(concat("--weights '", o.weights.string(), "' is not a file"));
    if (!o.hf_config.empty() && !fs::is_regular_file(o.hf_config, ec))
        detail::fail_io(concat("--hf-config '", o.hf_config.string(), "': no such file"));

    image_data out;
    out.listing = list_images(o.images);
    split_images(out.listing, o.test_fraction, o.split_seed, out.train_rows, out.test_rows);
    out.templates = o.templates.empty() ? default_templates() : read_templates(o.templates);

    auto started = std::chrono::steady_clock::now();
    const tailor::model::clip_overrides overrides =
        o.hf_config.empty() ? tailor::model::clip_overrides{} : tailor::model::read_hugging_face_clip_config(o.hf_config);
    auto model = tailor::model::clip_model<float>::load(o.weights, overrides);
    if (!model.vision || !model.text)
        detail::fail_argument(concat("--weights '", o.weights.string(), "' has no ", model.vision ? "text" : "vision",
                                     " tower; the demo needs both (image features and class text embeddings)"));
    auto& vision = model.vision_encoder();
    auto& text = model.text_encoder();
    const auto& vc = vision.config();
    const auto& tc = text.config();
    if (vc.output_dim != tc.output_dim)
        detail::fail_argument(concat("--weights '", o.weights.string(), "': image embeddings have ", vc.output_dim,
                                     " dimensions and text embeddings ", tc.output_dim, "; they must agree"));
    const auto tokenizer = load_tokenizer(o.vocab);
    if (static_cast<index_t>(tokenizer.vocabulary_size()) != tc.vocabulary_size)
        detail::fail_argument(concat("vocabulary mismatch: the tokenizer from --vocab '", o.vocab.string(), "' has ",
                                     tokenizer.vocabulary_size(), " tokens, the text tower of --weights '",
                                     o.weights.string(), "' embeds ", tc.vocabulary_size,
                                     " (they belong to different models)"));
    out.load_seconds = detail::seconds_since(started);

    tailor::image::clip_image_preprocess preprocess;
    preprocess.resolution = vc.image_size;  // the model's own resolution, so sizes always agree
    out.resolution = vc.image_size;
    const index_t n = static_cast<index_t>(out.listing.files.size()), C = static_cast<index_t>(out.listing.folders.size());
    const index_t K = static_cast<index_t>(out.templates.size()), D = vc.output_dim;
    out.feature_dim = D;

    // The keys of the cache: everything the cached numbers depend on.
    feature_cache::keys keys;
    keys.weights = detail::file_identity(o.weights);
    keys.vision = fmt::format("{}; patch {} image {} output {}; preprocess resolution {} interpolation {} mean {} {} {} "
                              "std {} {} {}",
                              detail::tower_key(vc.tower), vc.patch_size, vc.image_size, vc.output_dim,
                              preprocess.resolution, tailor::image::to_string(preprocess.interpolation),
                              preprocess.mean[0], preprocess.mean[1], preprocess.mean[2], preprocess.std[0],
                              preprocess.std[1], preprocess.std[2]);
    {
        std::uint64_t h = detail::fnv1a("");
        for (const auto& f : out.listing.files) h = detail::fnv1a(fmt::format("{}\t{}\t{}\n", f.relative, f.bytes, f.modified), h);
        keys.images = fmt::format("count {} digest {}", n, detail::hex(h));
    }
    {
        std::uint64_t h = detail::fnv1a("");
        for (const auto& name : out.listing.class_names) h = detail::fnv1a(name + "\n", h);
        h = detail::fnv1a("\n", h);
        for (const auto& t : out.templates) h = detail::fnv1a(t + "\n", h);
        const std::string vocab_key =
            fs::is_directory(o.vocab, ec)
                ? detail::file_identity(o.vocab / "vocab.json") + " + " + detail::file_identity(o.vocab / "merges.txt")
                : detail::file_identity(o.vocab);
        keys.text = fmt::format("{}; vocabulary {} context {} output {} eot {}; tokenizer {}; classes {} templates {} "
                                "digest {}",
                                detail::tower_key(tc.tower), tc.vocabulary_size, tc.context_length, tc.output_dim,
                                tc.end_of_text_id, vocab_key, C, K, detail::hex(h));
    }
    std::optional<feature_cache> cache;
    if (o.use_cache) {
        fs::path dir = o.cache_dir.empty() ? o.images / ".tailor-cache" : o.cache_dir;
        fs::create_directories(dir, ec);
        if (ec && o.cache_dir.empty()) {
            fmt::print(stderr, "tailor demo: warning: cannot create the cache folder '{}' ({}); running without a cache "
                               "(--cache-dir chooses another)\n", dir.string(), ec.message());
        } else if (ec) {
            detail::fail_io(concat("--cache-dir '", dir.string(), "': cannot create it: ", ec.message()));
        } else {
            // One file per checkpoint: its name and a hash of its canonical path.
            const std::string tag = detail::hex(detail::fnv1a(detail::canonical_name(o.weights))).substr(0, 8);
            cache.emplace(dir / fmt::format("features-{}-{}.safetensors", o.weights.stem().string(), tag), keys);
            cache->read(n, C, K, D, out.cache);
        }
    }

    tailor::eigen::backend be;
    // Image embeddings, in batches; the first unreadable image stops the run, named.
    tailor::matrix<float> features;
    started = std::chrono::steady_clock::now();
    if (cache && cache->features()) {
        features = std::move(*cache->features());
    } else {
        const detail::thread_scope threads(o.extract_threads);
        const index_t B = std::min(o.extract_batch, n), R = vc.image_size;
        features = tailor::matrix<float>({n, D});
        tailor::tensor<float, 4> pixels({B, 3, R, R});
        std::vector<fs::path> paths;
        progress_bar bar(o.progress, "features", n);
        for (index_t begin = 0; begin < n; begin += B) {
            const index_t end = std::min(n, begin + B);
            paths.clear();
            for (index_t i = begin; i < end; ++i) paths.push_back(out.listing.files[std::size_t(i)].path);
            const auto batch = pixels.view().slice(0, 0, end - begin);
            tailor::image::preprocess_files(std::span<const fs::path>(paths), batch, preprocess);
            vision.encode(be, tailor::tensor_view<const float, 4>(batch), features.view().slice(0, begin, end));
            const double elapsed = detail::seconds_since(started);
            bar.update(end, fmt::format("{:.1f} images/s", elapsed > 0 ? double(end) / elapsed : 0.0));
        }
        for (index_t i = 0; i < n; ++i)
            for (index_t j = 0; j < D; ++j)
                if (!std::isfinite(features(i, j)))
                    detail::fail_argument(concat("the vision tower gave a non-finite embedding for '",
                                                 out.listing.files[std::size_t(i)].path.string(), "'"));
    }
    out.feature_seconds = detail::seconds_since(started);

    // Per-template prompt embeddings (unit rows), each from zero_shot_classifier.
    tailor::tensor<float, 3> anchors;
    started = std::chrono::steady_clock::now();
    if (cache && cache->anchors()) {
        anchors = std::move(*cache->anchors());
    } else {
        const detail::thread_scope threads(o.extract_threads);
        anchors = tailor::tensor<float, 3>({C, K, D});
        const std::span<const std::string> names(out.listing.class_names);
        progress_bar bar(o.progress, "text", K);
        for (index_t k = 0; k < K; ++k) {
            const auto rows = tailor::model::zero_shot_classifier<float>(
                be, text, tokenizer, names, std::span<const std::string>(&out.templates[std::size_t(k)], 1));
            for (index_t c = 0; c < C; ++c)
                for (index_t j = 0; j < D; ++j) anchors(c, k, j) = rows(c, j);
            bar.update(k + 1, "templates");
        }
    }
    out.text_seconds = detail::seconds_since(started);
    if (cache && (out.cache.image_features != "hit" || out.cache.text_embeddings != "hit"))
        out.cache.written = cache->write(features, anchors);

    // The dataset: normalised image rows split into train and test, the ensemble classifier.
    dataset& d = out.data;
    tailor::model::normalize_rows(be, features.view());
    d.class_names = out.listing.class_names;
    auto take = [&](const std::vector<index_t>& rows, labelled_features& into) {
        into.features = tailor::matrix<float>({static_cast<index_t>(rows.size()), D});
        into.labels.resize(rows.size());
        for (std::size_t r = 0; r < rows.size(); ++r) {
            for (index_t j = 0; j < D; ++j) into.features(index_t(r), j) = features(rows[r], j);
            into.labels[r] = out.listing.files[std::size_t(rows[r])].label;
        }
    };
    take(out.train_rows, d.train);
    take(out.test_rows, d.test);
    d.counts.assign(std::size_t(C), 0);
    for (auto label : d.train.labels) ++d.counts[std::size_t(label)];
    d.text = tailor::matrix<float>({C, D});
    for (index_t c = 0; c < C; ++c)
        for (index_t j = 0; j < D; ++j) {
            double s = 0;
            for (index_t k = 0; k < K; ++k) s += anchors(c, k, j);
            d.text(c, j) = static_cast<float>(s / double(K));
        }
    tailor::model::normalize_rows(be, d.text.view());
    d.anchors = std::move(anchors);
    d.anchor_counts.assign(std::size_t(C), static_cast<std::int32_t>(K));
    return out;
}

}  // namespace demo
