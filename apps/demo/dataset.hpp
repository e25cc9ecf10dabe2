#pragma once
// What every method of the comparison trains and tests on: frozen image features split
// into a training and a test set, one fixed text embedding per class (the cosine head's
// classifier, the samplers' similarities, MMS's margins) and, per class, the anchor
// sentences of VL-LTR's LGR head. Two sources fill it: the generated world (world.hpp)
// and a folder of real images encoded by a CLIP checkpoint (image_data.hpp).
#include <cstdint>
#include <string>
#include <vector>

#include "tailor/core/tensor.hpp"

namespace demo {

using tailor::index_t;

struct labelled_features {
    tailor::matrix<float> features;      // [N, D], unit rows
    std::vector<std::int32_t> labels;    // [N]
};

struct dataset {
    tailor::matrix<float> text;                // [C, D] unit text embeddings
    std::vector<std::int64_t> counts;          // training images per class
    labelled_features train, test;
    tailor::tensor<float, 3> anchors;          // [C, M, D] anchor sentences, rows past anchor_counts[c] unused
    std::vector<std::int32_t> anchor_counts;   // [C], m_c in [1, M]
    std::vector<std::int32_t> super_class_of;  // generated world only (empty for real images)
    std::vector<std::string> class_names;      // real images only (empty for the generated world)

    index_t classes() const noexcept { return text.extent(0); }
    index_t dim() const noexcept { return text.extent(1); }
};

}  // namespace demo
