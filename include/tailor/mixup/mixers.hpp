#pragma once
// Mixers: how the two samples of a pair become one. Samples are per-sample tensors of any
// shape, seen as a batch view [B, ...] whose samples are each contiguous (row-major); a
// mixer reads the pair's two samples through a pair-rows accessor (two loaded batches, or
// gathers from an in-memory dataset) and writes out [B, ...] in host memory.
//
// A mixer is called as mixer(rows, lambda_x, out, scope, engine) by mixup_batcher, after
// lambda_x has been drawn; a mixer that changes the effective weight (CutMix) writes the
// corrected lambda_x back, and the label shift then uses that value.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <span>
#include <vector>

#include "tailor/backend/cpu/parallel.hpp"
#include "tailor/core/error.hpp"
#include "tailor/core/view.hpp"
#include "tailor/mixup/lambda.hpp"
#include "tailor/sampling/epoch.hpp"
#include "tailor/sampling/streams.hpp"

namespace tailor {
namespace detail {

/// Elements per sample of a batch view [B, ...]; throws unless each sample is contiguous.
template <class T, std::size_t R>
index_t contiguous_sample_size(const tensor_view<T, R>& batch, std::string_view name)
{
    static_assert(R >= 2, "tailor: a batch view is [B, ...] with at least one sample dimension");
    index_t step = 1;
    for (std::size_t d = R; d-- > 1;) {
        require<shape_error>(batch.extent(d) <= 1 || batch.stride(d) == step, name,
                             "contiguous samples (row-major strides after the batch dimension)",
                             "strides " + format_extents(batch.strides()));
        step *= batch.extent(d);
    }
    return step;
}

/// Pair b mixes first[b] with second[b]: two batches the caller has loaded.
template <class T, std::size_t R>
struct loaded_pair_rows {
    tensor_view<const T, R> first;
    tensor_view<const T, R> second;

    const T* first_sample(index_t b) const noexcept { return first.data() + b * first.stride(0); }
    const T* second_sample(index_t b) const noexcept { return second.data() + b * second.stride(0); }
};

/// Pair b mixes dataset[pairs[b].first] with dataset[pairs[b].second].
template <class T, std::size_t R>
struct gathered_pair_rows {
    tensor_view<const T, R> dataset;
    std::span<const index_pair> pairs;

    const T* first_sample(index_t b) const noexcept
    {
        return dataset.data() + pairs[static_cast<std::size_t>(b)].first * dataset.stride(0);
    }
    const T* second_sample(index_t b) const noexcept
    {
        return dataset.data() + pairs[static_cast<std::size_t>(b)].second * dataset.stride(0);
    }
};

template <class T, std::size_t R>
T* sample_of(const tensor_view<T, R>& batch, index_t b) noexcept
{
    return batch.data() + b * batch.stride(0);
}

/// out = w a + (1 - w) b over n elements. This form (not b + w (a - b)) returns a exactly
/// for w = 1 and b exactly for w = 0.
template <class T>
void blend(const T* a, const T* b, T w, T* out, index_t n) noexcept
{
    const T v = T(1) - w;
    for (index_t f = 0; f < n; ++f) out[f] = w * a[f] + v * b[f];
}

}  // namespace detail

/// Input mixup over samples of any shape: x = lambda_x x_i + (1 - lambda_x) x_j.
struct input_mixup {
    template <class Rows, class T, std::size_t R, class Engine>
    void operator()(const Rows& rows, vector_view<T> lambda_x, tensor_view<T, R> out, lambda_scope, Engine&) const
    {
        const index_t features = detail::contiguous_sample_size(out, "out");
        cpu::parallel_for(out.extent(0), features, [&](index_t b) {
            detail::blend(rows.first_sample(b), rows.second_sample(b), lambda_x(b), detail::sample_of(out, b), features);
        });
    }
};

/// CutMix on images [B, C, H, W]: a box of sides floor(sqrt(1 - lambda) H) x
/// floor(sqrt(1 - lambda) W) centred at a uniform pixel and clipped to the image is pasted
/// from the second image into the first; lambda_x is corrected to
/// 1 - box area / (H W), the first image's visible share. One box for the batch under
/// lambda_scope::per_batch (as the reference code), one per pair under per_pair.
struct cutmix {
    /// Pixel rows [top, bottom) and columns [left, right) taken from the second image.
    struct box {
        index_t top, bottom, left, right;
        index_t area() const noexcept { return (bottom - top) * (right - left); }
    };

    /// The clipped box for weight `lambda` and centre (centre_y, centre_x).
    static box box_for(double lambda, index_t height, index_t width, index_t centre_y, index_t centre_x) noexcept
    {
        const double side = std::sqrt(std::max(0.0, 1.0 - lambda));
        const auto cut_h = static_cast<index_t>(std::floor(static_cast<double>(height) * side));
        const auto cut_w = static_cast<index_t>(std::floor(static_cast<double>(width) * side));
        return {std::clamp<index_t>(centre_y - cut_h / 2, 0, height), std::clamp<index_t>(centre_y + cut_h / 2, 0, height),
                std::clamp<index_t>(centre_x - cut_w / 2, 0, width), std::clamp<index_t>(centre_x + cut_w / 2, 0, width)};
    }

    template <class Rows, class T, std::size_t R, class Engine>
    void operator()(const Rows& rows, vector_view<T> lambda_x, tensor_view<T, R> out, lambda_scope scope,
                    Engine& engine) const
    {
        static_assert(R == 4, "tailor::cutmix mixes images [B, C, H, W]");
        detail::contiguous_sample_size(out, "out");
        const index_t batch = out.extent(0), channels = out.extent(1), height = out.extent(2), width = out.extent(3);
        detail::require(height >= 1 && width >= 1 && height <= index_t{0xFFFFFFFF} && width <= index_t{0xFFFFFFFF},
                        "out", "images of at least one pixel", detail::format_extents(out.extents()));
        // Boxes are drawn serially (centre row, then column, per box) so the stream is fixed.
        std::vector<box> boxes(static_cast<std::size_t>(batch));
        for (index_t b = 0; b < batch; ++b) {
            if (scope == lambda_scope::per_batch && b > 0) {
                boxes[static_cast<std::size_t>(b)] = boxes[0];
            } else {
                const auto centre_y = static_cast<index_t>(detail::bounded_uint32(engine, static_cast<std::uint32_t>(height)));
                const auto centre_x = static_cast<index_t>(detail::bounded_uint32(engine, static_cast<std::uint32_t>(width)));
                boxes[static_cast<std::size_t>(b)] = box_for(static_cast<double>(lambda_x(b)), height, width, centre_y, centre_x);
            }
            lambda_x(b) = static_cast<T>(1.0 - static_cast<double>(boxes[static_cast<std::size_t>(b)].area()) /
                                                   static_cast<double>(height * width));
        }
        const index_t plane = height * width;
        cpu::parallel_for(batch, channels * plane, [&](index_t b) {
            const box cut = boxes[static_cast<std::size_t>(b)];
            const T* first = rows.first_sample(b);
            const T* second = rows.second_sample(b);
            T* target = detail::sample_of(out, b);
            std::memcpy(target, first, sizeof(T) * static_cast<std::size_t>(channels * plane));
            for (index_t c = 0; c < channels; ++c)
                for (index_t y = cut.top; y < cut.bottom; ++y) {
                    const index_t start = c * plane + y * width + cut.left;
                    std::memcpy(target + start, second + start, sizeof(T) * static_cast<std::size_t>(cut.right - cut.left));
                }
        });
    }
};

/// Feature mixup: f = lambda_x f_i + (1 - lambda_x) f_j, optionally rescaled to unit length
/// (the LFM variant that mixes normalised features). A mixed vector shorter than `epsilon`
/// is divided by epsilon instead, so two opposite features give 0, never NaN.
struct feature_mixup {
    bool renormalise = true;
    double epsilon = 1e-12;

    template <class Rows, class T, std::size_t R, class Engine>
    void operator()(const Rows& rows, vector_view<T> lambda_x, tensor_view<T, R> out, lambda_scope, Engine&) const
    {
        const index_t features = detail::contiguous_sample_size(out, "out");
        cpu::parallel_for(out.extent(0), features, [&](index_t b) {
            T* mixed = detail::sample_of(out, b);
            detail::blend(rows.first_sample(b), rows.second_sample(b), lambda_x(b), mixed, features);
            if (!renormalise) return;
            double squared = 0;
            for (index_t f = 0; f < features; ++f) squared += static_cast<double>(mixed[f]) * mixed[f];
            const T scale = static_cast<T>(1.0 / std::max(std::sqrt(squared), epsilon));
            for (index_t f = 0; f < features; ++f) mixed[f] *= scale;
        });
    }
};

}  // namespace tailor
