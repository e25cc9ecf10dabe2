#pragma once
// Samplers from class counts: how often each class is drawn per epoch.
//
// A class weighting turns the counts n_c (and the epoch, for the progressive schedule) into
// unnormalised class weights; a class_sampler draws classes by an alias table and then an
// instance of that class from a per-class pool taken without replacement (reshuffled when
// it runs out), so within a class every instance comes once before any comes twice.
// instance_balanced is the one exception: its epoch is a shuffle of all instances.
// Empty classes get weight 0 under every weighting and are never drawn.
#include <cmath>
#include <concepts>
#include <numeric>
#include <span>
#include <vector>

#include "tailor/core/config.hpp"
#include "tailor/core/error.hpp"
#include "tailor/core/random.hpp"
#include "tailor/sampling/alias_table.hpp"
#include "tailor/sampling/class_index.hpp"
#include "tailor/sampling/epoch.hpp"
#include "tailor/sampling/streams.hpp"

namespace tailor {

/// A rule for how often each class is drawn:
/// - `class_weights(counts, epoch, weights)` writes unnormalised weights, 0 for empty classes;
/// - `epoch_length(counts)` is the number of draws in one epoch;
/// - `permutes_instances` is true when an epoch is a shuffle of all instances instead.
template <class W>
concept class_weighting = requires(const W& w, std::span<const index_t> counts, index_t epoch,
                                   std::span<double> weights) {
    { W::permutes_instances } -> std::convertible_to<bool>;
    w.class_weights(counts, epoch, weights);
    { w.epoch_length(counts) } -> std::convertible_to<index_t>;
};

namespace detail {

inline index_t total_count(std::span<const index_t> counts) noexcept
{
    return std::accumulate(counts.begin(), counts.end(), index_t{0});
}

inline index_t nonempty_classes(std::span<const index_t> counts) noexcept
{
    index_t n = 0;
    for (index_t c : counts) n += c > 0;
    return n;
}

/// Epoch length of the weightings that draw as many items as there are instances.
struct one_draw_per_instance {
    index_t epoch_length(std::span<const index_t> counts) const noexcept { return total_count(counts); }
};

}  // namespace detail

/// Every instance once per epoch, in shuffled order: class c drawn with p = n_c / N.
struct instance_balanced : detail::one_draw_per_instance {
    static constexpr bool permutes_instances = true;
    void class_weights(std::span<const index_t> counts, index_t, std::span<double> weights) const
    {
        for (std::size_t c = 0; c < counts.size(); ++c) weights[c] = static_cast<double>(counts[c]);
    }
};

/// Class-aware sampling: every non-empty class equally likely, p = 1 / C.
struct class_balanced : detail::one_draw_per_instance {
    static constexpr bool permutes_instances = false;
    void class_weights(std::span<const index_t> counts, index_t, std::span<double> weights) const
    {
        for (std::size_t c = 0; c < counts.size(); ++c) weights[c] = counts[c] > 0 ? 1.0 : 0.0;
    }
};

/// p proportional to sqrt(n_c).
struct square_root : detail::one_draw_per_instance {
    static constexpr bool permutes_instances = false;
    void class_weights(std::span<const index_t> counts, index_t, std::span<double> weights) const
    {
        for (std::size_t c = 0; c < counts.size(); ++c) weights[c] = std::sqrt(static_cast<double>(counts[c]));
    }
};

/// Reversed sampling: p proportional to 1 / n_c.
struct inverse_frequency : detail::one_draw_per_instance {
    static constexpr bool permutes_instances = false;
    void class_weights(std::span<const index_t> counts, index_t, std::span<double> weights) const
    {
        for (std::size_t c = 0; c < counts.size(); ++c)
            weights[c] = counts[c] > 0 ? 1.0 / static_cast<double>(counts[c]) : 0.0;
    }
};

/// LVIS repeat-factor sampling: an instance of class c repeats r(c) = max(1, sqrt(t / f(c)))
/// times, f(c) = n_c / N, so p is proportional to n_c r(c) and an epoch holds
/// round(sum_c n_c r(c)) draws (LVIS's expected epoch size).
struct repeat_factor {
    static constexpr bool permutes_instances = false;
    double threshold = 1e-3;  ///< t

    explicit repeat_factor(double threshold_t = 1e-3) : threshold(threshold_t)
    {
        detail::require(std::isfinite(threshold_t) && threshold_t > 0, "threshold", "a finite value > 0", threshold_t);
    }

    /// r(c) for a class of n_c instances out of N.
    double factor(index_t n_c, index_t total) const noexcept
    {
        const double fraction = static_cast<double>(n_c) / static_cast<double>(total);
        return std::max(1.0, std::sqrt(threshold / fraction));
    }
    void class_weights(std::span<const index_t> counts, index_t, std::span<double> weights) const
    {
        const index_t total = detail::total_count(counts);
        for (std::size_t c = 0; c < counts.size(); ++c)
            weights[c] = counts[c] > 0 ? static_cast<double>(counts[c]) * factor(counts[c], total) : 0.0;
    }
    index_t epoch_length(std::span<const index_t> counts) const
    {
        const index_t total = detail::total_count(counts);
        double expected = 0;
        for (index_t n : counts)
            if (n > 0) expected += static_cast<double>(n) * factor(n, total);
        return static_cast<index_t>(std::llround(expected));
    }
};

/// Progressively balanced: p(e) = (1 - e / E) p_instance + (e / E) p_class for epoch e of E
/// (epochs past E stay class-balanced).
struct progressive : detail::one_draw_per_instance {
    static constexpr bool permutes_instances = false;
    index_t total_epochs = 1;  ///< E

    explicit progressive(index_t total_epochs_e = 1) : total_epochs(total_epochs_e)
    {
        detail::require(total_epochs_e >= 1, "total_epochs", ">= 1", total_epochs_e);
    }

    void class_weights(std::span<const index_t> counts, index_t epoch, std::span<double> weights) const
    {
        const double t = static_cast<double>(std::min(epoch, total_epochs)) / static_cast<double>(total_epochs);
        const double total = static_cast<double>(detail::total_count(counts));
        const double nonempty = static_cast<double>(detail::nonempty_classes(counts));
        for (std::size_t c = 0; c < counts.size(); ++c)
            weights[c] = counts[c] > 0 ? (1 - t) * static_cast<double>(counts[c]) / total + t / nonempty : 0.0;
    }
};

/// The normalised class distribution a weighting gives for `epoch`.
template <class_weighting Weighting>
std::vector<double> class_probabilities(const Weighting& weighting, std::span<const index_t> counts, index_t epoch = 0)
{
    std::vector<double> weights(counts.size());
    weighting.class_weights(counts, epoch, weights);
    const double sum = std::accumulate(weights.begin(), weights.end(), 0.0);
    for (double& w : weights) w /= sum;
    return weights;
}

namespace detail {

/// Walks the anchors of one epoch in stream order: visit(position, class, instance). The
/// instance may be -1 at positions `part` does not own (their pool draws are still counted).
template <class Weighting, class Visit>
void for_each_anchor(const class_index& index, const Weighting& weighting, const philox4x32_10& generator,
                     index_t epoch, const shard& part, Visit&& visit)
{
    if constexpr (Weighting::permutes_instances) {
        std::vector<index_t> order(static_cast<std::size_t>(index.instances()));
        std::iota(order.begin(), order.end(), index_t{0});
        auto engine = derived_engine(generator, stream_purpose::anchor_permutation, {static_cast<std::uint64_t>(epoch)});
        shuffle(std::span(order), engine);
        for (index_t p = 0; p < index.instances(); ++p) {
            const index_t instance = order[static_cast<std::size_t>(p)];
            visit(p, index.label(instance), instance);
        }
    } else {
        std::vector<double> weights(static_cast<std::size_t>(index.classes()));
        weighting.class_weights(index.counts(), epoch, weights);
        const alias_table classes(weights);
        auto engine = derived_engine(generator, stream_purpose::anchor_class, {static_cast<std::uint64_t>(epoch)});
        class_pools pools(index, generator, stream_purpose::anchor_pool, epoch);
        const index_t length = weighting.epoch_length(index.counts());
        for (index_t p = 0; p < length; ++p) {
            const std::int32_t c = classes(engine);
            visit(p, c, pools.next(c, part.owns(p)));
        }
    }
}

}  // namespace detail

/// Draws single instances by a class weighting; one epoch at a time, any epoch, any shard.
template <class_weighting Weighting = instance_balanced>
class class_sampler {
public:
    explicit class_sampler(class_index index, Weighting weighting = {})
        : index_(std::move(index)), weighting_(std::move(weighting))
    {
        detail::require_shufflable(index_.instances(), "labels");
    }

    const class_index& index() const noexcept { return index_; }
    const Weighting& weighting() const noexcept { return weighting_; }
    index_t epoch_length() const { return weighting_.epoch_length(index_.counts()); }
    std::vector<double> class_probabilities(index_t epoch = 0) const
    {
        return tailor::class_probabilities(weighting_, index_.counts(), epoch);
    }

    /// The instances `part` draws in epoch `epoch`; a pure function of the generator's seed
    /// and stream, the epoch and the shard.
    instance_epoch epoch(const philox4x32_10& generator, index_t epoch, shard part = {}) const
    {
        detail::require_valid_epoch(epoch);
        detail::require_valid_shard(part);
        const index_t length = epoch_length();
        std::vector<index_t> items;
        items.reserve(static_cast<std::size_t>(part.share_of(length)));
        detail::for_each_anchor(index_, weighting_, generator, epoch, part, [&](index_t p, std::int32_t, index_t instance) {
            if (part.owns(p)) items.push_back(instance);
        });
        return instance_epoch(std::move(items), epoch, part, length);
    }

private:
    class_index index_;
    Weighting weighting_;
};

}  // namespace tailor
