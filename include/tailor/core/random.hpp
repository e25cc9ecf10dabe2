#pragma once
// Counter-based random streams and the few distributions tailor needs.
//
// philox4x32_10 is Random123's Philox4x32 with 10 rounds (Salmon et al., SC'11): a keyed
// bijection on 128-bit counters. Because word i of a stream is a pure function of
// (seed, stream, i), a CPU loop and a CUDA kernel can draw the same numbers for one seed,
// each thread computing its own elements with philox_uint32() and no shared state.
//
// Sequence (stable across versions and backends; see docs/random.md):
//   key     = {lo32(seed), hi32(seed)}
//   block n = bijection({lo32(n), hi32(n), lo32(stream), hi32(stream)}, key),  n = 0, 1, ...
//   output  = block 0 words 0..3, then block 1 words 0..3, ...
//
// The distributions are templates over any std::uniform_random_bit_generator and compute
// in double internally; float results are the double results rounded once.
#include <array>
#include <bit>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <limits>
#include <random>
#include <string_view>

#include "tailor/core/config.hpp"
#include "tailor/core/error.hpp"

namespace tailor {

// ---------------------------------------------------------------------------------------
// Philox4x32-10 bijection
// ---------------------------------------------------------------------------------------

/// Four 32-bit words: a Philox counter or a Philox output block. A plain aggregate (not
/// std::array) so device code can use it without relaxed-constexpr compiler flags.
struct philox_block {
    std::uint32_t word[4];
    friend constexpr bool operator==(const philox_block&, const philox_block&) = default;
};

/// Two 32-bit words: a Philox4x32 key.
struct philox_key {
    std::uint32_t word[2];
    friend constexpr bool operator==(const philox_key&, const philox_key&) = default;
};

namespace detail {

// Random123's constants: round multipliers and the Weyl-sequence key increments
// (golden ratio and sqrt(3) - 1, scaled to 32 bits).
inline constexpr std::uint32_t philox_multiplier0 = 0xD2511F53u;
inline constexpr std::uint32_t philox_multiplier1 = 0xCD9E8D57u;
inline constexpr std::uint32_t philox_key_increment0 = 0x9E3779B9u;
inline constexpr std::uint32_t philox_key_increment1 = 0xBB67AE85u;
inline constexpr int philox_rounds = 10;

TAILOR_HOST_DEVICE constexpr std::uint32_t low_word(std::uint64_t value) noexcept
{
    return static_cast<std::uint32_t>(value);
}

TAILOR_HOST_DEVICE constexpr std::uint32_t high_word(std::uint64_t value) noexcept
{
    return static_cast<std::uint32_t>(value >> 32);
}

TAILOR_HOST_DEVICE constexpr std::uint64_t join_words(std::uint32_t low, std::uint32_t high) noexcept
{
    return (static_cast<std::uint64_t>(high) << 32) | low;
}

/// One Philox S-box round: two 32x32->64 multiplies, halves crossed and XORed with the key.
TAILOR_HOST_DEVICE constexpr philox_block philox_round(philox_block counter, philox_key key) noexcept
{
    const std::uint64_t product0 = static_cast<std::uint64_t>(philox_multiplier0) * counter.word[0];
    const std::uint64_t product1 = static_cast<std::uint64_t>(philox_multiplier1) * counter.word[2];
    return philox_block{{high_word(product1) ^ counter.word[1] ^ key.word[0], low_word(product1),
                         high_word(product0) ^ counter.word[3] ^ key.word[1], low_word(product0)}};
}

}  // namespace detail

/// The raw Philox4x32-10 function: 10 rounds, the key bumped by the Weyl increments between
/// rounds. Host and device; the primitive every other draw in this file is built from.
TAILOR_HOST_DEVICE constexpr philox_block philox4x32_10_bijection(philox_block counter,
                                                                  philox_key key) noexcept
{
    for (int round = 0; round < detail::philox_rounds; ++round) {
        if (round > 0) {
            key.word[0] += detail::philox_key_increment0;
            key.word[1] += detail::philox_key_increment1;
        }
        counter = detail::philox_round(counter, key);
    }
    return counter;
}

/// The Philox key for a 64-bit seed: {lo32(seed), hi32(seed)}.
TAILOR_HOST_DEVICE constexpr philox_key philox_key_for_seed(std::uint64_t seed) noexcept
{
    return philox_key{{detail::low_word(seed), detail::high_word(seed)}};
}

/// The counter of block `block_index` of stream `stream`:
/// {lo32(block_index), hi32(block_index), lo32(stream), hi32(stream)}.
TAILOR_HOST_DEVICE constexpr philox_block philox_counter(std::uint64_t block_index,
                                                         std::uint64_t stream) noexcept
{
    return philox_block{{detail::low_word(block_index), detail::high_word(block_index),
                         detail::low_word(stream), detail::high_word(stream)}};
}

/// Word `index` of the sequence philox4x32_10(seed, stream) produces, computed without an
/// engine: what lets each device thread draw its own element i. Covers the first 2^64
/// words of a stream (the engine itself runs on for 2^66).
TAILOR_HOST_DEVICE constexpr std::uint32_t philox_uint32(std::uint64_t seed, std::uint64_t stream,
                                                         std::uint64_t index) noexcept
{
    const philox_block block =
        philox4x32_10_bijection(philox_counter(index / 4, stream), philox_key_for_seed(seed));
    return block.word[index % 4];
}

// ---------------------------------------------------------------------------------------
// Engine
// ---------------------------------------------------------------------------------------

/// Philox4x32-10 as a C++ UniformRandomBitGenerator producing 32-bit words. The state is
/// (seed, stream, position); copying is cheap and discard() is O(1).
class philox4x32_10 {
public:
    using result_type = std::uint32_t;
    using counter_type = std::array<std::uint32_t, 4>;
    using key_type = std::array<std::uint32_t, 2>;

    static constexpr std::uint32_t multiplier0 = detail::philox_multiplier0;
    static constexpr std::uint32_t multiplier1 = detail::philox_multiplier1;
    static constexpr std::uint32_t key_increment0 = detail::philox_key_increment0;
    static constexpr std::uint32_t key_increment1 = detail::philox_key_increment1;
    static constexpr int rounds = detail::philox_rounds;
    static constexpr unsigned words_per_block = 4;

    static constexpr result_type min() noexcept { return 0; }
    static constexpr result_type max() noexcept { return std::numeric_limits<result_type>::max(); }

    /// philox4x32_10_bijection on std::array. Under nvcc, calling this from device code
    /// needs --expt-relaxed-constexpr (std::array's accessors are host functions); device
    /// code can call philox4x32_10_bijection() or philox_uint32() directly instead.
    TAILOR_HOST_DEVICE static constexpr counter_type bijection(counter_type counter, key_type key) noexcept
    {
        const philox_block out = philox4x32_10_bijection(
            philox_block{{counter[0], counter[1], counter[2], counter[3]}}, philox_key{{key[0], key[1]}});
        return counter_type{out.word[0], out.word[1], out.word[2], out.word[3]};
    }

    /// Stream `stream_id` of the generator keyed by `seed_value`, positioned at word 0.
    constexpr explicit philox4x32_10(std::uint64_t seed_value = 0, std::uint64_t stream_id = 0) noexcept
    {
        seed(seed_value, stream_id);
    }

    /// Restarts at word 0 of stream `stream_id` under `seed_value`.
    constexpr void seed(std::uint64_t seed_value, std::uint64_t stream_id = 0) noexcept
    {
        key_ = philox_key_for_seed(seed_value);
        stream_ = stream_id;
        block_index_ = 0;
        word_index_ = 0;
        refill();
    }

    constexpr std::uint64_t seed() const noexcept { return detail::join_words(key_.word[0], key_.word[1]); }
    constexpr std::uint64_t stream() const noexcept { return stream_; }

    /// An engine with the same seed on another stream, at word 0: independent sequences
    /// for ranks, workers or threads (distinct counters never collide under one key).
    constexpr philox4x32_10 split(std::uint64_t stream_id) const noexcept
    {
        return philox4x32_10(seed(), stream_id);
    }

    constexpr result_type operator()() noexcept
    {
        const result_type word = buffer_.word[word_index_];
        if (++word_index_ == words_per_block) {
            word_index_ = 0;
            ++block_index_;  // wraps after 2^64 blocks, like the counter itself
            refill();
        }
        return word;
    }

    /// Skips `count` words in O(1): equivalent to calling operator() `count` times.
    constexpr void discard(unsigned long long count) noexcept
    {
        // Split before adding so count near 2^64 cannot overflow the word position.
        block_index_ += static_cast<std::uint64_t>(count / words_per_block);
        word_index_ += static_cast<unsigned>(count % words_per_block);
        if (word_index_ >= words_per_block) {
            word_index_ -= words_per_block;
            ++block_index_;
        }
        refill();
    }

    /// Equal engines produce equal sequences from here on.
    friend constexpr bool operator==(const philox4x32_10& left, const philox4x32_10& right) noexcept
    {
        return left.key_ == right.key_ && left.stream_ == right.stream_ &&
               left.block_index_ == right.block_index_ && left.word_index_ == right.word_index_;
    }

private:
    constexpr void refill() noexcept
    {
        buffer_ = philox4x32_10_bijection(philox_counter(block_index_, stream_), key_);
    }

    philox_key key_{};
    std::uint64_t stream_ = 0;
    std::uint64_t block_index_ = 0;  ///< block the next word comes from
    unsigned word_index_ = 0;        ///< word of that block, in [0, 4)
    philox_block buffer_{};          ///< the output of block_index_, always current
};

// ---------------------------------------------------------------------------------------
// Distributions
// ---------------------------------------------------------------------------------------

/// The floating-point types the distributions produce.
template <class T>
concept random_real = std::same_as<T, float> || std::same_as<T, double>;

namespace detail {

/// Number of random bits one engine output carries when its range is a full power of two
/// ([0, 2^k - 1]); 0 when it is not (minstd_rand, say).
template <std::uniform_random_bit_generator Engine>
constexpr int engine_bit_count() noexcept
{
    using word = typename Engine::result_type;
    constexpr std::uint64_t range_max = static_cast<std::uint64_t>(Engine::max());
    if constexpr (Engine::min() != 0) {
        return 0;
    } else if constexpr (range_max == std::numeric_limits<std::uint64_t>::max()) {
        return 64;
    } else {
        static_assert(sizeof(word) <= sizeof(std::uint64_t), "engine words wider than 64 bits");
        return std::has_single_bit(range_max + 1) ? std::countr_zero(range_max + 1) : 0;
    }
}

/// `bit_count` (<= 64) uniform random bits. From a power-of-two engine the high-order bits
/// of consecutive outputs are concatenated, first output most significant; any other
/// engine goes through std::uniform_int_distribution.
template <int bit_count, std::uniform_random_bit_generator Engine>
std::uint64_t random_bits(Engine& engine)
{
    static_assert(bit_count > 0 && bit_count <= 64);
    constexpr int word_bits = engine_bit_count<Engine>();
    if constexpr (word_bits == 0) {
        constexpr std::uint64_t largest =
            bit_count == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << bit_count) - 1;
        return std::uniform_int_distribution<std::uint64_t>(0, largest)(engine);
    } else {
        std::uint64_t bits = 0;
        int collected = 0;
        while (collected < bit_count) {
            const auto word = static_cast<std::uint64_t>(engine());
            const int take = bit_count - collected < word_bits ? bit_count - collected : word_bits;
            // take < 64 whenever bits already holds something, so the shift is defined.
            bits = (take == 64 ? 0 : bits << take) | (word >> (word_bits - take));
            collected += take;
        }
        return bits;
    }
}

/// Uniform on [0, 1) with 53 random bits (multiples of 2^-53).
template <std::uniform_random_bit_generator Engine>
double uniform_double(Engine& engine)
{
    return static_cast<double>(random_bits<53>(engine)) * 0x1p-53;
}

/// Uniform on (0, 1]: safe to take the log of.
template <std::uniform_random_bit_generator Engine>
double uniform_double_nonzero(Engine& engine)
{
    return 1.0 - uniform_double(engine);
}

/// Standard normal by Box–Muller, keeping only the cosine half so a draw needs no state
/// (a fixed two 53-bit uniforms). Tails reach |z| <= sqrt(-2 ln 2^-53) ~ 8.57.
template <std::uniform_random_bit_generator Engine>
double standard_normal_double(Engine& engine)
{
    constexpr double two_pi = 6.283185307179586476925286766559;
    const double radius = std::sqrt(-2.0 * std::log(uniform_double_nonzero(engine)));
    const double angle = two_pi * uniform_double(engine);
    return radius * std::cos(angle);
}

/// Draws Gamma(shape, 1) by Marsaglia–Tsang (2000). For shape < 1 it draws
/// Gamma(shape + 1) and multiplies by U^(1/shape), in log space, so that the log of the
/// variate stays exact even where the variate itself underflows.
class standard_gamma_sampler {
public:
    explicit standard_gamma_sampler(double shape) noexcept
        : shape_(shape), boosted_(shape < 1.0)
    {
        const double squeeze_shape = boosted_ ? shape + 1.0 : shape;
        d_ = squeeze_shape - 1.0 / 3.0;
        c_ = 1.0 / std::sqrt(9.0 * d_);
    }

    /// ln X for X ~ Gamma(shape, 1). Finite always: clamped below at lowest()/4, which only
    /// binds for shapes under ~1e-306 and keeps differences of two such logs free of NaN
    /// (a Beta with both parameters that small then returns 1/2 instead of 0 or 1).
    template <std::uniform_random_bit_generator Engine>
    double draw_log(Engine& engine) const
    {
        double log_value = std::log(draw_squeeze(engine));
        if (boosted_) {
            // ln(U^(1/shape)); division (not multiplying by 1/shape) keeps ln(1)/shape == 0
            // even when 1/shape overflows.
            log_value += std::log(uniform_double_nonzero(engine)) / shape_;
            constexpr double floor = std::numeric_limits<double>::lowest() / 4;
            if (log_value < floor) log_value = floor;
        }
        return log_value;
    }

    /// X ~ Gamma(shape, 1); may be exactly 0 when the true value is below the smallest
    /// subnormal double (shape well under 0.01 is needed for that to be noticeable).
    template <std::uniform_random_bit_generator Engine>
    double draw(Engine& engine) const
    {
        return boosted_ ? std::exp(draw_log(engine)) : draw_squeeze(engine);
    }

private:
    /// Marsaglia–Tsang for shape d + 1/3 >= 1: a cubed, shifted normal accepted by a cheap
    /// squeeze or, rarely, the exact log test. Acceptance is above 95% for every shape.
    template <std::uniform_random_bit_generator Engine>
    double draw_squeeze(Engine& engine) const
    {
        for (;;) {
            const double normal = standard_normal_double(engine);
            double v = 1.0 + c_ * normal;
            if (v <= 0.0) continue;
            v = v * v * v;
            const double uniform = uniform_double_nonzero(engine);
            const double normal_squared = normal * normal;
            if (uniform < 1.0 - 0.0331 * normal_squared * normal_squared) return d_ * v;
            if (std::log(uniform) < 0.5 * normal_squared + d_ * (1.0 - v + std::log(v))) return d_ * v;
        }
    }

    double shape_;
    bool boosted_;
    double d_ = 0.0;
    double c_ = 0.0;
};

template <class T>
void require_positive_finite(T value, std::string_view argument)
{
    require(std::isfinite(value) && value > 0, argument, "a finite value > 0", value);
}

}  // namespace detail

/// Uniform on [0, 1) from the top bits of the engine: 24 bits (one word) for float, 53
/// bits (two 32-bit words: all of the first, the top 21 of the second) for double. The
/// result is a multiple of 2^-24 or 2^-53 and never 1.
template <random_real T = double, std::uniform_random_bit_generator Engine>
T uniform_real(Engine& engine)
{
    constexpr int mantissa_bits = std::numeric_limits<T>::digits;  // 24 or 53
    constexpr T step = T(1) / static_cast<T>(std::uint64_t{1} << mantissa_bits);
    return static_cast<T>(detail::random_bits<mantissa_bits>(engine)) * step;
}

/// One N(0, 1) draw (Box–Muller in double, two 53-bit uniforms, |z| <= ~8.57).
template <random_real T = double, std::uniform_random_bit_generator Engine>
T standard_normal(Engine& engine)
{
    return static_cast<T>(detail::standard_normal_double(engine));
}

/// Gamma(shape k, scale theta): density x^(k-1) e^(-x/theta) / (Gamma(k) theta^k),
/// mean k theta, variance k theta^2. Marsaglia–Tsang in double; for k < 1 the U^(1/k) boost
/// is done in log space. Results below T's smallest subnormal round to 0: for float and
/// k = 0.05 that is about 0.6% of draws, matching the true probability P(X < 1.4e-45).
template <random_real T = double>
class gamma_distribution {
public:
    using result_type = T;

    /// Throws tailor::argument_error naming "shape" or "scale" unless both are finite and > 0.
    explicit gamma_distribution(T shape = T(1), T scale = T(1))
        : shape_((detail::require_positive_finite(shape, "shape"), shape)),
          scale_((detail::require_positive_finite(scale, "scale"), scale)),
          sampler_(static_cast<double>(shape))
    {
    }

    T shape() const noexcept { return shape_; }
    T scale() const noexcept { return scale_; }

    template <std::uniform_random_bit_generator Engine>
    T operator()(Engine& engine) const
    {
        return static_cast<T>(static_cast<double>(scale_) * sampler_.draw(engine));
    }

private:
    T shape_;
    T scale_;
    detail::standard_gamma_sampler sampler_;
};

/// Beta(a, b) on [0, 1]: X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b), evaluated as
/// 1 / (1 + exp(ln Y - ln X)) from the gammas' logs, so small parameters such as
/// Beta(0.2, 0.2) stay correct when both gammas underflow and no draw is ever NaN. Values
/// within half an ulp of 1 round to exactly 1 (about 0.03% of Beta(0.2, 0.2) draws in
/// double, 1.6% in float); values near 0 keep full relative precision.
template <random_real T = double>
class beta_distribution {
public:
    using result_type = T;

    /// Throws tailor::argument_error naming "a" or "b" unless both are finite and > 0.
    explicit beta_distribution(T a = T(1), T b = T(1))
        : a_((detail::require_positive_finite(a, "a"), a)),
          b_((detail::require_positive_finite(b, "b"), b)),
          sampler_a_(static_cast<double>(a)),
          sampler_b_(static_cast<double>(b))
    {
    }

    T a() const noexcept { return a_; }
    T b() const noexcept { return b_; }

    template <std::uniform_random_bit_generator Engine>
    T operator()(Engine& engine) const
    {
        const double log_x = sampler_a_.draw_log(engine);
        const double log_y = sampler_b_.draw_log(engine);
        // Both logs are finite, so the difference is finite or +-inf, never NaN. Take the
        // exp of a non-positive number only, which keeps the small side accurate.
        double result;
        if (log_x <= log_y) {
            const double ratio = std::exp(log_x - log_y);  // X / Y in [0, 1]
            result = ratio / (1.0 + ratio);
        } else {
            result = 1.0 / (1.0 + std::exp(log_y - log_x));
        }
        return static_cast<T>(result);
    }

private:
    T a_;
    T b_;
    detail::standard_gamma_sampler sampler_a_;
    detail::standard_gamma_sampler sampler_b_;
};

}  // namespace tailor
