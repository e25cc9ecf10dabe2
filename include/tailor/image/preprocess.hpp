#pragma once
// CLIP's image preprocessing, as OpenAI's and open_clip's torchvision transforms compute it
// on an RGB PIL image: Resize(R, BICUBIC) of the shortest side, CenterCrop(R), ToTensor()
// (/ 255) and Normalize(mean, std), into a caller's float view [3, R, R]. The resize is
// PIL's (resize.hpp), restricted to the crop window, so the result matches torchvision bit
// for bit on the same pixels. Needs only the standard library (and OpenMP for batches).
#include <array>
#include <cmath>
#include <exception>
#include <mutex>
#include <span>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "tailor/image/image.hpp"
#include "tailor/image/resize.hpp"

namespace tailor::image {

/// The options of CLIP's transform; the defaults are OpenAI's ViT-B models at 224 pixels.
/// mean and std are float32 values of the Python doubles, as torchvision's Normalize holds them.
struct clip_image_preprocess {
    index_t resolution = 224;
    std::array<float, 3> mean = {static_cast<float>(0.48145466), static_cast<float>(0.4578275),
                                 static_cast<float>(0.40821073)};
    std::array<float, 3> std = {static_cast<float>(0.26862954), static_cast<float>(0.26130258),
                                static_cast<float>(0.27577711)};
    resample interpolation = resample::bicubic;
};

/// Where the shortest-side resize and the centre crop land for one image.
struct clip_geometry {
    index_t resized_height = 0, resized_width = 0;  ///< torchvision's Resize(R) output size
    index_t top = 0, left = 0;                      ///< CenterCrop(R)'s offsets in it
};

/// torchvision 0.14's geometry: the short side becomes R, the long one int(R * long / short)
/// (true division, truncated); the crop starts at int(round((size - R) / 2.0)), Python's
/// round, so half offsets go to the even neighbour.
inline clip_geometry clip_resize_geometry(index_t height, index_t width, index_t resolution)
{
    using ::tailor::detail::concat;
    ::tailor::detail::require(height >= 1 && width >= 1, "image", "height >= 1 and width >= 1",
                              [&] { return concat(height, " x ", width); });
    ::tailor::detail::require(resolution >= 1 && resolution <= (index_t{1} << 16), "resolution", "1 to 65536",
                              resolution);
    const index_t short_side = std::min(height, width), long_side = std::max(height, width);
    // R * long is exact in double for every image a decoder accepts (< 2^53).
    const auto resized_long =
        static_cast<index_t>(static_cast<double>(resolution * long_side) / static_cast<double>(short_side));
    clip_geometry g;
    g.resized_width = width <= height ? resolution : resized_long;
    g.resized_height = width <= height ? resized_long : resolution;
    const auto offset = [&](index_t size) {
        const index_t excess = size - resolution, half = excess / 2;
        return excess % 2 == 1 && half % 2 == 1 ? half + 1 : half;  // round half to even
    };
    g.top = offset(g.resized_height);
    g.left = offset(g.resized_width);
    return g;
}

namespace detail {

inline void require_options(const clip_image_preprocess& options)
{
    using ::tailor::detail::concat;
    ::tailor::detail::require(options.resolution >= 1 && options.resolution <= (index_t{1} << 16),
                              "options.resolution", "1 to 65536", options.resolution);
    for (int c = 0; c < 3; ++c) {
        ::tailor::detail::require(std::isfinite(options.mean[c]), concat("options.mean[", c, "]"),
                                  "a finite value", options.mean[c]);
        ::tailor::detail::require(std::isfinite(options.std[c]) && options.std[c] > 0,
                                  concat("options.std[", c, "]"), "a finite value > 0", options.std[c]);
    }
    ::tailor::detail::require(options.interpolation == resample::bilinear ||
                                  options.interpolation == resample::bicubic ||
                                  options.interpolation == resample::lanczos,
                              "options.interpolation", "bilinear, bicubic or lanczos",
                              static_cast<int>(options.interpolation));
}

/// The colour channels of an image as PIL's convert("RGB") sees them: L and LA give one
/// (replicated later), RGB and RGBA the first three (alpha is dropped, not composited).
inline image8_view colour_channels(const image8_view& image)
{
    const index_t used = channels(image) >= 3 ? 3 : 1;
    return image8_view(image.data(), {height(image), width(image), used}, image.strides());
}

/// Resize and crop into `crop` ([R, R, 1 or 3]), then normalise into `out`; checked already.
inline void preprocess_checked(const image8_view& image, const tensor_view<float, 3>& out,
                               const clip_image_preprocess& options, image8& crop)
{
    const image8_view colour = colour_channels(image);
    const index_t r = options.resolution, used = channels(colour);
    const clip_geometry g = clip_resize_geometry(height(image), width(image), r);
    if (crop.extent(0) != r || crop.extent(2) != used) crop = image8({r, r, used});
    resize_window(colour, g.resized_height, g.resized_width, g.top, g.left, crop.view(), options.interpolation);
    // ToTensor then Normalize, in float32 as torch computes them: (v / 255 - mean) / std.
    for (index_t c = 0; c < 3; ++c) {
        std::array<float, 256> table;
        for (int v = 0; v < 256; ++v)
            table[static_cast<std::size_t>(v)] =
                (static_cast<float>(v) / 255.0f - options.mean[static_cast<std::size_t>(c)]) /
                options.std[static_cast<std::size_t>(c)];
        const index_t source = used == 3 ? c : 0;
        for (index_t y = 0; y < r; ++y)
            for (index_t x = 0; x < r; ++x) out(c, y, x) = table[crop(y, x, source)];
    }
}

}  // namespace detail

/// CLIP's preprocessing of one 8-bit image ([H, W, C], C = 1 to 4, converted as PIL's
/// convert("RGB")) into `out`, extents [3, R, R], any strides.
/// Cost: O(rows read x R x taps + R^2 x taps), taps ~ 4 max(short / R, 1) + 1.
inline void preprocess(const image8_view& image, const tensor_view<float, 3>& out,
                       const clip_image_preprocess& options = {})
{
    detail::require_options(options);
    detail::require_image(image, "image");
    const index_t r = options.resolution;
    ::tailor::detail::require_extents(out, "out", {3, r, r});
    image8 crop;
    detail::preprocess_checked(image, out, options, crop);
}

/// As above, into a new [3, R, R] tensor.
inline tensor<float, 3> preprocess(const image8_view& image, const clip_image_preprocess& options = {})
{
    detail::require_options(options);
    tensor<float, 3> out({3, options.resolution, options.resolution});
    preprocess(image, out.view(), options);
    return out;
}

/// The uint8 [R, R, 3] image CLIP's transform normalises (Resize then CenterCrop, as RGB):
/// what PIL holds right before ToTensor.
inline image8 clip_resize_crop(const image8_view& image, index_t resolution, resample filter = resample::bicubic)
{
    detail::require_image(image, "image");
    const clip_geometry g = clip_resize_geometry(height(image), width(image), resolution);
    const image8_view colour = detail::colour_channels(image);
    image8 crop({resolution, resolution, channels(colour)});
    resize_window(colour, g.resized_height, g.resized_width, g.top, g.left, crop.view(), filter);
    if (channels(colour) == 3) return crop;
    image8 rgb({resolution, resolution, 3});
    for (index_t y = 0; y < resolution; ++y)
        for (index_t x = 0; x < resolution; ++x)
            for (index_t c = 0; c < 3; ++c) rgb(y, x, c) = crop(y, x, 0);
    return rgb;
}

namespace detail {

/// Runs `body(i)` for i in [0, n), in parallel over OpenMP threads when built with OpenMP
/// (dynamic schedule: images differ in size), and rethrows the first exception a call threw.
template <class Body>
void for_each_image(index_t n, Body&& body)
{
    std::exception_ptr failure;
    std::mutex failure_mutex;
    const auto guarded = [&](index_t i) {
        try {
            body(i);
        } catch (...) {
            const std::lock_guard<std::mutex> lock(failure_mutex);
            if (!failure) failure = std::current_exception();
        }
    };
#if defined(_OPENMP)
    if (n > 1 && !omp_in_parallel()) {
#pragma omp parallel for schedule(dynamic, 1)
        for (index_t i = 0; i < n; ++i) guarded(i);
    } else {
        for (index_t i = 0; i < n; ++i) guarded(i);
    }
#else
    for (index_t i = 0; i < n; ++i) guarded(i);
#endif
    if (failure) std::rethrow_exception(failure);
}

}  // namespace detail

/// CLIP's preprocessing of `images` into `out`, extents [N, 3, R, R]: out[i] is
/// preprocess(images[i]). Every image is checked before any work starts; the images then
/// run in parallel (OpenMP), each on one thread.
inline void preprocess_batch(std::span<const image8_view> images, const tensor_view<float, 4>& out,
                             const clip_image_preprocess& options = {})
{
    using ::tailor::detail::concat;
    detail::require_options(options);
    const auto n = static_cast<index_t>(images.size());
    const index_t r = options.resolution;
    ::tailor::detail::require_extents(out, "out", {n, 3, r, r});
    for (index_t i = 0; i < n; ++i) detail::require_image(images[static_cast<std::size_t>(i)], concat("images[", i, "]"));
    detail::for_each_image(n, [&](index_t i) {
        image8 crop;
        detail::preprocess_checked(images[static_cast<std::size_t>(i)], out[i], options, crop);
    });
}

/// As above, for owning images.
inline void preprocess_batch(std::span<const image8> images, const tensor_view<float, 4>& out,
                             const clip_image_preprocess& options = {})
{
    std::vector<image8_view> views;
    views.reserve(images.size());
    for (const image8& image : images) views.push_back(image.view());
    preprocess_batch(std::span<const image8_view>(views), out, options);
}

}  // namespace tailor::image
