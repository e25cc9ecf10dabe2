#pragma once
// Walker's alias method with Vose's O(n) construction, in exact integer arithmetic.
//
// A table over n outcomes has n columns of capacity 2^32. Column k keeps outcome k with
// probability threshold_k / 2^32 and otherwise yields its alias. The weights are quantised
// to masses summing to exactly n * 2^32, so the construction never leaves a column with a
// rounding residue (a zero weight is never drawn) and every draw costs one 64-bit random
// word, one multiply and one table read: O(1).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string_view>
#include <vector>

#include "tailor/core/config.hpp"
#include "tailor/core/error.hpp"
#include "tailor/core/random.hpp"

namespace tailor {
namespace detail {

struct alias_entry {
    std::uint32_t threshold;  ///< keep the column's own outcome when fraction < threshold
    std::int32_t alias;       ///< column drawn otherwise (the column itself when full)
};

inline constexpr std::uint64_t alias_column_mass = std::uint64_t{1} << 32;

/// Throws unless every weight is finite and >= 0 and at least one is > 0. `row` >= 0 names
/// the row of a conditional table in the message.
inline void require_weights(std::span<const double> weights, std::string_view argument, index_t row = -1)
{
    const auto where = [&](auto&&... detail_parts) {
        return row < 0 ? concat(detail_parts...) : concat(detail_parts..., " in row ", row);
    };
    require(!weights.empty(), argument, "at least one weight", "none");
    require(weights.size() <= std::size_t{std::numeric_limits<std::int32_t>::max()}, argument,
            "fewer than 2^31 weights", weights.size());
    double total = 0;
    for (std::size_t k = 0; k < weights.size(); ++k) {
        if (!(std::isfinite(weights[k]) && weights[k] >= 0))
            fail(argument, "finite weights >= 0", where("weight ", weights[k], " at ", k));
        total += weights[k];
    }
    if (!(total > 0 && std::isfinite(total)))
        fail(argument, "a finite, positive sum of weights", where(total));
}

/// Fills `columns` (one per weight) and `probabilities` (the normalised weights).
/// Weights must have passed require_weights.
inline void build_alias_columns(std::span<const double> weights, std::span<alias_entry> columns,
                                std::span<double> probabilities, std::vector<std::uint64_t>& masses,
                                std::vector<std::int32_t>& worklist)
{
    const std::size_t n = weights.size();
    double total = 0;
    for (double w : weights) total += w;

    // Quantise to integer masses with an exact total of n * 2^32; the rounding residue
    // (a few units in 2^32 n) goes to the heaviest outcome.
    const std::uint64_t target = static_cast<std::uint64_t>(n) * alias_column_mass;
    masses.assign(n, 0);
    std::int64_t assigned = 0;
    std::size_t heaviest = 0;
    for (std::size_t k = 0; k < n; ++k) {
        probabilities[k] = weights[k] / total;
        masses[k] = static_cast<std::uint64_t>(std::floor(probabilities[k] * static_cast<double>(target)));
        assigned += static_cast<std::int64_t>(masses[k]);
        if (weights[k] > weights[heaviest]) heaviest = k;
    }
    masses[heaviest] = static_cast<std::uint64_t>(static_cast<std::int64_t>(masses[heaviest]) +
                                                  (static_cast<std::int64_t>(target) - assigned));

    // Vose: light columns (mass < 2^32) are topped up from heavy ones. The worklist holds
    // light columns from the front and heavy ones from the back.
    worklist.resize(n);
    std::size_t light_end = 0, heavy_begin = n;
    for (std::size_t k = 0; k < n; ++k) {
        if (masses[k] < alias_column_mass)
            worklist[light_end++] = static_cast<std::int32_t>(k);
        else
            worklist[--heavy_begin] = static_cast<std::int32_t>(k);
    }
    while (light_end > 0 && heavy_begin < n) {
        const auto light = static_cast<std::size_t>(worklist[--light_end]);
        const auto heavy = static_cast<std::size_t>(worklist[heavy_begin]);
        columns[light] = {static_cast<std::uint32_t>(masses[light]), static_cast<std::int32_t>(heavy)};
        masses[heavy] -= alias_column_mass - masses[light];
        if (masses[heavy] < alias_column_mass) {
            ++heavy_begin;
            worklist[light_end++] = static_cast<std::int32_t>(heavy);
        }
    }
    // The total is exact, so whatever is left holds exactly 2^32: a full column.
    for (std::size_t i = 0; i < light_end; ++i) {
        const auto k = worklist[i];
        columns[static_cast<std::size_t>(k)] = {std::numeric_limits<std::uint32_t>::max(), k};
    }
    for (std::size_t i = heavy_begin; i < n; ++i) {
        const auto k = worklist[i];
        columns[static_cast<std::size_t>(k)] = {std::numeric_limits<std::uint32_t>::max(), k};
    }
}

/// One draw from a row of `width` columns: the column from the high 32 bits of a 64-bit
/// word (multiply-shift), the keep-or-alias fraction from the low 32 bits.
template <class Engine>
inline std::int32_t draw_alias_column(const alias_entry* columns, std::uint32_t width, Engine& engine)
{
    const std::uint64_t bits = random_bits<64>(engine);
    const auto column = static_cast<std::uint32_t>(((bits >> 32) * width) >> 32);
    const alias_entry entry = columns[column];
    return static_cast<std::uint32_t>(bits) < entry.threshold ? static_cast<std::int32_t>(column) : entry.alias;
}

}  // namespace detail

/// A fixed discrete distribution over outcomes 0 .. n-1 with O(1) draws.
class alias_table {
public:
    alias_table() = default;

    /// Outcome k with probability weights[k] / sum(weights). Weights finite, >= 0, not all 0.
    explicit alias_table(std::span<const double> weights)
    {
        detail::require_weights(weights, "weights");
        columns_.resize(weights.size());
        probabilities_.resize(weights.size());
        std::vector<std::uint64_t> masses;
        std::vector<std::int32_t> worklist;
        detail::build_alias_columns(weights, columns_, probabilities_, masses, worklist);
    }

    index_t size() const noexcept { return static_cast<index_t>(columns_.size()); }
    /// The normalised weight of outcome k.
    double probability(index_t k) const noexcept { return probabilities_[static_cast<std::size_t>(k)]; }
    std::span<const double> probabilities() const noexcept { return probabilities_; }

    /// One outcome; consumes 64 random bits (two words of a 32-bit engine).
    template <class Engine>
    std::int32_t operator()(Engine& engine) const
    {
        return detail::draw_alias_column(columns_.data(), static_cast<std::uint32_t>(columns_.size()), engine);
    }

private:
    std::vector<detail::alias_entry> columns_;
    std::vector<double> probabilities_;
};

/// One alias table per row: P(outcome | row). Rows have a common width; a row is either
/// dense (column k is outcome k) or lists its outcomes (column k is outcome ids[k]), the
/// compact form for top-k neighbour lists.
class conditional_alias_table {
public:
    conditional_alias_table() = default;

    /// Dense rows: weights is [rows, width] row-major; row r draws k with weight (r, k).
    conditional_alias_table(std::span<const double> weights, index_t rows, index_t width)
        : conditional_alias_table(weights, {}, rows, width)
    {
    }

    /// Listed rows: column k of row r yields outcomes[r * width + k]. Zero-weight columns
    /// are never drawn, so short rows can be padded with any outcome id and weight 0.
    conditional_alias_table(std::span<const double> weights, std::span<const std::int32_t> outcomes,
                            index_t rows, index_t width)
        : rows_(rows), width_(width), outcomes_(outcomes.begin(), outcomes.end())
    {
        detail::require(rows >= 1, "rows", ">= 1", rows);
        detail::require(width >= 1 && width <= std::numeric_limits<std::int32_t>::max(), "width",
                        "in [1, 2^31)", width);
        detail::require<shape_error>(static_cast<index_t>(weights.size()) == rows * width, "weights",
                                     detail::concat(rows * width, " entries (rows x width)"), weights.size());
        detail::require<shape_error>(outcomes.empty() || outcomes.size() == weights.size(), "outcomes",
                                     detail::concat("none or ", weights.size(), " entries"), outcomes.size());
        columns_.resize(weights.size());
        probabilities_.resize(weights.size());
        std::vector<std::uint64_t> masses;
        std::vector<std::int32_t> worklist;
        for (index_t r = 0; r < rows; ++r) {
            const auto row_weights = weights.subspan(static_cast<std::size_t>(r * width), static_cast<std::size_t>(width));
            detail::require_weights(row_weights, "weights", r);
            detail::build_alias_columns(row_weights, row_columns(r), row_probabilities(r), masses, worklist);
        }
    }

    index_t rows() const noexcept { return rows_; }
    index_t width() const noexcept { return width_; }
    bool lists_outcomes() const noexcept { return !outcomes_.empty(); }

    /// P(outcome | row); 0 for an outcome the row does not list.
    double probability(index_t row, index_t outcome) const noexcept
    {
        const auto first = static_cast<std::size_t>(row * width_);
        if (!lists_outcomes()) return probabilities_[first + static_cast<std::size_t>(outcome)];
        double sum = 0;
        for (index_t k = 0; k < width_; ++k)
            if (outcomes_[first + static_cast<std::size_t>(k)] == outcome) sum += probabilities_[first + static_cast<std::size_t>(k)];
        return sum;
    }

    /// One outcome of row `row` (unchecked); consumes 64 random bits.
    template <class Engine>
    std::int32_t operator()(index_t row, Engine& engine) const
    {
        const auto first = static_cast<std::size_t>(row * width_);
        const std::int32_t column =
            detail::draw_alias_column(columns_.data() + first, static_cast<std::uint32_t>(width_), engine);
        return outcomes_.empty() ? column : outcomes_[first + static_cast<std::size_t>(column)];
    }

    /// out[i] = one outcome of row rows[i], for every i; the same outcomes, from the same
    /// engine words, as calling operator() in order. Rows are unchecked. Random words are
    /// generated a few draws ahead and their table entries prefetched, which hides the cache
    /// misses of a table larger than the cache (C = 1000 dense rows are 8 MB).
    template <class Engine>
    void draw(std::span<const std::int32_t> rows, std::span<std::int32_t> out, Engine& engine) const
    {
        constexpr std::size_t lookahead = 16;
        struct pending_draw {
            const detail::alias_entry* entry;
            std::size_t column_offset;  ///< row start + column, for the outcome list
            std::uint32_t column;
            std::uint32_t fraction;
        };
        pending_draw ring[lookahead];
        const auto width = static_cast<std::uint32_t>(width_);
        const auto issue = [&](std::size_t i) {
            const std::uint64_t bits = detail::random_bits<64>(engine);
            const auto column = static_cast<std::uint32_t>(((bits >> 32) * width) >> 32);
            const std::size_t offset = static_cast<std::size_t>(rows[i]) * width + column;
            const detail::alias_entry* entry = columns_.data() + offset;
#if defined(__GNUC__)
            __builtin_prefetch(entry);
#endif
            ring[i % lookahead] = {entry, offset, column, static_cast<std::uint32_t>(bits)};
        };
        const std::size_t n = std::min(rows.size(), out.size());
        for (std::size_t i = 0; i < std::min(n, lookahead); ++i) issue(i);
        for (std::size_t i = 0; i < n; ++i) {
            const pending_draw draw = ring[i % lookahead];
            if (i + lookahead < n) issue(i + lookahead);
            const detail::alias_entry entry = *draw.entry;
            const bool keep = draw.fraction < entry.threshold;
            if (outcomes_.empty()) {
                out[i] = keep ? static_cast<std::int32_t>(draw.column) : entry.alias;
            } else {
                const std::size_t row_first = draw.column_offset - draw.column;
                out[i] = outcomes_[keep ? draw.column_offset : row_first + static_cast<std::size_t>(entry.alias)];
            }
        }
    }

private:
    std::span<detail::alias_entry> row_columns(index_t r)
    {
        return std::span(columns_).subspan(static_cast<std::size_t>(r * width_), static_cast<std::size_t>(width_));
    }
    std::span<double> row_probabilities(index_t r)
    {
        return std::span(probabilities_).subspan(static_cast<std::size_t>(r * width_), static_cast<std::size_t>(width_));
    }

    index_t rows_ = 0;
    index_t width_ = 0;
    std::vector<detail::alias_entry> columns_;
    std::vector<double> probabilities_;
    std::vector<std::int32_t> outcomes_;
};

}  // namespace tailor
