#pragma once
// Many / medium / few-shot accuracy. The literature disagrees on the boundaries and on how
// a group is averaged, so both are explicit values with named presets.
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string_view>

#include "tailor/metrics/classification.hpp"

namespace tailor::metrics {

enum class shot_group { many = 0, medium = 1, few = 2 };

inline constexpr std::string_view name(shot_group g)
{
    return g == shot_group::many ? "many" : g == shot_group::medium ? "medium" : "few";
}

enum class group_averaging {
    mean_of_class_accuracies,  ///< every class with test samples weighs the same
    pooled_samples,            ///< hits / samples over the whole group
};

/// Boundaries on the training count n: many if n > many_above (or >= with many_inclusive),
/// few if n < few_below (or <= with few_inclusive), medium otherwise.
struct shot_convention {
    std::int64_t many_above = 100;
    bool many_inclusive = false;
    std::int64_t few_below = 20;
    bool few_inclusive = false;
    group_averaging averaging = group_averaging::mean_of_class_accuracies;

    shot_group group_of(std::int64_t training_count) const noexcept
    {
        if (training_count > many_above || (many_inclusive && training_count == many_above)) return shot_group::many;
        if (training_count < few_below || (few_inclusive && training_count == few_below)) return shot_group::few;
        return shot_group::medium;
    }
};

/// Paper text (LFM, VL-LTR): many n > 100, medium 20 <= n <= 100, few n < 20, mean of
/// per-class accuracies.
inline constexpr shot_convention paper_convention{100, false, 20, false, group_averaging::mean_of_class_accuracies};

/// The convention some released evaluators use: many n >= 100, medium 20 < n < 100,
/// few n <= 20, pooled over test samples.
inline constexpr shot_convention pooled_inclusive_convention{100, true, 20, true, group_averaging::pooled_samples};

struct group_accuracy {
    double accuracy = std::numeric_limits<double>::quiet_NaN();  ///< NaN when the group is empty
    std::int64_t classes = 0;  ///< classes of the group that have test samples
    std::int64_t samples = 0;
    bool empty() const noexcept { return samples == 0; }
};

struct shot_report {
    std::array<group_accuracy, 3> groups;  ///< indexed by shot_group
    group_accuracy overall;                ///< same averaging over every class
    const group_accuracy& operator[](shot_group g) const { return groups[static_cast<std::size_t>(g)]; }
};

/// Groups classes by training count and averages per the convention. Classes without
/// test samples are left out of every mean; an empty group reports NaN, never a crash.
template <class Count>
shot_report shot_accuracy(const per_class_result& per_class, vector_view<const Count> training_counts,
                          const shot_convention& convention = paper_convention)
{
    detail::require_extents(training_counts, "training_counts", {per_class.classes()});
    std::array<double, 4> sum_accuracy{};
    std::array<std::int64_t, 4> hits{}, samples{}, classes{};
    for (index_t c = 0; c < per_class.classes(); ++c) {
        detail::require(training_counts(c) >= 0, "training_counts", "counts >= 0",
                        detail::concat(training_counts(c), " for class ", c));
        const auto n = per_class.total[static_cast<std::size_t>(c)];
        if (n == 0) continue;
        const auto g = static_cast<std::size_t>(convention.group_of(static_cast<std::int64_t>(training_counts(c))));
        for (std::size_t slot : {g, std::size_t(3)}) {
            sum_accuracy[slot] += per_class.accuracy(c);
            hits[slot] += per_class.correct[static_cast<std::size_t>(c)];
            samples[slot] += n;
            ++classes[slot];
        }
    }
    shot_report report;
    for (std::size_t slot = 0; slot < 4; ++slot) {
        group_accuracy& out = slot < 3 ? report.groups[slot] : report.overall;
        out.classes = classes[slot];
        out.samples = samples[slot];
        if (samples[slot] > 0)
            out.accuracy = convention.averaging == group_averaging::pooled_samples
                               ? double(hits[slot]) / double(samples[slot])
                               : sum_accuracy[slot] / double(classes[slot]);
    }
    return report;
}

}  // namespace tailor::metrics
