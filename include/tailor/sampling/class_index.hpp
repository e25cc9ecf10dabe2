#pragma once
// Which instances belong to which class: the labels of a dataset grouped by class, the
// input every sampler is built from.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "tailor/core/config.hpp"
#include "tailor/core/error.hpp"
#include "tailor/core/view.hpp"
#include "tailor/sampling/streams.hpp"

namespace tailor {

/// Instances grouped by class: counts, labels and each class's members in dataset order.
/// A class may be empty (its count is 0); samplers never draw an empty class.
class class_index {
public:
    class_index() = default;

    /// From one label per instance; labels must lie in [0, classes).
    static class_index from_labels(vector_view<const std::int32_t> labels, index_t classes)
    {
        detail::require(classes >= 1, "classes", ">= 1", classes);
        detail::require(classes <= index_t{std::numeric_limits<std::int32_t>::max()}, "classes",
                        "< 2^31", classes);
        detail::require(labels.size() >= 1, "labels", "at least one instance", "an empty list");
        class_index index;
        index.labels_.resize(static_cast<std::size_t>(labels.size()));
        index.offsets_.assign(static_cast<std::size_t>(classes) + 1, 0);
        for (index_t i = 0; i < labels.size(); ++i) {
            const std::int32_t label = labels(i);
            if (label < 0 || label >= classes)
                detail::fail<index_error>("labels", detail::concat("class ids in [0, ", classes, ")"),
                                          detail::concat(label, " at instance ", i));
            index.labels_[static_cast<std::size_t>(i)] = label;
            ++index.offsets_[static_cast<std::size_t>(label) + 1];
        }
        index.finish_grouping();
        return index;
    }

    /// From class counts, instances numbered class by class: class 0 owns instances
    /// [0, counts[0]), class 1 the next counts[1], and so on. Counts must be >= 0.
    static class_index from_counts(std::span<const index_t> counts)
    {
        detail::require(!counts.empty(), "counts", "at least one class", "none");
        detail::require(counts.size() <= std::size_t{std::numeric_limits<std::int32_t>::max()}, "counts",
                        "fewer than 2^31 classes", counts.size());
        class_index index;
        index.offsets_.assign(counts.size() + 1, 0);
        for (std::size_t c = 0; c < counts.size(); ++c) {
            if (counts[c] < 0) detail::fail("counts", "counts >= 0", detail::concat(counts[c], " for class ", c));
            index.offsets_[c + 1] = index.offsets_[c] + counts[c];
        }
        detail::require(index.offsets_.back() >= 1, "counts", "at least one instance", "all zero");
        index.labels_.resize(static_cast<std::size_t>(index.offsets_.back()));
        for (std::size_t c = 0; c < counts.size(); ++c)
            for (index_t i = index.offsets_[c]; i < index.offsets_[c + 1]; ++i)
                index.labels_[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(c);
        // Offsets are already cumulative; grouping just lists members in order.
        index.members_.resize(index.labels_.size());
        for (std::size_t i = 0; i < index.members_.size(); ++i) index.members_[i] = static_cast<index_t>(i);
        index.counts_.assign(counts.begin(), counts.end());
        return index;
    }

    index_t classes() const noexcept { return static_cast<index_t>(counts_.size()); }
    index_t instances() const noexcept { return static_cast<index_t>(labels_.size()); }
    std::int32_t label(index_t instance) const noexcept { return labels_[static_cast<std::size_t>(instance)]; }
    index_t count(index_t c) const noexcept { return counts_[static_cast<std::size_t>(c)]; }
    std::span<const index_t> counts() const noexcept { return counts_; }
    std::span<const std::int32_t> labels() const noexcept { return labels_; }
    /// The instances of class c in dataset order.
    std::span<const index_t> members(index_t c) const noexcept
    {
        return std::span(members_).subspan(static_cast<std::size_t>(offsets_[static_cast<std::size_t>(c)]),
                                           static_cast<std::size_t>(count(c)));
    }
    /// Start of class c's members in the grouped order (members of all classes, class by class).
    index_t offset(index_t c) const noexcept { return offsets_[static_cast<std::size_t>(c)]; }
    std::span<const index_t> grouped_members() const noexcept { return members_; }

private:
    /// offsets_ holds counts shifted by one; turn them into starts and list members.
    void finish_grouping()
    {
        counts_.resize(offsets_.size() - 1);
        for (std::size_t c = 0; c + 1 < offsets_.size(); ++c) {
            counts_[c] = offsets_[c + 1];
            offsets_[c + 1] += offsets_[c];
        }
        members_.resize(labels_.size());
        std::vector<index_t> cursor(offsets_.begin(), offsets_.end() - 1);
        for (std::size_t i = 0; i < labels_.size(); ++i)
            members_[static_cast<std::size_t>(cursor[static_cast<std::size_t>(labels_[i])]++)] = static_cast<index_t>(i);
    }

    std::vector<std::int32_t> labels_;
    std::vector<index_t> counts_;
    std::vector<index_t> offsets_;  ///< classes + 1 entries
    std::vector<index_t> members_;  ///< instance ids grouped by class
};

namespace detail {

/// Per-class pools drawn without replacement within an epoch: the k-th draw from class c
/// (counting in stream order) is element k mod n_c of permutation number floor(k / n_c) of
/// c's members, and permutation m of class c in epoch e is a pure function of
/// (seed, purpose, e, c, m). So a shard reproduces the single-process pools exactly while
/// materialising only the permutations its own positions touch.
class class_pools {
public:
    class_pools(const class_index& index, const philox4x32_10& generator, stream_purpose purpose, index_t epoch)
        : index_(&index), generator_(&generator), purpose_(purpose), epoch_(epoch),
          uses_(static_cast<std::size_t>(index.classes()), 0),
          loaded_cycle_(static_cast<std::size_t>(index.classes()), -1),
          shuffled_(index.grouped_members().begin(), index.grouped_members().end())
    {
    }

    /// Counts one draw from class c (non-empty) and returns its instance when `wanted`;
    /// -1 otherwise (a position another shard owns).
    index_t next(std::int32_t c, bool wanted)
    {
        const auto cls = static_cast<std::size_t>(c);
        const index_t k = uses_[cls]++;
        if (!wanted) return -1;
        const index_t n = index_->count(c);
        const index_t cycle = k / n;
        const index_t offset = index_->offset(c);
        if (loaded_cycle_[cls] != cycle) {
            const auto members = index_->members(c);
            const std::span<index_t> pool(shuffled_.data() + offset, static_cast<std::size_t>(n));
            std::copy(members.begin(), members.end(), pool.begin());
            auto engine = derived_engine(*generator_, purpose_,
                                         {static_cast<std::uint64_t>(epoch_), static_cast<std::uint64_t>(c),
                                          static_cast<std::uint64_t>(cycle)});
            shuffle(pool, engine);
            loaded_cycle_[cls] = cycle;
        }
        return shuffled_[static_cast<std::size_t>(offset + k % n)];
    }

private:
    const class_index* index_;
    const philox4x32_10* generator_;
    stream_purpose purpose_;
    index_t epoch_;
    std::vector<index_t> uses_;
    std::vector<index_t> loaded_cycle_;
    std::vector<index_t> shuffled_;
};

}  // namespace detail
}  // namespace tailor
