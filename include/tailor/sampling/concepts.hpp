#pragma once
// The sampling room's extension points. (class_weighting, the third, sits beside the
// weightings in class_samplers.hpp.)
#include <concepts>

#include "tailor/core/random.hpp"
#include "tailor/core/view.hpp"
#include "tailor/sampling/class_index.hpp"
#include "tailor/sampling/epoch.hpp"

namespace tailor {

/// Where class-to-class similarities s_ij come from (text embeddings, a matrix computed
/// elsewhere, ...): the number of classes, and the [classes, classes] host matrix written
/// on request. The pair sampler reads it once, at construction.
template <class S>
concept similarity_source = requires(const S& source, matrix_view<float> out) {
    { source.classes() } -> std::convertible_to<index_t>;
    source.write_similarities(out);
};

/// What a mixup batcher needs from a pair sampler: the dataset's classes and labels, and
/// for any epoch and shard the (anchor, partner) index pairs in stream order, as a pure
/// function of the generator's seed and stream.
template <class S>
concept pair_sampler = requires(const S& sampler, const philox4x32_10& generator, index_t epoch, shard part) {
    { sampler.index() } -> std::same_as<const class_index&>;
    { sampler.epoch(generator, epoch, part) } -> std::same_as<pair_epoch>;
};

}  // namespace tailor
