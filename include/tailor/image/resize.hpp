#pragma once
// Separable resampling of 8-bit images, bit-exact with PIL's Image.resize (Pillow's
// Resample.c, 8 bits per channel) for BILINEAR, BICUBIC (a = -0.5) and LANCZOS (a = 3).
//
// Per axis and per output index i, PIL centres the filter at c = (i + 0.5) * s, s = in/out,
// widens its support by max(s, 1) (antialiasing on downscale), takes the input samples
// [int(c - support + 0.5), int(c + support + 0.5)) clipped to the image, weights sample
// j by filter((j - c + 0.5) / max(s, 1)), normalises the weights to sum 1 and rounds them
// to fixed point with 22 fractional bits (half away from zero). A pass adds 2^21 and the
// weighted 8-bit samples, shifts right by 22 and clamps to [0, 255]; the horizontal pass
// runs first (only over the rows the vertical one reads) and its uint8 result feeds the
// vertical pass. An axis whose size does not change is copied, not filtered.
//
// Reproducing PIL to the bit needs its double arithmetic in its order, so the weight
// computation keeps every product rounded on its own: GCC contracts a * b + c into a fused
// multiply-add under -march with FMA, which can move a weight by one unit in the last place
// and, rarely, its fixed-point rounding. The pixel loops are integer and exact.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <string_view>
#include <vector>

#include "tailor/image/image.hpp"

namespace tailor::image {

/// The resampling filters of PIL's Image.resize that tailor reproduces.
enum class resample {
    bilinear,  ///< PIL BILINEAR: triangle, support 1
    bicubic,   ///< PIL BICUBIC: Keys cubic with a = -0.5, support 2 (CLIP's choice)
    lanczos,   ///< PIL LANCZOS: sinc windowed by sinc(x / 3), support 3
};

inline std::string_view to_string(resample filter) noexcept
{
    switch (filter) {
    case resample::bilinear: return "bilinear";
    case resample::bicubic: return "bicubic";
    case resample::lanczos: return "lanczos";
    }
    return "unknown";
}

namespace detail {

/// PIL's PRECISION_BITS: 32 - 8 - 2 leaves room for 8-bit samples and the filter's lobes.
inline constexpr int weight_bits = 22;

/// Returns `value` rounded to double and opaque to the optimiser, so it cannot be fused
/// into a following addition (PIL's arithmetic has no fused multiply-add).
inline double unfused(double value) noexcept
{
    volatile double stored = value;
    return stored;
}

inline double filter_support(resample filter) noexcept
{
    switch (filter) {
    case resample::bilinear: return 1.0;
    case resample::bicubic: return 2.0;
    case resample::lanczos: return 3.0;
    }
    return 0.0;
}

inline double sinc(double x) noexcept
{
    if (x == 0.0) return 1.0;
    x = x * std::numbers::pi;
    return std::sin(x) / x;
}

/// The filter at `x`, with PIL's expressions (their rounding is part of the result).
inline double filter_weight(resample filter, double x) noexcept
{
    switch (filter) {
    case resample::bilinear:
        if (x < 0.0) x = -x;
        return x < 1.0 ? 1.0 - x : 0.0;
    case resample::bicubic: {
        constexpr double a = -0.5;
        if (x < 0.0) x = -x;
        if (x < 1.0) return unfused(unfused(unfused((a + 2.0) * x) - (a + 3.0)) * x * x) + 1.0;
        if (x < 2.0) return unfused(unfused(unfused(unfused((x - 5.0) * x) + 8.0) * x) - 4.0) * a;
        return 0.0;
    }
    case resample::lanczos:
        return -3.0 <= x && x < 3.0 ? sinc(x) * sinc(x / 3.0) : 0.0;
    }
    return 0.0;
}

/// Fixed-point weights of one axis for the output indices [begin, end) of a resize from
/// `in_size` to `out_size` samples: output i reads `count[i]` inputs from `first[i]`.
struct axis_weights {
    index_t taps = 0;                    ///< stride between the weights of two outputs
    std::vector<index_t> first, count;   ///< per output index in [begin, end)
    std::vector<std::int32_t> weights;   ///< taps per output index, in 2^-22 units
    std::int64_t max_abs_sum = 0;        ///< max over outputs of sum |weight|
};

inline axis_weights make_axis_weights(index_t in_size, index_t out_size, index_t begin, index_t end,
                                      resample filter)
{
    axis_weights w;
    const double scale = static_cast<double>(in_size) / static_cast<double>(out_size);
    const double filterscale = std::max(scale, 1.0);
    const double support = filter_support(filter) * filterscale;
    const double inverse = 1.0 / filterscale;
    w.taps = static_cast<index_t>(std::ceil(support)) * 2 + 1;
    const auto n = static_cast<std::size_t>(end - begin);
    w.first.resize(n);
    w.count.resize(n);
    w.weights.assign(n * static_cast<std::size_t>(w.taps), 0);
    std::vector<double> k(static_cast<std::size_t>(w.taps));
    for (index_t i = begin; i < end; ++i) {
        const double center = unfused((static_cast<double>(i) + 0.5) * scale);
        // PIL truncates toward zero; both values are clipped to the image afterwards.
        const auto lo = std::max<index_t>(static_cast<index_t>(center - support + 0.5), 0);
        const auto hi = std::min<index_t>(static_cast<index_t>(center + support + 0.5), in_size);
        const index_t count = std::max<index_t>(hi - lo, 0);
        double total = 0.0;
        for (index_t j = 0; j < count; ++j) {
            const double x = unfused((static_cast<double>(j + lo) - center + 0.5) * inverse);
            k[static_cast<std::size_t>(j)] = unfused(filter_weight(filter, x));
            total += k[static_cast<std::size_t>(j)];
        }
        const auto slot = static_cast<std::size_t>(i - begin);
        std::int32_t* out = w.weights.data() + slot * static_cast<std::size_t>(w.taps);
        std::int64_t abs_sum = 0;
        for (index_t j = 0; j < count; ++j) {
            double v = k[static_cast<std::size_t>(j)];
            if (total != 0.0) v /= total;
            // Round half away from zero, as PIL's normalize_coeffs_8bpc.
            const double scaled = unfused(v * static_cast<double>(1 << weight_bits));
            out[j] = static_cast<std::int32_t>(v < 0 ? scaled - 0.5 : scaled + 0.5);
            abs_sum += out[j] < 0 ? -std::int64_t{out[j]} : std::int64_t{out[j]};
        }
        w.first[slot] = lo;
        w.count[slot] = count;
        w.max_abs_sum = std::max(w.max_abs_sum, abs_sum);
    }
    return w;
}

/// PIL's clip8: the accumulator (which started at 2^21) shifted down and clamped.
template <class Acc>
inline std::uint8_t clip8(Acc value) noexcept
{
    const Acc shifted = value >> weight_bits;
    return static_cast<std::uint8_t>(shifted < 0 ? 0 : shifted > 255 ? 255 : shifted);
}

/// Whether 255 * sum|w| + 2^21 fits an int32, so a pass may accumulate in 32 bits as PIL does.
inline bool fits_int32(const axis_weights& w) noexcept
{
    return w.max_abs_sum * 255 + (std::int64_t{1} << (weight_bits - 1)) <= std::numeric_limits<std::int32_t>::max();
}

/// Horizontal pass: rows [row0, row0 + rows) of `in`, columns per `w`, into the contiguous
/// [rows, w.first.size(), C] buffer `out`.
template <class Acc>
void filter_rows(const image8_view& in, index_t row0, index_t rows, const axis_weights& w, std::uint8_t* out)
{
    const index_t c_count = channels(in);
    const auto cols = static_cast<index_t>(w.first.size());
    const index_t sx = in.stride(1), sc = in.stride(2);
    for (index_t r = 0; r < rows; ++r) {
        const std::uint8_t* row = &in(row0 + r, 0, 0);
        std::uint8_t* dst = out + r * cols * c_count;
        for (index_t x = 0; x < cols; ++x) {
            const std::int32_t* k = w.weights.data() + x * w.taps;
            const std::uint8_t* src = row + w.first[static_cast<std::size_t>(x)] * sx;
            const index_t count = w.count[static_cast<std::size_t>(x)];
            std::array<Acc, 4> acc;
            acc.fill(Acc{1} << (weight_bits - 1));
            for (index_t j = 0; j < count; ++j)
                for (index_t c = 0; c < c_count; ++c) acc[c] += Acc{src[j * sx + c * sc]} * k[j];
            for (index_t c = 0; c < c_count; ++c) dst[x * c_count + c] = clip8(acc[c]);
        }
    }
}

/// Vertical pass over the contiguous [*, width, C] buffer `in` whose row 0 is input row
/// `row0`, into `out` (any strides).
template <class Acc>
void filter_columns(const std::uint8_t* in, index_t row0, const axis_weights& w, const image8_mut_view& out)
{
    const index_t cols = out.extent(1), c_count = out.extent(2), span = cols * c_count;
    std::vector<Acc> acc(static_cast<std::size_t>(span));
    for (std::size_t y = 0; y < w.first.size(); ++y) {
        std::fill(acc.begin(), acc.end(), Acc{1} << (weight_bits - 1));
        const std::int32_t* k = w.weights.data() + static_cast<index_t>(y) * w.taps;
        for (index_t j = 0; j < w.count[y]; ++j) {
            const std::uint8_t* src = in + (w.first[y] - row0 + j) * span;
            const Acc weight = k[j];
            for (index_t e = 0; e < span; ++e) acc[static_cast<std::size_t>(e)] += Acc{src[e]} * weight;
        }
        for (index_t x = 0; x < cols; ++x)
            for (index_t c = 0; c < c_count; ++c)
                out(static_cast<index_t>(y), x, c) = clip8(acc[static_cast<std::size_t>(x * c_count + c)]);
    }
}

}  // namespace detail

/// Writes the window of rows [top, top + out.extent(0)) and columns [left, left +
/// out.extent(1)) of `in` resized to out_height x out_width into `out`, computing only that
/// window: bit for bit what PIL's `Image.resize((out_width, out_height), filter)` followed by
/// `crop` gives. `out` has `in`'s channel count; both may have any strides.
/// Cost: O(rows read x window width x taps + window size x taps), taps ~ 2 support max(s, 1).
inline void resize_window(const image8_view& in, index_t out_height, index_t out_width, index_t top, index_t left,
                          const image8_mut_view& out, resample filter = resample::bicubic)
{
    using ::tailor::detail::concat;
    using ::tailor::detail::require;
    detail::require_image(in, "in");
    require(out_height >= 1 && out_width >= 1, "size", "out_height >= 1 and out_width >= 1",
            [&] { return concat(out_height, " x ", out_width); });
    require(filter == resample::bilinear || filter == resample::bicubic || filter == resample::lanczos, "filter",
            "bilinear, bicubic or lanczos", [&] { return static_cast<int>(filter); });
    require<shape_error>(out.extent(2) == channels(in), "out", [&] { return concat(channels(in), " channels, as in"); },
                         [&] { return ::tailor::detail::format_extents(out.extents()); });
    const index_t rows = out.extent(0), cols = out.extent(1);
    require<index_error>(top >= 0 && left >= 0 && top + rows <= out_height && left + cols <= out_width, "window",
                         [&] { return concat("a window inside ", out_height, " x ", out_width); },
                         [&] { return concat("rows [", top, ", ", top + rows, "), columns [", left, ", ", left + cols, ")"); });
    if (rows == 0 || cols == 0) return;

    const index_t c_count = channels(in);
    const bool horizontal = out_width != width(in);
    const bool vertical = out_height != height(in);
    // Input rows the vertical pass reads (all of the window's rows when it does not run).
    detail::axis_weights vw;
    index_t row0 = top, row_end = top + rows;
    if (vertical) {
        vw = detail::make_axis_weights(height(in), out_height, top, top + rows, filter);
        row0 = vw.first.front();
        row_end = vw.first.back() + vw.count.back();
    }
    // The horizontal result (or a copy of the window's columns) as uint8, rows [row0, row_end).
    std::vector<std::uint8_t> mid(static_cast<std::size_t>((row_end - row0) * cols * c_count));
    if (horizontal) {
        const detail::axis_weights hw = detail::make_axis_weights(width(in), out_width, left, left + cols, filter);
        if (detail::fits_int32(hw))
            detail::filter_rows<std::int32_t>(in, row0, row_end - row0, hw, mid.data());
        else
            detail::filter_rows<std::int64_t>(in, row0, row_end - row0, hw, mid.data());
    } else {
        std::uint8_t* dst = mid.data();
        for (index_t y = row0; y < row_end; ++y)
            for (index_t x = left; x < left + cols; ++x)
                for (index_t c = 0; c < c_count; ++c) *dst++ = in(y, x, c);
    }
    if (vertical) {
        if (detail::fits_int32(vw))
            detail::filter_columns<std::int32_t>(mid.data(), row0, vw, out);
        else
            detail::filter_columns<std::int64_t>(mid.data(), row0, vw, out);
    } else {
        const std::uint8_t* src = mid.data();
        for (index_t y = 0; y < rows; ++y)
            for (index_t x = 0; x < cols; ++x)
                for (index_t c = 0; c < c_count; ++c) out(y, x, c) = *src++;
    }
}

/// `in` resized into `out` (whose extents give the size): PIL's `Image.resize`.
inline void resize_into(const image8_view& in, const image8_mut_view& out, resample filter = resample::bicubic)
{
    ::tailor::detail::require<shape_error>(out.extent(0) >= 1 && out.extent(1) >= 1, "out",
                                           "a non-empty image", [&] { return ::tailor::detail::format_extents(out.extents()); });
    resize_window(in, out.extent(0), out.extent(1), 0, 0, out, filter);
}

/// `in` resized to out_height x out_width: PIL's `Image.resize((out_width, out_height), filter)`
/// on an L, RGB (or, channel by channel, any 1-4 channel) image. Note tailor's order:
/// height first, as in extents; PIL's size tuple is (width, height).
inline image8 resize(const image8_view& in, index_t out_height, index_t out_width, resample filter = resample::bicubic)
{
    detail::require_image(in, "in");
    ::tailor::detail::require(out_height >= 1 && out_width >= 1, "size", "out_height >= 1 and out_width >= 1",
                              [&] { return ::tailor::detail::concat(out_height, " x ", out_width); });
    image8 out({out_height, out_width, channels(in)});
    resize_window(in, out_height, out_width, 0, 0, out.view(), filter);
    return out;
}

}  // namespace tailor::image
