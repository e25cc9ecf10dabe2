// tailor-demo: LFM's decoupled stage 2 on a long-tailed set of frozen features, every
// method of the comparison trained on the same features, reported as the papers report it,
// plus sweeps of LFM's alpha and tau. VL-LTR's LGR head trains on the same features and
// the dataset's anchor sentences; its image branch, text branch and fused prediction are
// three rows of the table. The features come from one of two sources: the generated world
// (world.hpp) or, with --weights / --vocab / --images, a folder of real images and their
// class names encoded by a CLIP checkpoint (image_data.hpp).
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fmt/core.h>
#include <fstream>
#include <unistd.h>
#if defined(_OPENMP)
#include <omp.h>
#endif

#include "report.hpp"
#include "train.hpp"
#include "world.hpp"
#if defined(TAILOR_DEMO_IMAGES)
#include "image_data.hpp"
#endif

namespace {

using namespace demo;
using tailor::metrics::shot_group;

struct lfm_options {
    double alpha = 1.0;
    double tau = 0.05;
    double beta_a = 0.5;
    double focal_gamma = 2.0;
    double ldam_max_margin = 0.5;
    double ldam_scale = 30.0;
    double drw_fraction = 0.8;
    double mms_lambda = 0.3;
    double mms_temperature = 0.01;
    double remix_kappa = 3.0;
    double remix_tau = 0.5;
};

tailor::text_similarity_pair_sampler<> text_sampler(const dataset& w, const tailor::class_index& index, double tau)
{
    return tailor::text_similarity_pair_sampler<>(tailor::text_embedding_similarity(w.text.view(), tailor::eigen::backend{}),
                                                   index, {.tau = tau, .top_k = 0});
}

std::vector<method> main_methods(const dataset& w, const tailor::class_index& index, const lfm_options& p,
                                 const training_options& t, const std::vector<std::string>& only)
{
    const double s = t.cosine_scale;
    const int drw_start = int(std::lround(p.drw_fraction * double(t.epochs)));
    std::vector<method> all;
    all.push_back({"zero-shot", std::nullopt, {}, std::nullopt, s});
    all.push_back({"CE", tailor::loss::cross_entropy{}, {}, std::nullopt, s});
    all.push_back({"BalCE", tailor::loss::balanced_softmax<float>(w.counts), {}, std::nullopt, s});
    all.push_back({"Focal", tailor::loss::focal{p.focal_gamma}, {}, std::nullopt, s});
    all.push_back({"LDAM-DRW", tailor::loss::ldam<float>(w.counts, p.ldam_max_margin, p.ldam_scale), {},
                   tailor::loss::drw_schedule<float>(w.counts, drw_start), 1.0});
    all.push_back({"MMS", tailor::loss::mms<float>(w.text.view(), p.mms_lambda, p.mms_temperature), {}, std::nullopt, 1.0});
    all.push_back({"Mixup", tailor::loss::cross_entropy{},
                   tailor::standard_mixup(tailor::random_pair_sampler<>(index), {}, tailor::beta_lambda(p.beta_a)),
                   std::nullopt, s});
    all.push_back({"Remix", tailor::loss::cross_entropy{},
                   tailor::remix_mixup(tailor::random_pair_sampler<>(index), tailor::remix_shift(p.remix_kappa, p.remix_tau),
                                       tailor::beta_lambda(1.0)),
                   std::nullopt, s});
    all.push_back({"LFM+CE", tailor::loss::cross_entropy{},
                   tailor::lfm_mixup(text_sampler(w, index, p.tau), tailor::lfm_shift(p.alpha), tailor::beta_lambda(p.beta_a)),
                   std::nullopt, s});
    all.push_back({"LFM+MMS", tailor::loss::mms<float>(w.text.view(), p.mms_lambda, p.mms_temperature),
                   tailor::lfm_mixup(text_sampler(w, index, p.tau), tailor::lfm_shift(p.alpha), tailor::beta_lambda(p.beta_a)),
                   std::nullopt, 1.0});
    if (only.empty()) return all;
    std::vector<method> chosen;
    for (const auto& name : only) {
        if (name == "LGR") continue;  // trained by train_lgr, not a cosine-head method
        auto it = std::find_if(all.begin(), all.end(), [&](const method& m) { return m.name == name; });
        if (it == all.end()) {
            std::string known;
            for (const auto& m : all) known += (known.empty() ? "" : ", ") + m.name;
            tailor::detail::fail("--methods", "one of " + known + ", LGR", name);
        }
        chosen.push_back(*it);
    }
    return chosen;
}

tailor::metrics::shot_report evaluate(const dataset& w, const std::vector<std::int32_t>& predictions)
{
    const auto n = static_cast<index_t>(w.test.labels.size());
    const auto per_class = tailor::metrics::per_class_accuracy<std::int32_t>(
        tailor::make_view(predictions.data(), n), tailor::make_view(w.test.labels.data(), n), w.classes());
    return tailor::metrics::shot_accuracy<std::int64_t>(per_class, tailor::make_view(w.counts.data(), w.classes()),
                                                        tailor::metrics::paper_convention);
}

/// Mean per-class accuracy in log-spaced bins of training count, for the accuracy-vs-count plot.
series binned_accuracy(const dataset& w, const method_result& r)
{
    const auto n = static_cast<index_t>(w.test.labels.size());
    const auto per_class = tailor::metrics::per_class_accuracy<std::int32_t>(
        tailor::make_view(r.predictions.data(), n), tailor::make_view(w.test.labels.data(), n), w.classes());
    const double lo = std::log10(double(*std::min_element(w.counts.begin(), w.counts.end())));
    const double hi = std::log10(double(*std::max_element(w.counts.begin(), w.counts.end()))) + 1e-9;
    const int bins = 8;
    std::vector<double> sum(bins, 0), count_sum(bins, 0), members(bins, 0);
    for (index_t c = 0; c < w.classes(); ++c) {
        const double x = std::log10(double(w.counts[std::size_t(c)]));
        const int b = std::min(bins - 1, int((x - lo) / (hi - lo) * bins));
        sum[std::size_t(b)] += per_class.accuracy(c);
        count_sum[std::size_t(b)] += double(w.counts[std::size_t(c)]);
        members[std::size_t(b)] += 1;
    }
    series s{r.name, {}, {}, true};
    for (int b = 0; b < bins; ++b)
        if (members[std::size_t(b)] > 0) {
            s.x.push_back(count_sum[std::size_t(b)] / members[std::size_t(b)]);
            s.y.push_back(sum[std::size_t(b)] / members[std::size_t(b)]);
        }
    return s;
}

#if defined(TAILOR_DEMO_IMAGES)
/// The real-data lines printed before the table.
void print_summary(const image_data& d, const std::string& images_dir)
{
    const auto& w = d.data;
    const auto [min_count, max_count] = std::minmax_element(w.counts.begin(), w.counts.end());
    fmt::print("tailor demo: {} classes from '{}', D = {}, {} training images (n from {} to {}), {} test images\n",
               w.classes(), images_dir, w.dim(), w.train.labels.size(), *min_count, *max_count, w.test.labels.size());
    if (d.listing.ignored > 0)
        fmt::print("  ignored {} file{} without an image extension\n", d.listing.ignored, d.listing.ignored == 1 ? "" : "s");
    fmt::print("  CLIP checkpoint loaded in {:.2f} s; images preprocessed at {} x {} px\n", d.load_seconds, d.resolution,
               d.resolution);
    auto status = [&](const std::string& s, const char* done, double seconds) {
        if (s == "hit") return std::string("loaded from the cache");
        return fmt::format("{} in {:.2f} s{}", done, seconds, s == "disabled" ? "" : fmt::format(" (cache {})", s));
    };
    fmt::print("  image features of {} images: {}\n", d.listing.files.size(),
               status(d.cache.image_features, "extracted", d.feature_seconds));
    fmt::print("  text embeddings of {} classes x {} templates: {}\n", w.classes(), d.templates.size(),
               status(d.cache.text_embeddings, "computed", d.text_seconds));
    if (!d.cache.reason.empty() && (d.cache.image_features == "stale" || d.cache.image_features == "invalid" ||
                                    d.cache.text_embeddings == "stale" || d.cache.text_embeddings == "invalid"))
        fmt::print("  feature cache rebuilt: {}\n", d.cache.reason);
    if (!d.cache.path.empty())
        fmt::print("  feature cache: {}{}\n", d.cache.path.string(), d.cache.written ? " (written)" : "");
}

/// The real-data part of results.json.
nlohmann::json describe(const image_data& d, const std::string& weights, const std::string& vocab,
                        const std::string& images_dir, const std::string& hf_config, const std::string& templates_file)
{
    const auto& w = d.data;
    return {{"images", images_dir},
            {"weights", weights},
            {"vocab", vocab},
            {"hf_config", hf_config},
            {"templates_file", templates_file},
            {"templates", d.templates},
            {"classes", w.classes()},
            {"class_names", w.class_names},
            {"dim", w.dim()},
            {"resolution", d.resolution},
            {"train_images", w.train.labels.size()},
            {"test_images", w.test.labels.size()},
            {"ignored_files", d.listing.ignored},
            {"feature_cache", {{"path", d.cache.path.string()},
                               {"image_features", d.cache.image_features},
                               {"text_embeddings", d.cache.text_embeddings},
                               {"reason", d.cache.reason},
                               {"written", d.cache.written}}},
            {"seconds", {{"load", d.load_seconds}, {"features", d.feature_seconds}, {"text", d.text_seconds}}}};
}

/// split.csv: every image with its class, its split and its sample index in that split
/// (the test index is predictions.csv's `sample`).
void write_split(const std::filesystem::path& path, const image_data& d)
{
    auto out = open_output(path);
    out << "path,class,split,sample\n";
    for (const auto& [rows, split] : {std::pair{&d.train_rows, "train"}, std::pair{&d.test_rows, "test"}})
        for (std::size_t i = 0; i < rows->size(); ++i) {
            const auto& f = d.listing.files[std::size_t((*rows)[i])];
            out << csv_field(f.relative) << ',' << f.label << ',' << split << ',' << i << '\n';
        }
}
#endif

}  // namespace

int main(int argc, char** argv)
{
    world_options wo;
    training_options to;
    lfm_options lo;
    lgr_options go;
    std::string out_dir = "demo-output";
    std::vector<std::string> only;
    std::vector<double> alpha_sweep = {0.0, 0.1, 0.25, 0.5, 1.0};
    std::vector<double> tau_sweep = {0.02, 0.05, 0.2, 1.0};
    bool no_sweep = false, save_logits = false, progress = isatty(STDERR_FILENO) != 0, no_progress = false;
    int threads = 1;
    std::string weights, vocab, images_dir, hf_config, templates_file, cache_dir;
    bool no_cache = false;
    double test_fraction = 0.2;
    std::uint64_t split_seed = 5;
    index_t extract_batch = 32;
    int extract_threads = 0;

    CLI::App app{"tailor demo: text-guided mixup (LFM) against the long-tail baselines and VL-LTR's LGR head on a "
                 "generated world, or on real images encoded by a CLIP checkpoint (--weights, --vocab, --images)"};
    auto* world_group = app.add_option_group("world", "The generated long-tailed world");
    world_group->add_option("--classes", wo.classes, "Number of classes")->capture_default_str();
    world_group->add_option("--super-classes", wo.super_classes, "Semantic super-classes")->capture_default_str();
    world_group->add_option("--dim", wo.dim, "Embedding width D")->capture_default_str();
    world_group->add_option("--max-count", wo.max_count, "Training images of the largest class")->capture_default_str();
    world_group->add_option("--imbalance", wo.imbalance, "Imbalance factor n_max / n_min")->capture_default_str();
    world_group->add_option("--test-per-class", wo.test_per_class, "Balanced test images per class")->capture_default_str();
    world_group->add_option("--world-seed", wo.seed, "Seed of the generated world")->capture_default_str();
    world_group->add_option("--text-spread", wo.text_spread, "Spread of class text embeddings around their super-class")
        ->capture_default_str();
    world_group->add_option("--gap", wo.gap, "Length of the shared image-text modality gap")->capture_default_str();
    world_group->add_option("--centre-spread", wo.centre_spread, "Class-specific offset of image centres from text")
        ->capture_default_str();
    world_group->add_option("--variation", wo.variation, "Within-class variation in the super-class subspace")
        ->capture_default_str();
    world_group->add_option("--noise", wo.noise, "Isotropic image noise")->capture_default_str();
    world_group->add_option("--anchors-min", wo.anchors_min, "Fewest anchor sentences of a class (LGR)")->capture_default_str();
    world_group->add_option("--anchors-max", wo.anchors_max, "Most anchor sentences of a class, M (LGR)")->capture_default_str();
    world_group->add_option("--anchor-spread", wo.anchor_spread,
                            "Isotropic noise of anchor sentences around their class's text embedding")
        ->capture_default_str();
    auto* data_group = app.add_option_group(
        "images", "Real data instead of the generated world: a CLIP checkpoint encodes a folder of class folders");
    auto* weights_option = data_group->add_option(
        "--weights", weights, "CLIP checkpoint, safetensors with OpenAI / open_clip or Hugging Face tensor names")
                              ->type_name("FILE");
    auto* vocab_option = data_group->add_option(
        "--vocab", vocab, "CLIP tokenizer: bpe_simple_vocab_16e6.txt.gz, or a folder holding Hugging Face's "
                          "vocab.json and merges.txt")
                            ->type_name("PATH");
    auto* images_option = data_group->add_option(
        "--images", images_dir, "Folder with one sub-folder of images per class (folder name = class name, '_' read as "
                                "a space; names starting with '.' are skipped)")
                             ->type_name("DIR");
    std::vector<CLI::Option*> data_options{
        data_group->add_option("--hf-config", hf_config,
                               "Hugging Face config.json of the checkpoint: attention heads, activation, LayerNorm eps "
                               "(default: width / 64 heads, QuickGELU, 1e-5)")
            ->type_name("FILE"),
        data_group->add_option("--templates", templates_file,
                               "Prompt templates, one per line, each with {} for the class name ('#' lines and blank "
                               "lines skipped; default: 8 CLIP ImageNet-style templates, see docs/demo.md)")
            ->type_name("FILE"),
        data_group->add_option("--cache-dir", cache_dir, "Folder of the feature cache (default: IMAGES/.tailor-cache)")
            ->type_name("DIR"),
        data_group->add_flag("--no-cache", no_cache, "Neither read nor write the feature cache"),
        data_group->add_option("--test-fraction", test_fraction,
                               "Test share of each class's n images: round(f n) images, at least 1 and at most n - 1")
            ->capture_default_str(),
        data_group->add_option("--split-seed", split_seed, "Seed of the per-class train / test split")
            ->capture_default_str(),
        data_group->add_option("--extract-batch", extract_batch, "Images per vision-tower batch")->capture_default_str(),
        data_group->add_option("--extract-threads", extract_threads,
                               "OpenMP threads while extracting features (0: every processor)")
            ->capture_default_str()};
    weights_option->needs(vocab_option)->needs(images_option);
    vocab_option->needs(weights_option);
    images_option->needs(weights_option);
    for (auto* option : data_options) option->needs(images_option);
    for (auto* option : world_group->get_options())
        if (!option->check_lname("help")) option->excludes(images_option);
    auto* train_group = app.add_option_group(
        "training", "Stage-2 training of W_I (epochs, batch, warm-up and seed also drive the LGR head)");
    train_group->add_option("--epochs", to.epochs, "Epochs per method")->capture_default_str();
    train_group->add_option("--batch", to.batch, "Batch size")->capture_default_str();
    train_group->add_option("--lr", to.lr, "Peak learning rate (SGD, cosine schedule)")->capture_default_str();
    train_group->add_option("--momentum", to.momentum, "SGD momentum")->capture_default_str();
    train_group->add_option("--weight-decay", to.weight_decay, "SGD weight decay")->capture_default_str();
    train_group->add_option("--warmup-epochs", to.warmup_epochs, "Linear warm-up epochs")->capture_default_str();
    train_group->add_option("--scale", to.cosine_scale, "Cosine-logit scale for CE-family losses")->capture_default_str();
    train_group->add_option("--seed", to.seed, "Seed of sampling and mixing")->capture_default_str();
    auto* lfm_group = app.add_option_group("methods", "Hyper-parameters of the methods (paper defaults)");
    lfm_group->add_option("--alpha", lo.alpha, "LFM label-shift rate alpha")->capture_default_str();
    lfm_group->add_option("--tau", lo.tau, "LFM text-similarity temperature tau")->capture_default_str();
    lfm_group->add_option("--beta", lo.beta_a, "Beta(a, a) parameter of lambda_x")->capture_default_str();
    lfm_group->add_option("--focal-gamma", lo.focal_gamma, "Focal loss gamma")->capture_default_str();
    lfm_group->add_option("--ldam-max-margin", lo.ldam_max_margin, "LDAM largest margin")->capture_default_str();
    lfm_group->add_option("--ldam-scale", lo.ldam_scale, "LDAM scale s")->capture_default_str();
    lfm_group->add_option("--drw-fraction", lo.drw_fraction, "Fraction of epochs before DRW re-weighting")->capture_default_str();
    lfm_group->add_option("--mms-lambda", lo.mms_lambda, "MMS margin lambda")->capture_default_str();
    lfm_group->add_option("--mms-temperature", lo.mms_temperature, "MMS temperature T")->capture_default_str();
    lfm_group->add_option("--remix-kappa", lo.remix_kappa, "Remix kappa")->capture_default_str();
    lfm_group->add_option("--remix-tau", lo.remix_tau, "Remix tau")->capture_default_str();
    auto* lgr_group = app.add_option_group("LGR", "VL-LTR's LGR head on the same features (alpha, text scale and sampling as "
                                             "VL-LTR; AdamW settings are the demo's documented defaults)");
    lgr_group->add_option("--lgr-alpha", go.alpha, "Fusion weight of the image branch: alpha p_img + (1 - alpha) p_txt")
        ->capture_default_str();
    lgr_group->add_option("--lgr-lr", go.lr, "AdamW peak learning rate (cosine schedule, --warmup-epochs)")
        ->capture_default_str();
    lgr_group->add_option("--lgr-weight-decay", go.weight_decay, "AdamW weight decay of the weight matrices")
        ->capture_default_str();
    lgr_group->add_option("--lgr-hidden", go.hidden, "Hidden width of the image-branch MLP (0: 4 D)")->capture_default_str();
    lgr_group->add_option("--lgr-text-scale", go.text_scale, "exp(logit_scale) of the text branch (frozen)")
        ->capture_default_str();
    lgr_group->add_option("--lgr-square-root", go.square_root,
                          "Square-root class sampling (true, VL-LTR's) or instance-balanced (false)")
        ->capture_default_str();
    app.add_option("--methods", only,
                   "Only these methods (default: all): zero-shot, CE, BalCE, Focal, LDAM-DRW, MMS, Mixup, Remix, "
                   "LFM+CE, LFM+MMS, LGR (its three rows)");
    app.add_flag("--save-logits", save_logits, "Also write the LGR head's test logits of both branches (lgr_logits.csv)");
    app.add_option("--alpha-sweep", alpha_sweep, "alpha values of the LFM+CE sweep")->capture_default_str();
    app.add_option("--tau-sweep", tau_sweep, "tau values of the LFM+CE sweep")->capture_default_str();
    app.add_flag("--no-sweep", no_sweep, "Skip the alpha and tau sweeps");
    app.add_option("--threads", threads,
                   "OpenMP threads (stage-2 batches are small: one thread is fastest here)")->capture_default_str();
    app.add_option("--out", out_dir, "Output folder for CSV, JSON, predictions and SVG plots")->capture_default_str();
    app.add_flag("--progress", progress, "Draw progress bars (default when stderr is a terminal)");
    app.add_flag("--no-progress", no_progress, "Never draw progress bars");
    CLI11_PARSE(app, argc, argv);
    to.progress = progress && !no_progress;
#if defined(_OPENMP)
    if (threads >= 1) omp_set_num_threads(threads);
#endif

    try {
        tailor::detail::require(to.epochs >= 1, "--epochs", ">= 1", to.epochs);
        tailor::detail::require(to.batch >= 1, "--batch", ">= 1", to.batch);
        tailor::detail::require(std::isfinite(to.cosine_scale) && to.cosine_scale > 0, "--scale", "> 0", to.cosine_scale);
        tailor::detail::require(lo.drw_fraction >= 0 && lo.drw_fraction <= 1, "--drw-fraction", "a value in [0, 1]",
                                lo.drw_fraction);
        tailor::detail::require(go.alpha >= 0 && go.alpha <= 1, "--lgr-alpha", "a value in [0, 1]", go.alpha);
        tailor::detail::require(std::isfinite(go.text_scale) && go.text_scale > 0, "--lgr-text-scale", "> 0",
                                go.text_scale);
        tailor::detail::require(go.hidden >= 0, "--lgr-hidden", ">= 0", go.hidden);
        const auto started = std::chrono::steady_clock::now();
        const std::filesystem::path out(out_dir);
        std::error_code ec;
        std::filesystem::create_directories(out, ec);
        if (ec) throw tailor::io_error(tailor::detail::concat("tailor demo: cannot create '", out_dir, "': ", ec.message()));

        // The feature source: the generated world, or real images through a CLIP checkpoint.
        const bool real = !weights.empty();
        dataset generated;
        nlohmann::json source_json;
        std::vector<std::string> extra_outputs;
#if defined(TAILOR_DEMO_IMAGES)
        std::optional<image_data> images;
#endif
        if (real) {
#if defined(TAILOR_DEMO_IMAGES)
            images = load_image_data({.weights = weights, .vocab = vocab, .images = images_dir, .hf_config = hf_config,
                                      .templates = templates_file, .cache_dir = cache_dir, .use_cache = !no_cache,
                                      .test_fraction = test_fraction, .split_seed = split_seed,
                                      .extract_batch = extract_batch, .extract_threads = extract_threads,
                                      .progress = to.progress});
            source_json = describe(*images, weights, vocab, images_dir, hf_config, templates_file);
            write_split(out / "split.csv", *images);
            extra_outputs.push_back("split.csv");
#else
            throw tailor::unsupported_error(
                "tailor demo: this build has no real-data path: it needs tailor::image, tailor::text and tailor::io "
                "(Debian: libstb-dev, libutf8proc-dev, zlib1g-dev, nlohmann-json3-dev; then reconfigure)");
#endif
        } else {
            generated = make_world(wo);
        }
#if defined(TAILOR_DEMO_IMAGES)
        const dataset& w = real ? images->data : generated;
#else
        const dataset& w = generated;
#endif
        const auto index = tailor::class_index::from_labels(
            tailor::make_view(w.train.labels.data(), static_cast<index_t>(w.train.labels.size())), w.classes());
        const auto [min_count, max_count] = std::minmax_element(w.counts.begin(), w.counts.end());
        if (!real) {
            fmt::print("tailor demo: {} classes in {} super-classes, D = {}, {} training images (n from {} to {}), {} test images\n",
                       wo.classes, wo.super_classes, wo.dim, w.train.labels.size(), *min_count, *max_count,
                       w.test.labels.size());
        } else {
#if defined(TAILOR_DEMO_IMAGES)
            print_summary(*images, images_dir);
#endif
        }

        std::ofstream predictions = open_output(out / "predictions.csv");
        predictions << "method,setting,sample,truth,prediction\n";
        auto save_predictions = [&](const std::string& name, const std::string& setting, const method_result& r) {
            for (std::size_t i = 0; i < r.predictions.size(); ++i)
                predictions << name << ',' << setting << ',' << i << ',' << w.test.labels[i] << ',' << r.predictions[i] << '\n';
        };
        {
            auto classes = open_output(out / "classes.csv");
            if (!real) {
                classes << "class,training_count,super_class\n";
                for (index_t c = 0; c < w.classes(); ++c)
                    classes << c << ',' << w.counts[std::size_t(c)] << ',' << w.super_class_of[std::size_t(c)] << '\n';
            } else {
                std::vector<std::int64_t> tested(std::size_t(w.classes()), 0);
                for (auto label : w.test.labels) ++tested[std::size_t(label)];
                classes << "class,training_count,test_count,name\n";
                for (index_t c = 0; c < w.classes(); ++c)
                    classes << c << ',' << w.counts[std::size_t(c)] << ',' << tested[std::size_t(c)] << ','
                            << csv_field(w.class_names[std::size_t(c)]) << '\n';
            }
        }

        std::vector<table_row> rows;
        std::vector<series> per_class_plot;
        const bool want_lgr = only.empty() || std::find(only.begin(), only.end(), "LGR") != only.end();
        const bool want_others = only.empty() || std::any_of(only.begin(), only.end(), [](const auto& m) { return m != "LGR"; });
        auto plotted = [](const std::string& name) {
            return name == "zero-shot" || name == "CE" || name == "BalCE" || name == "LFM+CE" || name == "LFM+MMS" ||
                   name == "LGR image" || name == "LGR fused";
        };
        auto record = [&](const method_result& r) {
            save_predictions(r.name, "", r);
            rows.push_back({r.name, "", evaluate(w, r.predictions), r.final_loss});
            if (plotted(r.name)) per_class_plot.push_back(binned_accuracy(w, r));
        };
        if (want_others)
            for (const auto& m : main_methods(w, index, lo, to, only)) record(train_and_predict(w, m, to));
        if (want_lgr) {
            const auto lgr = train_lgr(w, go, to);
            for (const auto* r : {&lgr.image, &lgr.text, &lgr.fused}) record(*r);
            if (save_logits) {
                auto file = open_output(out / "lgr_logits.csv");
                file.precision(9);
                file << "sample,branch";
                for (index_t c = 0; c < w.classes(); ++c) file << ",c" << c;
                file << '\n';
                for (const auto& [branch, logits] : {std::pair{"image", &lgr.image_logits}, std::pair{"text", &lgr.text_logits}})
                    for (index_t i = 0; i < logits->extent(0); ++i) {
                        file << i << ',' << branch;
                        for (index_t c = 0; c < w.classes(); ++c) file << ',' << (*logits)(i, c);
                        file << '\n';
                    }
            }
        }
        print_table(rows, tailor::metrics::paper_convention);
        write_svg_chart(out / "per_class_accuracy.svg", "Per-class accuracy against training count (binned means)",
                        "training images of the class (log scale)", "accuracy (%)", per_class_plot, true);

        std::vector<table_row> sweep_rows;
        if (!no_sweep) {
            auto sweep = [&](const std::string& what, const std::vector<double>& values, bool log_x) {
                std::vector<series> plot{{"many", {}, {}}, {"medium", {}, {}}, {"few", {}, {}}, {"all", {}, {}}};
                for (double v : values) {
                    lfm_options p = lo;
                    (what == "alpha" ? p.alpha : p.tau) = v;
                    method m{"LFM+CE", tailor::loss::cross_entropy{},
                             tailor::lfm_mixup(text_sampler(w, index, p.tau), tailor::lfm_shift(p.alpha),
                                               tailor::beta_lambda(p.beta_a)),
                             std::nullopt, to.cosine_scale};
                    const auto r = train_and_predict(w, m, to);
                    const std::string setting = fmt::format("{}={}", what, v);
                    save_predictions(m.name, setting, r);
                    const auto shots = evaluate(w, r.predictions);
                    sweep_rows.push_back({m.name, setting, shots, r.final_loss});
                    int g = 0;
                    for (auto group : {shot_group::many, shot_group::medium, shot_group::few}) {
                        plot[std::size_t(g)].x.push_back(v);
                        plot[std::size_t(g++)].y.push_back(shots[group].accuracy);
                    }
                    plot[3].x.push_back(v);
                    plot[3].y.push_back(shots.overall.accuracy);
                }
                write_svg_chart(out / fmt::format("sweep_{}.svg", what), fmt::format("LFM+CE: accuracy against {}", what),
                                what + (log_x ? " (log scale)" : ""), "accuracy (%)", plot, log_x);
            };
            sweep("alpha", alpha_sweep, false);
            sweep("tau", tau_sweep, true);
            fmt::print("\n  LFM+CE sweeps (tau = {} in the alpha sweep, alpha = {} in the tau sweep)", lo.tau, lo.alpha);
            print_table(sweep_rows, tailor::metrics::paper_convention);
        }

        std::vector<table_row> all_rows = rows;
        all_rows.insert(all_rows.end(), sweep_rows.begin(), sweep_rows.end());
        write_csv(out / "results.csv", all_rows);
        nlohmann::json lgr_json{{"alpha", go.alpha}, {"lr", go.lr}, {"weight_decay", go.weight_decay},
                                 {"hidden", go.hidden == 0 ? 4 * w.dim() : go.hidden}, {"text_scale", go.text_scale},
                                 {"sampling", go.square_root ? "square_root" : "instance_balanced"}};
        if (!real) {
            lgr_json["anchors_min"] = wo.anchors_min;
            lgr_json["anchors_max"] = wo.anchors_max;
            lgr_json["anchor_spread"] = wo.anchor_spread;
        } else {
            lgr_json["anchors"] = "the class's per-template prompt embeddings";
            lgr_json["anchors_per_class"] = w.anchors.extent(1);
        }
        nlohmann::json doc{{"convention", {{"many", "n > 100"}, {"medium", "20 <= n <= 100"}, {"few", "n < 20"},
                                           {"averaging", "mean of per-class accuracies"}}},
                           {"source", real ? "images" : "generated world"}};
        if (!real)
            doc["world"] = {{"classes", wo.classes}, {"super_classes", wo.super_classes}, {"dim", wo.dim},
                            {"max_count", wo.max_count}, {"imbalance", wo.imbalance},
                            {"test_per_class", wo.test_per_class}, {"seed", wo.seed}};
        else
            doc["data"] = source_json;
        doc["training"] = {{"epochs", to.epochs}, {"batch", to.batch}, {"lr", to.lr}, {"scale", to.cosine_scale},
                           {"seed", to.seed}};
        doc["lfm"] = {{"alpha", lo.alpha}, {"tau", lo.tau}, {"beta", lo.beta_a}};
        doc["lgr"] = lgr_json;
        doc["results"] = to_json(all_rows);
        open_output(out / "results.json") << doc.dump(1) << '\n';
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        std::string extras;
        for (const auto& name : extra_outputs) extras += ", " + name;
        fmt::print("\nwrote {}/{{results.csv, results.json, predictions.csv, classes.csv, per_class_accuracy.svg{}{}{}}} in {:.1f} s\n",
                   out_dir, no_sweep ? "" : ", sweep_alpha.svg, sweep_tau.svg",
                   want_lgr && save_logits ? ", lgr_logits.csv" : "", extras, seconds);
    } catch (const tailor::error& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 2;
    }
    return 0;
}
