#pragma once
// Decoupled stage 2 of LFM on frozen features: train the D x D map W of the cosine head
// against fixed class text embeddings with one loss and, optionally, one mixup batcher.
// And VL-LTR's LGR head on the same frozen features and the dataset's anchor sentences
// (train_lgr): image branch, text branch and their fusion.
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <unistd.h>

#include "tailor/backend/eigen/backend.hpp"
#include "tailor/head/cosine_head.hpp"
#include "tailor/head/lgr.hpp"
#include "tailor/loss.hpp"
#include "tailor/metrics.hpp"
#include "tailor/mixup.hpp"
#include "tailor/optim.hpp"
#include "tailor/sampling.hpp"
#include "dataset.hpp"
#include "progress.hpp"

namespace demo {

struct training_options {
    index_t epochs = 30;
    index_t batch = 128;
    double lr = 0.05;
    double momentum = 0.9;
    double weight_decay = 5e-4;
    index_t warmup_epochs = 1;
    double cosine_scale = 30.0;  ///< head scale s for CE-family losses (LDAM and MMS scale themselves)
    std::uint64_t seed = 11;
    bool progress = false;
};

using loss_choice = std::variant<tailor::loss::cross_entropy, tailor::loss::balanced_softmax<float>, tailor::loss::focal,
                                 tailor::loss::ldam<float>, tailor::loss::mms<float>>;
using mixup_choice = std::variant<std::monostate, tailor::standard_mixup, tailor::remix_mixup, tailor::lfm_mixup>;

struct method {
    std::string name;
    std::optional<loss_choice> loss;  ///< empty: zero-shot, no training
    mixup_choice mixup{};
    std::optional<tailor::loss::drw_schedule<float>> drw{};
    double head_scale = 1.0;
};

struct method_result {
    std::string name;
    std::vector<std::int32_t> predictions;  ///< one per test sample
    double final_loss = 0;
};

inline std::vector<std::int32_t> predict(tailor::eigen::backend& be, const tailor::cosine_head<float>& head,
                                         const labelled_features& data)
{
    const index_t n = data.features.extent(0);
    tailor::matrix<float> logits({n, head.classes()});
    tailor::cosine_head<float>::workspace ws;
    head.forward(be, data.features.view(), logits.view(), ws);
    std::vector<std::int32_t> predictions(static_cast<std::size_t>(n));
    tailor::metrics::argmax_rows<float>(logits.view(), tailor::make_view(predictions.data(), n));
    return predictions;
}

/// Copies the training rows `items` names into the first rows of a batch; returns their count.
template <class Items>
index_t gather_batch(const labelled_features& train, const Items& items, tailor::matrix<float>& features,
                     std::vector<std::int32_t>& labels)
{
    const auto rows = static_cast<index_t>(items.size());
    for (index_t b = 0; b < rows; ++b) {
        const auto i = static_cast<index_t>(items[std::size_t(b)]);
        for (index_t d = 0; d < features.extent(1); ++d) features(b, d) = train.features(i, d);
        labels[std::size_t(b)] = train.labels[std::size_t(i)];
    }
    return rows;
}

inline method_result train_and_predict(const dataset& w, const method& m, const training_options& o)
{
    tailor::eigen::backend be;
    tailor::cosine_head<float> head(w.text.view(), float(m.head_scale));
    method_result result{m.name, {}, 0.0};
    if (!m.loss) {
        result.predictions = predict(be, head, w.test);
        return result;
    }

    const index_t n = w.train.features.extent(0), D = w.dim(), C = w.classes(), B = o.batch;
    const index_t steps_per_epoch = (n + B - 1) / B;
    tailor::matrix<float> grad_w({D, D});
    auto flat = [](tailor::matrix_view<float> v) { return v.reshaped<1>({v.size()}); };
    tailor::optim::sgd<float, tailor::optim::cosine_schedule> optimizer(
        {{flat(head.weight()), flat(grad_w.view())}}, tailor::optim::sgd_momentum{o.momentum, o.weight_decay},
        tailor::optim::cosine_schedule(o.lr, o.epochs * steps_per_epoch, o.warmup_epochs * steps_per_epoch, 0.0));

    const auto index = tailor::class_index::from_labels(
        tailor::make_view(w.train.labels.data(), static_cast<index_t>(w.train.labels.size())), C);
    const tailor::class_sampler<tailor::instance_balanced> instances(index);
    const tailor::philox4x32_10 generator(o.seed);

    tailor::matrix<float> batch_features({B, D}), logits({B, C}), grad_logits({B, C});
    std::vector<std::int32_t> batch_labels(static_cast<std::size_t>(B)), first(static_cast<std::size_t>(B)), second(static_cast<std::size_t>(B));
    std::vector<float> lambda_x(static_cast<std::size_t>(B)), lambda_y(static_cast<std::size_t>(B));
    tailor::cosine_head<float>::workspace ws;
    progress_bar bar(o.progress, m.name, o.epochs);

    for (index_t epoch = 0; epoch < o.epochs; ++epoch) {
        tailor::loss::loss_options<float> options;
        if (m.drw) options.class_weights = m.drw->class_weights(int(epoch));
        double epoch_loss = 0;
        index_t batches = 0;
        tailor::philox4x32_10 engine(o.seed, 1000 + std::uint64_t(epoch));

        auto step = [&](index_t rows, const auto& targets) {
            auto f = batch_features.view().slice(0, 0, rows);
            auto z = logits.view().slice(0, 0, rows);
            auto gz = grad_logits.view().slice(0, 0, rows);
            head.forward(be, f, z, ws);
            const float value = std::visit(
                [&](const auto& loss) {
                    return tailor::loss::value_and_gradient<float, tailor::host_space>(be, loss, z, targets, gz, options);
                },
                *m.loss);
            head.backward(be, f, gz, ws, grad_w.view());
            optimizer.step();
            epoch_loss += value;
            ++batches;
        };

        if (std::holds_alternative<std::monostate>(m.mixup)) {
            const auto order = instances.epoch(generator, epoch);
            for (auto items : order.batches(B)) {
                const index_t rows = gather_batch(w.train, items, batch_features, batch_labels);
                step(rows, tailor::hard_targets<std::int32_t>{tailor::make_view(
                               static_cast<const std::int32_t*>(batch_labels.data()), rows)});
            }
        } else {
            std::visit(
                [&](const auto& batcher) {
                    if constexpr (!std::is_same_v<std::decay_t<decltype(batcher)>, std::monostate>) {
                        const auto pairs_of_epoch = batcher.epoch(generator, epoch);
                        for (auto pairs : pairs_of_epoch.batches(B)) {
                            const auto rows = static_cast<index_t>(pairs.size());
                            tailor::pair_target_buffers<float, std::int32_t> buffers{
                                tailor::make_view(first.data(), rows), tailor::make_view(second.data(), rows),
                                tailor::make_view(lambda_y.data(), rows)};
                            batcher.make_batch(pairs, tailor::tensor_view<const float, 2>(w.train.features.view()),
                                               batch_features.view().slice(0, 0, rows),
                                               tailor::make_view(lambda_x.data(), rows), buffers, engine,
                                               tailor::feature_mixup{true});
                            step(rows, buffers.targets());
                        }
                    }
                },
                m.mixup);
        }
        result.final_loss = epoch_loss / double(std::max<index_t>(batches, 1));
        bar.update(epoch + 1, result.final_loss);
    }
    result.predictions = predict(be, head, w.test);
    return result;
}

/// VL-LTR's LGR head on the frozen features (documented defaults, not tuned on any data).
struct lgr_options {
    double alpha = 0.2;          ///< fusion weight of the image branch (the paper's ImageNet-LT / Places-LT value)
    double lr = 1e-3;            ///< AdamW peak learning rate (cosine schedule, the shared warm-up)
    double weight_decay = 0.05;  ///< AdamW decoupled weight decay on the weight matrices (none on biases and LayerNorms)
    index_t hidden = 0;          ///< hidden width of the image MLP; 0: 4 D
    double text_scale = 100.0;   ///< exp(logit_scale) of the text branch, CLIP's value, kept frozen
    bool square_root = true;     ///< square-root class sampling (VL-LTR's); false: instance-balanced
};

/// The LGR head's three read-outs, in this order: image branch, text branch, fusion.
struct lgr_results {
    method_result image, text, fused;
    tailor::matrix<float> image_logits, text_logits;  ///< [N_test, C]
};

namespace detail {

template <class Sampler>
void run_lgr_epochs(const dataset& w, const Sampler& sampler, const lgr_options& lo, const training_options& o,
                    tailor::eigen::backend& be, tailor::head::lgr_head<float>& head,
                    const tailor::head::lgr_anchor_bank<float>& bank, lgr_results& out)
{
    const index_t D = w.dim(), B = o.batch;
    const index_t n = w.train.features.extent(0), steps_per_epoch = (n + B - 1) / B;
    const tailor::optim::cosine_schedule schedule(lo.lr, o.epochs * steps_per_epoch, o.warmup_epochs * steps_per_epoch, 0.0);
    // Two parameter groups: weight matrices decayed, vectors (biases, LayerNorm affines) not.
    std::vector<tailor::optim::parameter<float>> decayed, undecayed;
    std::vector<tailor::vector_view<float>> values;
    head.params.for_each([&](const char*, tailor::vector_view<float> v) { values.push_back(v); });
    std::size_t k = 0;
    head.grads.for_each([&](const char* name, tailor::vector_view<float> g) {
        const std::string_view s(name);
        const bool matrix = s.ends_with("_weight") && !s.ends_with("norm_weight");
        (matrix ? decayed : undecayed).push_back({values[k++], g});
    });
    tailor::optim::adamw_optimizer<float, tailor::optim::cosine_schedule> decay_step(
        decayed, tailor::optim::adamw{.weight_decay = lo.weight_decay}, schedule);
    tailor::optim::adamw_optimizer<float, tailor::optim::cosine_schedule> plain_step(
        undecayed, tailor::optim::adamw{.weight_decay = 0.0}, schedule);

    const tailor::philox4x32_10 generator(o.seed);
    tailor::matrix<float> batch_features({B, D});
    std::vector<std::int32_t> batch_labels(static_cast<std::size_t>(B));
    tailor::head::lgr_activations<float> act;
    progress_bar bar(o.progress, "LGR", o.epochs);
    for (index_t epoch = 0; epoch < o.epochs; ++epoch) {
        double image_loss = 0, text_loss = 0;
        index_t batches = 0;
        const auto order = sampler.epoch(generator, epoch);
        for (auto items : order.batches(B)) {
            const index_t rows = gather_batch(w.train, items, batch_features, batch_labels);
            const auto value = head.loss_and_gradients(
                be, bank, tailor::matrix_view<const float>(batch_features.view().slice(0, 0, rows)),
                tailor::loss::cross_entropy{},
                tailor::hard_targets<std::int32_t>{tailor::make_view(static_cast<const std::int32_t*>(batch_labels.data()), rows)},
                act);
            decay_step.step();
            plain_step.step();
            image_loss += value.image;
            text_loss += value.text;
            ++batches;
        }
        out.image.final_loss = image_loss / double(std::max<index_t>(batches, 1));
        out.text.final_loss = text_loss / double(std::max<index_t>(batches, 1));
        out.fused.final_loss = out.image.final_loss + out.text.final_loss;
        bar.update(epoch + 1, out.fused.final_loss);
    }
}

}  // namespace detail

/// Trains the LGR head with CE on both branches (VL-LTR's loss) and predicts the test set
/// from the image branch, the text branch and their probability fusion with lo.alpha.
inline lgr_results train_lgr(const dataset& w, const lgr_options& lo, const training_options& o)
{
    tailor::eigen::backend be;
    const index_t C = w.classes(), D = w.dim();
    const auto bank = tailor::head::lgr_anchor_bank<float>::from_padded(
        be, tailor::tensor_view<const float, 3>(w.anchors.view()),
        tailor::make_view(w.anchor_counts.data(), C));
    tailor::head::lgr_config config{.dim = D, .classes = C, .hidden = lo.hidden};
    config.logit_scale = std::log(lo.text_scale);
    tailor::head::lgr_head<float> head(config, tailor::philox4x32_10(o.seed, 2000));

    lgr_results out{{"LGR image", {}, 0.0}, {"LGR text", {}, 0.0}, {"LGR fused", {}, 0.0}, {}, {}};
    const auto index = tailor::class_index::from_labels(
        tailor::make_view(w.train.labels.data(), static_cast<index_t>(w.train.labels.size())), C);
    if (lo.square_root)
        detail::run_lgr_epochs(w, tailor::class_sampler<tailor::square_root>(index), lo, o, be, head, bank, out);
    else
        detail::run_lgr_epochs(w, tailor::class_sampler<tailor::instance_balanced>(index), lo, o, be, head, bank, out);

    // Test predictions in chunks (the scores are [2 chunk, C M]).
    const index_t n = w.test.features.extent(0), chunk = 512;
    out.image_logits = tailor::matrix<float>({n, C});
    out.text_logits = tailor::matrix<float>({n, C});
    tailor::matrix<float> fused({n, C});
    tailor::head::lgr_activations<float> act;
    for (index_t begin = 0; begin < n; begin += chunk) {
        const index_t rows = std::min(chunk, n - begin);
        head.forward(be, bank, tailor::matrix_view<const float>(w.test.features.view().slice(0, begin, begin + rows)), act);
        for (index_t i = 0; i < rows; ++i)
            for (index_t c = 0; c < C; ++c) {
                out.image_logits(begin + i, c) = act.image_logits(i, c);
                out.text_logits(begin + i, c) = act.text_logits(i, c);
            }
    }
    tailor::head::fuse_probabilities<float>(be, out.image_logits.view(), out.text_logits.view(), float(lo.alpha),
                                           fused.view());
    auto argmax = [&](const tailor::matrix<float>& scores, method_result& r) {
        r.predictions.resize(static_cast<std::size_t>(n));
        tailor::metrics::argmax_rows<float>(scores.view(), tailor::make_view(r.predictions.data(), n));
    };
    argmax(out.image_logits, out.image);
    argmax(out.text_logits, out.text);
    argmax(fused, out.fused);
    return out;
}

}  // namespace demo
