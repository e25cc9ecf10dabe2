#pragma once
// mixup_batcher: a pair sampler, a label-shift policy and a lambda distribution composed
// into one batch builder, ensmallen style. The defaults reproduce LFM (seed 000): text-
// similarity pairs, LFM's label shift, lambda_x ~ Beta. Changing one ingredient is
// changing one template argument; the mixer (input, CutMix, feature) is chosen per call.
//
// A batch: lambda_x drawn (once per batch or per pair) -> the mixer writes the mixed
// samples (and may correct lambda_x) -> lambda_y = shift(lambda_x, n_first, n_second) ->
// targets {y_first, y_second, lambda_y} into caller buffers.
#include <cstring>
#include <span>
#include <type_traits>
#include <utility>

#include "tailor/core/concepts.hpp"
#include "tailor/core/error.hpp"
#include "tailor/core/view.hpp"
#include "tailor/mixup/concepts.hpp"
#include "tailor/mixup/label_shift.hpp"
#include "tailor/mixup/lambda.hpp"
#include "tailor/mixup/mixers.hpp"
#include "tailor/mixup/targets.hpp"
#include "tailor/sampling/concepts.hpp"
#include "tailor/sampling/pair_samplers.hpp"

namespace tailor {

template <pair_sampler PairSampler = text_similarity_pair_sampler<>, label_shift_policy LabelShift = lfm_shift,
          lambda_distribution Lambda = beta_lambda>
class mixup_batcher {
public:
    using pair_sampler_type = PairSampler;
    using label_shift_type = LabelShift;
    using lambda_type = Lambda;

    explicit mixup_batcher(PairSampler sampler, LabelShift label_shift = LabelShift{}, Lambda lambda = Lambda{},
                           lambda_scope scope = lambda_scope::per_batch)
        : sampler_(std::move(sampler)), label_shift_(std::move(label_shift)), lambda_(std::move(lambda)), scope_(scope)
    {
    }

    const PairSampler& sampler() const noexcept { return sampler_; }
    /// Mutable, so a staged policy can move to its next stage (lfm_shift::set_stage).
    LabelShift& label_shift() noexcept { return label_shift_; }
    const LabelShift& label_shift() const noexcept { return label_shift_; }
    const Lambda& lambda() const noexcept { return lambda_; }
    lambda_scope scope() const noexcept { return scope_; }

    /// The pairs shard `part` gets in epoch `epoch` (see the pair sampler).
    pair_epoch epoch(const philox4x32_10& generator, index_t epoch, shard part = {}) const
    {
        return sampler_.epoch(generator, epoch, part);
    }

    /// Draws lambda_x [B] for the pairs and writes their targets; the caller mixes the
    /// samples itself (on another device, say) with the same lambda_x.
    template <class T, class Label, random_engine Engine>
    void draw_targets(std::span<const index_pair> pairs, vector_view<T> lambda_x,
                      pair_target_buffers<T, Label> targets, Engine& engine) const
    {
        const index_t batch = check_pairs(pairs, lambda_x, targets, sampler_.index().instances());
        if constexpr (!Lambda::mixes) {
            write_unmixed_targets(pairs, lambda_x, targets);
        } else {
            draw_lambdas(lambda_x, batch, engine);
            write_targets(pairs, lambda_x, targets);
        }
    }

    /// A whole batch from an in-memory dataset [N, ...]: sample b mixes
    /// dataset[pairs[b].first] and dataset[pairs[b].second] into out[b].
    template <class Mixer = input_mixup, class T, std::size_t R, class Label, random_engine Engine>
    void make_batch(std::span<const index_pair> pairs, std::type_identity_t<tensor_view<const T, R>> dataset,
                    tensor_view<T, R> out, vector_view<T> lambda_x, pair_target_buffers<T, Label> targets,
                    Engine& engine, const Mixer& mixer = {}) const
    {
        const index_t instances = std::min(sampler_.index().instances(), dataset.extent(0));
        const index_t batch = check_pairs(pairs, lambda_x, targets, instances);
        detail::require_extents(out, "out", with_batch(out.extents(), batch));
        require_samples_like(dataset, "dataset", out, -1);
        run(detail::gathered_pair_rows<T, R>{dataset, pairs}, pairs, out, lambda_x, targets, engine, mixer);
    }

    /// A whole batch from two batches the caller loaded: first[b] (instance pairs[b].first)
    /// and second[b] (instance pairs[b].second), both [B, ...].
    template <class Mixer = input_mixup, class T, std::size_t R, class Label, random_engine Engine>
    void mix_loaded(std::span<const index_pair> pairs, std::type_identity_t<tensor_view<const T, R>> first,
                    std::type_identity_t<tensor_view<const T, R>> second, tensor_view<T, R> out,
                    vector_view<T> lambda_x, pair_target_buffers<T, Label> targets, Engine& engine,
                    const Mixer& mixer = {}) const
    {
        const index_t batch = check_pairs(pairs, lambda_x, targets, sampler_.index().instances());
        detail::require_extents(out, "out", with_batch(out.extents(), batch));
        require_samples_like(first, "first", out, batch);
        require_samples_like(second, "second", out, batch);
        run(detail::loaded_pair_rows<T, R>{first, second}, pairs, out, lambda_x, targets, engine, mixer);
    }

private:
    template <std::size_t R>
    static extents_t<R> with_batch(extents_t<R> extents, index_t batch)
    {
        extents[0] = batch;
        return extents;
    }

    /// `view` holds `batch` samples (any number for -1) of out's sample shape, each contiguous.
    template <class T, class U, std::size_t R>
    static void require_samples_like(const tensor_view<T, R>& view, std::string_view name,
                                     const tensor_view<U, R>& out, index_t batch)
    {
        detail::require_extents(view, name, with_batch(out.extents(), batch));
        detail::contiguous_sample_size(view, name);
    }

    template <class T, class Label>
    static index_t check_pairs(std::span<const index_pair> pairs, vector_view<T> lambda_x,
                               const pair_target_buffers<T, Label>& targets, index_t instances)
    {
        const auto batch = static_cast<index_t>(pairs.size());
        detail::require_extents(lambda_x, "lambda_x", {batch});
        detail::require_batch_targets(targets, batch);
        for (index_t b = 0; b < batch; ++b) {
            const index_pair pair = pairs[static_cast<std::size_t>(b)];
            if (pair.first < 0 || pair.first >= instances || pair.second < 0 || pair.second >= instances)
                detail::fail<index_error>("pairs", detail::concat("instance ids in [0, ", instances, ")"),
                                          detail::concat("(", pair.first, ", ", pair.second, ") at ", b));
        }
        return batch;
    }

    template <class T, class Engine>
    void draw_lambdas(vector_view<T> lambda_x, index_t batch, Engine& engine) const
    {
        if (batch == 0) return;
        if (scope_ == lambda_scope::per_batch) {
            const auto shared = static_cast<T>(lambda_(engine));
            for (index_t b = 0; b < batch; ++b) lambda_x(b) = shared;
        } else {
            for (index_t b = 0; b < batch; ++b) lambda_x(b) = static_cast<T>(lambda_(engine));
        }
    }

    template <class T, class Label>
    void write_targets(std::span<const index_pair> pairs, vector_view<T> lambda_x,
                       const pair_target_buffers<T, Label>& targets) const
    {
        const class_index& index = sampler_.index();
        for (index_t b = 0; b < lambda_x.size(); ++b) {
            const index_pair pair = pairs[static_cast<std::size_t>(b)];
            const std::int32_t y_first = index.label(pair.first), y_second = index.label(pair.second);
            targets.first(b) = static_cast<Label>(y_first);
            targets.second(b) = static_cast<Label>(y_second);
            targets.lambda(b) = static_cast<T>(
                label_shift_(static_cast<double>(lambda_x(b)), index.count(y_first), index.count(y_second)));
        }
    }

    template <class T, class Label>
    void write_unmixed_targets(std::span<const index_pair> pairs, vector_view<T> lambda_x,
                               const pair_target_buffers<T, Label>& targets) const
    {
        for (index_t b = 0; b < lambda_x.size(); ++b) {
            const auto y = static_cast<Label>(sampler_.index().label(pairs[static_cast<std::size_t>(b)].first));
            lambda_x(b) = T(1);
            targets.first(b) = targets.second(b) = y;
            targets.lambda(b) = T(1);
        }
    }

    template <class Rows, class Mixer, class T, std::size_t R, class Label, class Engine>
    void run(const Rows& rows, std::span<const index_pair> pairs, tensor_view<T, R> out, vector_view<T> lambda_x,
             const pair_target_buffers<T, Label>& targets, Engine& engine, const Mixer& mixer) const
    {
        const auto batch = static_cast<index_t>(pairs.size());
        if constexpr (!Lambda::mixes) {
            const index_t features = detail::contiguous_sample_size(out, "out");
            for (index_t b = 0; b < batch; ++b)
                std::memcpy(detail::sample_of(out, b), rows.first_sample(b), sizeof(T) * static_cast<std::size_t>(features));
            write_unmixed_targets(pairs, lambda_x, targets);
        } else {
            draw_lambdas(lambda_x, batch, engine);
            mixer(rows, lambda_x, out, scope_, engine);
            write_targets(pairs, lambda_x, targets);
        }
    }

    PairSampler sampler_;
    LabelShift label_shift_;
    Lambda lambda_;
    lambda_scope scope_;
};

/// LFM: text-similarity pairs, LFM label shift, lambda_x ~ Beta.
using lfm_mixup = mixup_batcher<text_similarity_pair_sampler<>, lfm_shift, beta_lambda>;
/// Plain mixup: random partners, lambda_y = lambda_x.
using standard_mixup = mixup_batcher<random_pair_sampler<>, standard_shift, beta_lambda>;
/// Remix: random partners, Remix's label rules (use beta_lambda(1) for the paper's Beta(1, 1)).
using remix_mixup = mixup_batcher<random_pair_sampler<>, remix_shift, beta_lambda>;

}  // namespace tailor
