#pragma once
// Per-class training counts, the input every imbalance-aware loss is built from. Read once
// into doubles and checked, so each policy states only the extra rule it needs (a log-prior
// loss needs every count > 0, LDAM's n^(-1/4) as well).
#include <cmath>
#include <concepts>
#include <cstddef>
#include <ranges>
#include <string_view>
#include <type_traits>
#include <vector>

#include "tailor/core/error.hpp"
#include "tailor/core/view.hpp"

namespace tailor::loss {
namespace detail {

using tailor::detail::concat;
using tailor::detail::fail;
using tailor::detail::require;

template <class V>
concept arithmetic_value = std::is_arithmetic_v<std::remove_cvref_t<V>> && !std::same_as<std::remove_cvref_t<V>, bool>;

/// Counts from any sized range of numbers (std::vector<int>, std::span<const std::int64_t>,
/// std::array<double, C>, ...): finite and >= 0, at least one class.
template <std::ranges::input_range Counts>
    requires arithmetic_value<std::ranges::range_value_t<Counts>>
std::vector<double> read_counts(const Counts& counts, std::string_view name = "counts")
{
    std::vector<double> out;
    for (const auto& n : counts) out.push_back(static_cast<double>(n));
    require<shape_error>(!out.empty(), name, "one count per class (at least one class)", "an empty list");
    for (std::size_t k = 0; k < out.size(); ++k)
        if (!(std::isfinite(out[k]) && out[k] >= 0)) fail(name, "finite counts >= 0", concat(out[k], " for class ", k));
    return out;
}

/// The same from a host vector view (a training codebase's own buffer).
template <class I>
    requires arithmetic_value<I>
std::vector<double> read_counts(vector_view<I, host_space> counts, std::string_view name = "counts")
{
    std::vector<double> values(static_cast<std::size_t>(counts.extent(0)));
    for (index_t k = 0; k < counts.extent(0); ++k) values[static_cast<std::size_t>(k)] = static_cast<double>(counts(k));
    return read_counts(values, name);
}

/// Rejects a zero count, saying why this loss cannot take one.
inline void require_positive_counts(const std::vector<double>& counts, std::string_view name, std::string_view why)
{
    for (std::size_t k = 0; k < counts.size(); ++k)
        if (!(counts[k] > 0))
            fail(name, concat("every class count > 0 (", why, ")"), concat(counts[k], " for class ", k));
}

/// A parameter that must be a finite number.
inline void require_finite(double value, std::string_view name, std::string_view expected)
{
    require(std::isfinite(value), name, expected, value);
}

/// The per-class data a policy holds must match the logits' columns.
inline void require_classes(index_t held, index_t classes, std::string_view what)
{
    if (held != classes)
        fail<shape_error>("logits", concat(held, " columns (", what, ")"), concat(classes, " columns"));
}

template <class T>
std::vector<T> cast_all(const std::vector<double>& values)
{
    return std::vector<T>(values.begin(), values.end());
}

}  // namespace detail
}  // namespace tailor::loss
