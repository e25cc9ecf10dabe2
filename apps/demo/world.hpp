#pragma once
// The demo's generated long-tailed world. It carries the assumption both papers rest on:
// semantically close classes vary in the same visual directions.
//
//   super-class s: a unit direction u_s and a variation basis B_s (D x r, N(0, 1/D) entries,
//                  so columns have about unit length)
//   class c in s:   text embedding  t_c = normalise(u_s + text_spread * w_c),  w_c ~ N(0, I/D)
//                   image centre    m_c = normalise(t_c + gap * g + centre_spread * v_c)
//                   (g: one modality-gap direction shared by all classes, v_c ~ N(0, I/D))
//   image of c:     x = normalise(m_c + B_s z + noise * e),  z ~ N(0, variation^2 I_r / r)
//                   e ~ N(0, I/D)
//   anchors of c:   m_c ~ Uniform{anchors_min, ..., anchors_max} sentences (ragged; M = anchors_max)
//                   v_cm = normalise(t_c + anchor_spread * w_cm),  w_cm ~ N(0, I/D)
//                   (the text side of VL-LTR's LGR head: several noisy descriptions per class,
//                   scattered around the class's prompt embedding, none of them visual)
// Training counts follow the exponential profile floor(n_max (1/IF)^(rank/(C-1))), with ranks
// assigned to classes by a seeded permutation, independent of super-class membership; the
// test set is balanced. Every draw comes from one Philox stream per purpose, so a seed
// fixes the world, and the anchors' stream is separate: changing the anchor options leaves
// the features, counts and text embeddings unchanged.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include "tailor/core/error.hpp"
#include "tailor/core/random.hpp"
#include "tailor/core/tensor.hpp"
#include "tailor/sampling/long_tail.hpp"
#include "dataset.hpp"

namespace demo {

using tailor::index_t;

struct world_options {
    index_t classes = 100;
    index_t super_classes = 10;
    index_t dim = 64;
    index_t variation_rank = 6;
    index_t max_count = 500;
    double imbalance = 100.0;
    index_t test_per_class = 30;
    double text_spread = 0.3;
    double gap = 0.9;
    double centre_spread = 0.35;
    double variation = 1.2;
    double noise = 0.6;
    index_t anchors_min = 4;      ///< fewest anchor sentences of a class
    index_t anchors_max = 16;     ///< most anchor sentences of a class (M, the padded width)
    double anchor_spread = 0.5;   ///< isotropic noise of a sentence around its class's text embedding
    std::uint64_t seed = 7;

    void validate() const
    {
        using tailor::detail::require;
        require(classes >= 2, "classes", ">= 2", classes);
        require(super_classes >= 1 && super_classes <= classes, "super_classes",
                tailor::detail::concat("a value in [1, ", classes, "]"), super_classes);
        require(dim >= 2, "dim", ">= 2", dim);
        require(variation_rank >= 1 && variation_rank <= dim, "variation_rank",
                tailor::detail::concat("a value in [1, ", dim, "]"), variation_rank);
        require(max_count >= 1, "max_count", ">= 1", max_count);
        require(std::isfinite(imbalance) && imbalance >= 1 && imbalance <= double(max_count), "imbalance",
                tailor::detail::concat("a value in [1, max_count = ", max_count, "]"), imbalance);
        require(test_per_class >= 1, "test_per_class", ">= 1", test_per_class);
        require(anchors_min >= 1, "anchors_min", ">= 1", anchors_min);
        require(anchors_max >= anchors_min, "anchors_max", tailor::detail::concat(">= anchors_min = ", anchors_min),
                anchors_max);
        for (double v : {text_spread, gap, centre_spread, variation, noise, anchor_spread})
            require(std::isfinite(v) && v >= 0, "world spread parameters", "finite values >= 0", v);
    }
};

namespace detail {

inline void normalise(float* x, index_t n)
{
    double s = 0;
    for (index_t i = 0; i < n; ++i) s += double(x[i]) * x[i];
    const float inv = s > 0 ? float(1.0 / std::sqrt(s)) : 0.f;
    for (index_t i = 0; i < n; ++i) x[i] *= inv;
}

inline float gaussian(tailor::philox4x32_10& rng, double sd) { return float(sd * tailor::standard_normal<double>(rng)); }

}  // namespace detail

/// The generated world as a dataset (text, counts, train and test features, anchors).
inline dataset make_world(const world_options& o)
{
    o.validate();
    const index_t C = o.classes, D = o.dim, S = o.super_classes, r = o.variation_rank;
    tailor::philox4x32_10 structure(o.seed, 0), sampling(o.seed, 1), counts_rng(o.seed, 2), anchors_rng(o.seed, 3);
    const double unit = 1.0 / std::sqrt(double(D));

    tailor::matrix<float> super_dir({S, D}), basis({S, D * r}), gap_dir({1, D});
    for (auto& x : super_dir) x = detail::gaussian(structure, 1.0);
    for (index_t s = 0; s < S; ++s) detail::normalise(&super_dir(s, 0), D);
    for (auto& x : basis) x = detail::gaussian(structure, unit);
    for (auto& x : gap_dir) x = detail::gaussian(structure, 1.0);
    detail::normalise(gap_dir.data(), D);

    dataset w;
    w.text = tailor::matrix<float>({C, D});
    w.super_class_of.resize(std::size_t(C));
    w.counts.resize(std::size_t(C));
    tailor::matrix<float> centre({C, D});
    for (index_t c = 0; c < C; ++c) {
        const index_t s = c % S;  // super-classes interleave so class id says nothing about counts
        w.super_class_of[std::size_t(c)] = std::int32_t(s);
        for (index_t d = 0; d < D; ++d) w.text(c, d) = super_dir(s, d) + detail::gaussian(structure, o.text_spread * unit);
        detail::normalise(&w.text(c, 0), D);
        for (index_t d = 0; d < D; ++d)
            centre(c, d) = w.text(c, d) + float(o.gap) * gap_dir(0, d) + detail::gaussian(structure, o.centre_spread * unit);
        detail::normalise(&centre(c, 0), D);
    }

    // The library's exponential profile over ranks; a seeded permutation maps ranks to classes.
    const auto profile = tailor::exponential_profile(C, o.max_count, o.imbalance);
    std::vector<index_t> rank_of(static_cast<std::size_t>(C));
    std::iota(rank_of.begin(), rank_of.end(), index_t(0));
    for (index_t i = C - 1; i > 0; --i) {
        const auto j = std::min(i, index_t(tailor::uniform_real<double>(counts_rng) * double(i + 1)));
        std::swap(rank_of[std::size_t(i)], rank_of[std::size_t(j)]);
    }
    for (index_t c = 0; c < C; ++c)
        w.counts[std::size_t(c)] = std::max<std::int64_t>(1, profile[std::size_t(rank_of[std::size_t(c)])]);

    auto draw = [&](labelled_features& out, auto count_of) {
        index_t n = 0;
        for (index_t c = 0; c < C; ++c) n += count_of(c);
        out.features = tailor::matrix<float>({n, D});
        out.labels.resize(std::size_t(n));
        std::vector<float> z(static_cast<std::size_t>(r));
        index_t row = 0;
        for (index_t c = 0; c < C; ++c) {
            const index_t s = w.super_class_of[std::size_t(c)];
            for (index_t k = 0; k < count_of(c); ++k, ++row) {
                for (auto& v : z) v = detail::gaussian(sampling, o.variation / std::sqrt(double(r)));
                float* x = &out.features(row, 0);
                for (index_t d = 0; d < D; ++d) {
                    float v = centre(c, d) + detail::gaussian(sampling, o.noise * unit);
                    for (index_t q = 0; q < r; ++q) v += basis(s, d * r + q) * z[std::size_t(q)];
                    x[d] = v;
                }
                detail::normalise(x, D);
                out.labels[std::size_t(row)] = std::int32_t(c);
            }
        }
    };
    draw(w.train, [&](index_t c) { return index_t(w.counts[std::size_t(c)]); });
    draw(w.test, [&](index_t) { return o.test_per_class; });

    // Anchor sentences, after everything else and from their own stream.
    const index_t M = o.anchors_max, span = o.anchors_max - o.anchors_min + 1;
    w.anchors = tailor::tensor<float, 3>({C, M, D});
    w.anchor_counts.resize(std::size_t(C));
    for (index_t c = 0; c < C; ++c) {
        const auto m_c = o.anchors_min + std::min(span - 1, index_t(tailor::uniform_real<double>(anchors_rng) * double(span)));
        w.anchor_counts[std::size_t(c)] = std::int32_t(m_c);
        for (index_t m = 0; m < m_c; ++m) {
            float* v = &w.anchors(c, m, 0);
            for (index_t d = 0; d < D; ++d) v[d] = w.text(c, d) + detail::gaussian(anchors_rng, o.anchor_spread * unit);
            detail::normalise(v, D);
        }
    }
    return w;
}

}  // namespace demo
