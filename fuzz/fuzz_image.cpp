// libFuzzer target: arbitrary bytes as an encoded image (any format stb_image reads), decoded
// within small limits, then CLIP-preprocessed and resized. Malformed input must end in a
// tailor::parse_error; a decoded image must preprocess to values inside the normalised range
// of [0, 1], and a resize window must equal the same crop of the full resize.
//
// By default stb_image comes from Debian's libstb.so, as tailor::image uses it: the
// sanitizers then watch tailor's code and stb's allocations, not stb's own reads and
// writes. Build with -DTAILOR_FUZZ_STB_SOURCE (and without -lstb) to compile stb_image.h's
// implementation into this target, instrumented too (fuzz/run.sh: TAILOR_FUZZ_STB_SOURCE=1).
#include <cstddef>
#include <cstdint>
#include <span>

#include "tailor/image/decode.hpp"
#include "tailor/image/preprocess.hpp"
#include "tailor/image/resize.hpp"

#if defined(TAILOR_FUZZ_STB_SOURCE)
// After decode.hpp's include of the declarations: stb_image.h guards those, not this part.
#define STB_IMAGE_IMPLEMENTATION
#include <stb_image.h>
#endif

namespace img = tailor::image;
using tailor::index_t;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    // 1 Mi pixels: stb's working buffers for such an image stay far below the RSS limit.
    img::decode_limits limits;
    limits.max_side = 4096;
    limits.max_pixels = index_t{1} << 20;
    img::image8 image;
    try {
        image = img::decode_image(std::span<const std::uint8_t>(data, size), limits, "fuzz input");
    } catch (const tailor::parse_error&) {
        return 0;  // rejected, as it should be for malformed input
    }
    if (image.extent(0) < 1 || image.extent(1) < 1 || image.extent(2) != 3 ||
        image.extent(0) * image.extent(1) > limits.max_pixels)
        __builtin_trap();

    // Sizes from the input's last bytes, so the corpus explores them along with the pixels.
    const std::uint8_t a = data[size - 1], b = size > 1 ? data[size - 2] : 7;
    img::clip_image_preprocess options;
    options.resolution = 1 + a % 40;
    options.interpolation = static_cast<img::resample>(b % 3);
    const tailor::tensor<float, 3> tensor = img::preprocess(image.view(), options);
    for (index_t c = 0; c < 3; ++c) {
        const float lo = (0.0f - options.mean[c]) / options.std[c], hi = (1.0f - options.mean[c]) / options.std[c];
        for (index_t y = 0; y < options.resolution; ++y)
            for (index_t x = 0; x < options.resolution; ++x) {
                const float v = tensor(c, y, x);
                if (!(v >= lo && v <= hi)) __builtin_trap();
            }
    }

    const index_t out_h = 1 + a % 50, out_w = 1 + b % 50;
    const img::image8 full = img::resize(image.view(), out_h, out_w, options.interpolation);
    const index_t top = out_h / 3, left = out_w / 4, rows = out_h - top, cols = out_w - left;
    img::image8 window({rows, cols, 3});
    img::resize_window(image.view(), out_h, out_w, top, left, window.view(), options.interpolation);
    for (index_t y = 0; y < rows; ++y)
        for (index_t x = 0; x < cols; ++x)
            for (index_t c = 0; c < 3; ++c)
                if (window(y, x, c) != full(top + y, left + x, c)) __builtin_trap();
    return 0;
}
