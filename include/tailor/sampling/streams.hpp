#pragma once
// Random streams for the samplers. An epoch is a pure function of (seed, epoch): every
// random decision draws from a Philox stream whose id is derived from what the decision
// is for (purpose, epoch, class, cycle), so any epoch can be produced directly, on any
// rank, without replaying the ones before it.
#include <cstdint>
#include <initializer_list>
#include <span>

#include "tailor/core/config.hpp"
#include "tailor/core/error.hpp"
#include "tailor/core/random.hpp"

namespace tailor {
namespace detail {

/// What a derived stream is used for; part of the stream id, so no two uses share words.
enum class stream_purpose : std::uint64_t {
    anchor_permutation = 1,  ///< the shuffled instance order of an instance-balanced epoch
    anchor_class = 2,        ///< alias draws of anchor classes
    anchor_pool = 3,         ///< per-class pools the anchor instances come from
    partner_class = 4,       ///< alias draws of partner classes
    partner_pool = 5,        ///< per-class pools the partner instances come from
};

/// SplitMix64's finaliser: a bijective 64-bit mixer, used to fold ids into a stream id.
constexpr std::uint64_t mix64(std::uint64_t x) noexcept
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/// The engine for one purpose: same key (seed) as `generator`, stream id hashed from the
/// generator's own stream, the purpose and `ids` (epoch, class, cycle, ...).
inline philox4x32_10 derived_engine(const philox4x32_10& generator, stream_purpose purpose,
                                    std::initializer_list<std::uint64_t> ids)
{
    std::uint64_t stream = mix64(generator.stream() ^ mix64(static_cast<std::uint64_t>(purpose)));
    for (std::uint64_t id : ids) stream = mix64(stream ^ id);
    return generator.split(stream);
}

/// Uniform integer in [0, range), range >= 1, by Lemire's multiply-and-reject (unbiased).
template <class Engine>
std::uint32_t bounded_uint32(Engine& engine, std::uint32_t range)
{
    std::uint64_t product = random_bits<32>(engine) * std::uint64_t{range};
    auto low = static_cast<std::uint32_t>(product);
    if (low < range) {
        const std::uint32_t rejected_below = static_cast<std::uint32_t>(-range) % range;
        while (low < rejected_below) {
            product = random_bits<32>(engine) * std::uint64_t{range};
            low = static_cast<std::uint32_t>(product);
        }
    }
    return static_cast<std::uint32_t>(product >> 32);
}

/// Fisher–Yates shuffle of `items` in place.
template <class Item, class Engine>
void shuffle(std::span<Item> items, Engine& engine)
{
    for (std::size_t i = items.size(); i > 1; --i) {
        const std::size_t j = bounded_uint32(engine, static_cast<std::uint32_t>(i));
        std::swap(items[i - 1], items[j]);
    }
}

/// Shuffles need the population to fit a 32-bit bound.
inline void require_shufflable(index_t size, std::string_view argument)
{
    require(size <= index_t{0xFFFFFFFF}, argument, "fewer than 2^32 instances", size);
}

}  // namespace detail
}  // namespace tailor
