#pragma once
// Pair samplers: an anchor instance from a class weighting, and a partner for it.
//
// text_similarity_pair_sampler is LFM's local sampling (seed 000, Eq. (1), normalised over
// j != i as the released code does):
//     P(j | i) = exp(s_ij / tau) / sum_{k != i} exp(s_ik / tau),   P(i | i) = 0,
// optionally restricted to the top-k most similar classes and renormalised (one softmax
// over the kept classes, never a softmax of probabilities). The partner instance comes from
// class j's pool, taken without replacement and reshuffled when it runs out.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "tailor/core/error.hpp"
#include "tailor/core/random.hpp"
#include "tailor/core/tensor.hpp"
#include "tailor/sampling/alias_table.hpp"
#include "tailor/sampling/class_index.hpp"
#include "tailor/sampling/class_samplers.hpp"
#include "tailor/sampling/concepts.hpp"
#include "tailor/sampling/epoch.hpp"
#include "tailor/sampling/streams.hpp"

namespace tailor {

struct text_similarity_options {
    double tau = 0.05;   ///< softmax temperature, > 0 (LFM: 0.05; Places-LT: 1)
    index_t top_k = 0;   ///< keep the k most similar classes; 0 keeps all C - 1
};

namespace detail {

/// The partner rows: row i holds exp((s_ij - max_j s_ij) / tau) over the candidate classes
/// j (j != i, n_j > 0; the top_k most similar of them when top_k > 0). Ties in the top-k
/// selection go to the lower class id, so the table is a function of its inputs.
inline conditional_alias_table build_partner_table(matrix_view<const float> similarities,
                                                   std::span<const index_t> counts,
                                                   const text_similarity_options& options)
{
    const index_t classes = similarities.rows();
    const bool listed = options.top_k > 0 && options.top_k < classes - 1;
    const index_t width = listed ? options.top_k : classes;
    std::vector<double> weights(static_cast<std::size_t>(classes * width), 0.0);
    std::vector<std::int32_t> outcomes(listed ? weights.size() : 0);
    std::vector<std::int32_t> candidates;
    candidates.reserve(static_cast<std::size_t>(classes));

    for (index_t i = 0; i < classes; ++i) {
        candidates.clear();
        for (index_t j = 0; j < classes; ++j)
            if (j != i && counts[static_cast<std::size_t>(j)] > 0) candidates.push_back(static_cast<std::int32_t>(j));
        const auto more_similar = [&](std::int32_t a, std::int32_t b) {
            const float sa = similarities(i, a), sb = similarities(i, b);
            return sa > sb || (sa == sb && a < b);
        };
        std::size_t kept = candidates.size();
        if (listed && kept > static_cast<std::size_t>(width)) {
            std::nth_element(candidates.begin(), candidates.begin() + width - 1, candidates.end(), more_similar);
            kept = static_cast<std::size_t>(width);
            std::sort(candidates.begin(), candidates.begin() + width, more_similar);
        }
        double largest = -INFINITY;
        for (std::size_t k = 0; k < kept; ++k) largest = std::max(largest, static_cast<double>(similarities(i, candidates[k])));
        double* row = weights.data() + i * width;
        for (std::size_t k = 0; k < kept; ++k) {
            const std::int32_t j = candidates[k];
            // Divide (not multiply by 1/tau): a tiny tau must give exp(0) = 1, not exp(0 * inf).
            const double weight = std::exp((static_cast<double>(similarities(i, j)) - largest) / options.tau);
            if (listed) {
                row[k] = weight;
                outcomes[static_cast<std::size_t>(i * width) + k] = j;
            } else {
                row[j] = weight;
            }
        }
        // Padding of short listed rows: weight 0 (never drawn), any valid outcome.
        if (listed)
            for (std::size_t k = kept; k < static_cast<std::size_t>(width); ++k)
                outcomes[static_cast<std::size_t>(i * width) + k] = candidates.front();
    }
    return listed ? conditional_alias_table(weights, outcomes, classes, width)
                  : conditional_alias_table(weights, classes, width);
}

inline void require_pairable(const class_index& index)
{
    const index_t nonempty = nonempty_classes(index.counts());
    if (nonempty < 2) {
        index_t only = 0;
        while (index.count(only) == 0) ++only;
        fail("labels", "at least two classes with instances (a partner class other than the anchor's)",
             concat("only class ", only, " has instances: no partner left for it"));
    }
}

}  // namespace detail

/// LFM's local sampling: anchors from `Anchor` (instance-balanced by default, p(i) = n_i / N),
/// partner class j ~ P(j | i) by text similarity, partner instance from j's pool.
template <class_weighting Anchor = instance_balanced>
class text_similarity_pair_sampler {
public:
    /// Reads the similarities once. Throws on: a class-count mismatch, tau <= 0 or not
    /// finite, top_k outside [0, C - 1], a non-finite similarity, fewer than two classes with
    /// instances. Classes without instances are never anchors nor partners.
    template <similarity_source Source>
    text_similarity_pair_sampler(const Source& similarities, class_index index,
                                 text_similarity_options options = {}, Anchor anchor = {})
        : index_(std::move(index)), anchor_(std::move(anchor)), options_(options)
    {
        const index_t classes = index_.classes();
        detail::require<shape_error>(similarities.classes() == classes, "similarities",
                                     detail::concat(classes, " classes (as many as the labels have)"),
                                     similarities.classes());
        detail::require(std::isfinite(options.tau) && options.tau > 0, "tau", "a finite value > 0", options.tau);
        detail::require(options.top_k >= 0 && options.top_k <= classes - 1, "top_k",
                        detail::concat("in [0, ", classes - 1, "] (0 keeps all; a class has C - 1 partners)"),
                        options.top_k);
        detail::require_shufflable(index_.instances(), "labels");
        detail::require_pairable(index_);

        tensor<float, 2> matrix({classes, classes});
        similarities.write_similarities(matrix.view());
        for (index_t i = 0; i < classes; ++i)
            for (index_t j = 0; j < classes; ++j)
                if (!std::isfinite(matrix(i, j)))
                    detail::fail("similarities", "finite values",
                                 detail::concat(matrix(i, j), " at (", i, ", ", j, ")"));
        partners_ = detail::build_partner_table(std::as_const(matrix).view(), index_.counts(), options_);
    }

    const class_index& index() const noexcept { return index_; }
    const Anchor& anchor_weighting() const noexcept { return anchor_; }
    const text_similarity_options& options() const noexcept { return options_; }
    const conditional_alias_table& partner_table() const noexcept { return partners_; }

    /// P(partner class j | anchor class i).
    double partner_probability(index_t i, index_t j) const noexcept { return partners_.probability(i, j); }

    /// One partner class for an anchor of class `anchor_class` (unchecked); O(1).
    template <class Engine>
    std::int32_t draw_partner_class(index_t anchor_class, Engine& engine) const
    {
        return partners_(anchor_class, engine);
    }

    /// Partner classes for many anchors at once: out[i] ~ P(. | anchor_classes[i]); the same
    /// classes as draw_partner_class in order, faster when the table outgrows the cache.
    template <class Engine>
    void draw_partner_classes(std::span<const std::int32_t> anchor_classes, std::span<std::int32_t> out,
                              Engine& engine) const
    {
        detail::require<shape_error>(out.size() == anchor_classes.size(), "out",
                                     detail::concat(anchor_classes.size(), " entries"), out.size());
        for (std::size_t i = 0; i < anchor_classes.size(); ++i)
            if (anchor_classes[i] < 0 || anchor_classes[i] >= index_.classes())
                detail::fail<index_error>("anchor_classes", detail::concat("class ids in [0, ", index_.classes(), ")"),
                                          detail::concat(anchor_classes[i], " at ", i));
        partners_.draw(anchor_classes, out, engine);
    }

    index_t epoch_length() const { return anchor_.epoch_length(index_.counts()); }

    /// The (anchor, partner) pairs `part` gets in epoch `epoch`.
    pair_epoch epoch(const philox4x32_10& generator, index_t epoch, shard part = {}) const
    {
        detail::require_valid_epoch(epoch);
        detail::require_valid_shard(part);
        const index_t length = epoch_length();
        // Anchors first (every position's class, owned positions' instances), then all
        // partner classes in one prefetching pass, then the partner pools in stream order.
        std::vector<std::int32_t> anchor_classes(static_cast<std::size_t>(length));
        std::vector<index_pair> items;
        items.reserve(static_cast<std::size_t>(part.share_of(length)));
        detail::for_each_anchor(index_, anchor_, generator, epoch, part, [&](index_t p, std::int32_t c, index_t anchor) {
            anchor_classes[static_cast<std::size_t>(p)] = c;
            if (part.owns(p)) items.push_back({anchor, -1});
        });
        std::vector<std::int32_t> partner_classes(anchor_classes.size());
        auto class_engine = detail::derived_engine(generator, detail::stream_purpose::partner_class,
                                                   {static_cast<std::uint64_t>(epoch)});
        partners_.draw(anchor_classes, partner_classes, class_engine);
        detail::class_pools pools(index_, generator, detail::stream_purpose::partner_pool, epoch);
        for (index_t p = 0; p < length; ++p) {
            const bool owned = part.owns(p);
            const index_t partner = pools.next(partner_classes[static_cast<std::size_t>(p)], owned);
            if (owned) items[static_cast<std::size_t>(p / part.world)].second = partner;
        }
        return pair_epoch(std::move(items), epoch, part, length);
    }

private:
    class_index index_;
    Anchor anchor_;
    text_similarity_options options_;
    conditional_alias_table partners_;
};

/// Classic mixup's pairing: anchors from `Anchor`, partners uniform over all instances from
/// one pool of the whole dataset (a shuffle, reshuffled when it runs out).
template <class_weighting Anchor = instance_balanced>
class random_pair_sampler {
public:
    explicit random_pair_sampler(class_index index, Anchor anchor = {})
        : index_(std::move(index)), anchor_(std::move(anchor)),
          everyone_(class_index::from_counts(std::vector<index_t>{index_.instances()}))
    {
        detail::require_shufflable(index_.instances(), "labels");
    }

    const class_index& index() const noexcept { return index_; }
    index_t epoch_length() const { return anchor_.epoch_length(index_.counts()); }

    pair_epoch epoch(const philox4x32_10& generator, index_t epoch, shard part = {}) const
    {
        detail::require_valid_epoch(epoch);
        detail::require_valid_shard(part);
        const index_t length = epoch_length();
        std::vector<index_pair> items;
        items.reserve(static_cast<std::size_t>(part.share_of(length)));
        detail::class_pools pool(everyone_, generator, detail::stream_purpose::partner_pool, epoch);
        detail::for_each_anchor(index_, anchor_, generator, epoch, part, [&](index_t p, std::int32_t, index_t anchor) {
            const bool owned = part.owns(p);
            const index_t partner = pool.next(0, owned);
            if (owned) items.push_back({anchor, partner});
        });
        return pair_epoch(std::move(items), epoch, part, length);
    }

private:
    class_index index_;
    Anchor anchor_;
    class_index everyone_;  ///< one class holding every instance: the partner pool
};

static_assert(pair_sampler<text_similarity_pair_sampler<>>);
static_assert(pair_sampler<random_pair_sampler<>>);

}  // namespace tailor
