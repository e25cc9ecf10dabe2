#pragma once
// Long-tailed class-count profiles, and a seeded long-tailed subset of a balanced dataset
// (how CIFAR-10/100-LT are cut from CIFAR-10/100). Class 0 is the head in every profile.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include "tailor/core/concepts.hpp"
#include "tailor/core/error.hpp"
#include "tailor/core/view.hpp"
#include "tailor/sampling/class_index.hpp"
#include "tailor/sampling/streams.hpp"

namespace tailor {
namespace detail {

inline void require_profile_arguments(index_t classes, index_t max_count, double imbalance_factor)
{
    require(classes >= 1, "classes", ">= 1", classes);
    require(max_count >= 1, "max_count", ">= 1", max_count);
    require(std::isfinite(imbalance_factor) && imbalance_factor >= 1, "imbalance_factor", "a finite value >= 1",
            imbalance_factor);
}

inline std::vector<index_t> checked_profile(std::vector<index_t> counts, double imbalance_factor)
{
    for (index_t n : counts)
        require(n >= 1, "imbalance_factor", "small enough that every class keeps an instance (<= max_count)",
                imbalance_factor);
    return counts;
}

}  // namespace detail

/// CIFAR-LT's exponential profile: n_i = floor(n_max (1 / IF)^(i / (C - 1))).
inline std::vector<index_t> exponential_profile(index_t classes, index_t max_count, double imbalance_factor)
{
    detail::require_profile_arguments(classes, max_count, imbalance_factor);
    std::vector<index_t> counts(static_cast<std::size_t>(classes));
    for (index_t i = 0; i < classes; ++i) {
        const double exponent = classes == 1 ? 0.0 : static_cast<double>(i) / static_cast<double>(classes - 1);
        counts[static_cast<std::size_t>(i)] =
            static_cast<index_t>(std::floor(static_cast<double>(max_count) * std::pow(1.0 / imbalance_factor, exponent)));
    }
    return detail::checked_profile(std::move(counts), imbalance_factor);
}

/// Step profile: the first floor(C / 2) classes get n_max, the other ceil(C / 2) get
/// floor(n_max / IF).
inline std::vector<index_t> step_profile(index_t classes, index_t max_count, double imbalance_factor)
{
    detail::require_profile_arguments(classes, max_count, imbalance_factor);
    const auto minority = static_cast<index_t>(std::floor(static_cast<double>(max_count) / imbalance_factor));
    std::vector<index_t> counts(static_cast<std::size_t>(classes), minority);
    std::fill_n(counts.begin(), classes / 2, max_count);
    if (classes == 1) counts[0] = max_count;
    return detail::checked_profile(std::move(counts), imbalance_factor);
}

/// A Pareto-shaped profile: counts follow the Pareto (Lomax) density over the class rank,
/// n_i = floor(n_max (1 + s x_i)^-(shape + 1)), x_i = i / (C - 1), with s chosen so the
/// tail class gets n_max / IF. A steep head and a long flat tail, like ImageNet-LT (which
/// was drawn from a Pareto with shape 6 and ships as fixed lists).
inline std::vector<index_t> pareto_profile(index_t classes, index_t max_count, double imbalance_factor,
                                           double shape = 6.0)
{
    detail::require_profile_arguments(classes, max_count, imbalance_factor);
    detail::require(std::isfinite(shape) && shape > 0, "shape", "a finite value > 0", shape);
    const double power = shape + 1.0;
    const double scale = std::pow(imbalance_factor, 1.0 / power) - 1.0;
    std::vector<index_t> counts(static_cast<std::size_t>(classes));
    for (index_t i = 0; i < classes; ++i) {
        const double x = classes == 1 ? 0.0 : static_cast<double>(i) / static_cast<double>(classes - 1);
        counts[static_cast<std::size_t>(i)] =
            static_cast<index_t>(std::floor(static_cast<double>(max_count) * std::pow(1.0 + scale * x, -power)));
    }
    return detail::checked_profile(std::move(counts), imbalance_factor);
}

/// A seeded long-tailed subset of a labelled dataset: for each class c, counts[c] of its
/// instances chosen uniformly without replacement (classes in order, one partial shuffle
/// each). Returns the chosen instance indices in ascending order. Throws when a class has
/// fewer instances than asked for.
template <random_engine Engine>
std::vector<index_t> choose_long_tail_subset(vector_view<const std::int32_t> labels, std::span<const index_t> counts,
                                             Engine& engine)
{
    const class_index index = class_index::from_labels(labels, static_cast<index_t>(counts.size()));
    detail::require_shufflable(index.instances(), "labels");
    std::vector<index_t> chosen;
    std::vector<index_t> members;
    for (index_t c = 0; c < index.classes(); ++c) {
        const index_t wanted = counts[static_cast<std::size_t>(c)];
        if (wanted < 0 || wanted > index.count(c))
            detail::fail("counts", "counts in [0, instances of the class]",
                         detail::concat(wanted, " for class ", c, ", which has ", index.count(c)));
        const auto all = index.members(c);
        members.assign(all.begin(), all.end());
        // Partial Fisher–Yates: the first `wanted` slots end up a uniform sample.
        for (index_t k = 0; k < wanted; ++k) {
            const auto remaining = static_cast<std::uint32_t>(index.count(c) - k);
            const index_t pick = k + detail::bounded_uint32(engine, remaining);
            std::swap(members[static_cast<std::size_t>(k)], members[static_cast<std::size_t>(pick)]);
        }
        chosen.insert(chosen.end(), members.begin(), members.begin() + wanted);
    }
    std::sort(chosen.begin(), chosen.end());
    return chosen;
}

}  // namespace tailor
