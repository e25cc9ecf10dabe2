#pragma once
// 8-bit images as tailor tensors: [height, width, channels], interleaved (HWC), the layout
// decoders produce. An image is an owning tensor<std::uint8_t, 3>; algorithms read
// image8_view, so a crop, a channel subset or a caller's padded buffer costs no copy.
#include <cstdint>
#include <string>

#include "tailor/core/error.hpp"
#include "tailor/core/tensor.hpp"
#include "tailor/core/view.hpp"

namespace tailor::image {

/// An owning 8-bit image, extents [height, width, channels].
using image8 = tensor<std::uint8_t, 3>;
/// A read-only view of an 8-bit image, extents [height, width, channels], any strides.
using image8_view = tensor_view<const std::uint8_t, 3>;
/// A writable view of an 8-bit image.
using image8_mut_view = tensor_view<std::uint8_t, 3>;

inline index_t height(const image8_view& image) noexcept { return image.extent(0); }
inline index_t width(const image8_view& image) noexcept { return image.extent(1); }
inline index_t channels(const image8_view& image) noexcept { return image.extent(2); }

/// The view of rows [top, top + rows) and columns [left, left + cols); no copy.
inline image8_view crop(const image8_view& image, index_t top, index_t left, index_t rows, index_t cols)
{
    using ::tailor::detail::concat;
    ::tailor::detail::require<index_error>(
        rows >= 0 && cols >= 0 && top >= 0 && left >= 0 && top + rows <= height(image) &&
            left + cols <= width(image),
        "crop", [&] { return "a window inside " + ::tailor::detail::format_extents(image.extents()); },
        [&] { return concat("rows [", top, ", ", top + rows, "), columns [", left, ", ", left + cols, ")"); });
    return image.slice(0, top, top + rows).slice(1, left, left + cols);
}

namespace detail {

/// Checks `image` is a non-empty 8-bit image with 1 to 4 channels (L, LA, RGB, RGBA).
inline void require_image(const image8_view& image, std::string_view name)
{
    ::tailor::detail::require<shape_error>(
        height(image) >= 1 && width(image) >= 1 && channels(image) >= 1 && channels(image) <= 4, name,
        "extents [height >= 1, width >= 1, 1 to 4 channels]",
        [&] { return ::tailor::detail::format_extents(image.extents()); });
}

}  // namespace detail
}  // namespace tailor::image
