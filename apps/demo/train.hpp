#pragma once
// Decoupled stage 2 of LFM on frozen features: train the D x D map W of the cosine head
// against fixed class text embeddings with one loss and, optionally, one mixup batcher.
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <unistd.h>

#include "tailor/backend/eigen/backend.hpp"
#include "tailor/head/cosine_head.hpp"
#include "tailor/loss.hpp"
#include "tailor/metrics.hpp"
#include "tailor/mixup.hpp"
#include "tailor/optim.hpp"
#include "tailor/sampling.hpp"
#include "world.hpp"

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

/// A one-line progress bar on stderr, redrawn in place.
class progress_bar {
public:
    progress_bar(bool enabled, std::string label, index_t total) : enabled_(enabled), label_(std::move(label)), total_(total) {}
    void update(index_t done, double loss) const
    {
        if (!enabled_) return;
        const int width = 30, filled = int(double(width) * double(done) / double(std::max<index_t>(total_, 1)));
        std::fprintf(stderr, "\r  %-10s [%.*s%*s] %3lld/%lld  loss %.4f", label_.c_str(), filled,
                     "##############################", width - filled, "", static_cast<long long>(done),
                     static_cast<long long>(total_), loss);
        if (done == total_) std::fprintf(stderr, "\n");
        std::fflush(stderr);
    }

private:
    bool enabled_;
    std::string label_;
    index_t total_;
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

inline method_result train_and_predict(const world& w, const method& m, const training_options& o)
{
    tailor::eigen::backend be;
    tailor::cosine_head<float> head(w.text.view(), float(m.head_scale));
    method_result result{m.name, {}, 0.0};
    if (!m.loss) {
        result.predictions = predict(be, head, w.test);
        return result;
    }

    const index_t n = w.train.features.extent(0), D = w.options.dim, C = w.options.classes, B = o.batch;
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
                const auto rows = static_cast<index_t>(items.size());
                for (index_t b = 0; b < rows; ++b) {
                    const auto i = static_cast<index_t>(items[std::size_t(b)]);
                    for (index_t d = 0; d < D; ++d) batch_features(b, d) = w.train.features(i, d);
                    batch_labels[std::size_t(b)] = w.train.labels[std::size_t(i)];
                }
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

}  // namespace demo
