#pragma once
// CLIP's zero-shot classifier: each class name is put into every prompt template, the
// prompts are encoded, each embedding is L2-normalised, a class's embeddings are averaged
// and the mean is normalised again (the prompt ensemble of the CLIP paper). The resulting
// [C, D] rows are the text classifier; logits = exp(logit_scale) cos(image, row).
#include <algorithm>
#include <cmath>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tailor/head/cosine_head.hpp"
#include "tailor/model/clip.hpp"
#include "tailor/text/clip_tokenizer.hpp"

namespace tailor::model {

/// `template_text` with every "{}" replaced by `name`; a template without "{}" is an error
/// (every class would get the same prompt).
inline std::string fill_prompt(std::string_view template_text, std::string_view name)
{
    const auto at = template_text.find("{}");
    detail::require(at != std::string_view::npos, "templates", "templates containing '{}'",
                    [&] { return detail::concat("'", template_text, "'"); });
    std::string out;
    std::size_t from = 0;
    for (auto pos = at; pos != std::string_view::npos; pos = template_text.find("{}", from)) {
        out.append(template_text.substr(from, pos - from)).append(name);
        from = pos + 2;
    }
    return out.append(template_text.substr(from));
}

/// Scales every row of `x` to unit L2 norm in place (a zero row stays zero), through the
/// cosine head's row functor.
template <class T, class B>
void normalize_rows(B& be, matrix_view<T> x)
{
    vector<T> norms({x.rows()});
    be.template map_rows<T>(matrix_view<const T>(x), norms.view(), tailor::detail::normalise_rows<T>{x});
}

/// The [classes, D] zero-shot classifier. Prompts are encoded `batch` at a time.
template <class T, class B>
matrix<T> zero_shot_classifier(B& be, clip_text_encoder<T>& encoder, const text::clip_tokenizer& tokenizer,
                               std::span<const std::string> class_names, std::span<const std::string> templates,
                               index_t batch = 64)
{
    detail::require(!class_names.empty(), "class_names", "at least one class", "none");
    detail::require(!templates.empty(), "templates", "at least one template", "none");
    detail::require(batch > 0, "batch", "> 0", batch);
    const index_t classes = static_cast<index_t>(class_names.size()), k = static_cast<index_t>(templates.size());
    const index_t d = encoder.config().output_dim, context = encoder.config().context_length;

    std::vector<std::string> prompts;
    prompts.reserve(static_cast<std::size_t>(classes * k));
    for (const auto& name : class_names)
        for (const auto& t : templates) prompts.push_back(fill_prompt(t, name));

    matrix<T> embeddings({classes * k, d});
    for (index_t begin = 0; begin < classes * k; begin += batch) {
        const index_t end = std::min(classes * k, begin + batch);
        const std::span<const std::string> chunk(prompts.data() + begin, static_cast<std::size_t>(end - begin));
        const auto ids = tokenizer.encode_batch<std::int32_t>(chunk, context);
        encoder.encode(be, ids.view(), embeddings.view().slice(0, begin, end));
    }
    normalize_rows(be, embeddings.view());
    matrix<T> classifier({classes, d});
    for (index_t c = 0; c < classes; ++c)
        for (index_t j = 0; j < d; ++j) {
            double s = 0;
            for (index_t t = 0; t < k; ++t) s += embeddings(c * k + t, j);
            classifier(c, j) = static_cast<T>(s / double(k));
        }
    normalize_rows(be, classifier.view());
    return classifier;
}

/// logits[i, c] = exp(logit_scale) cos(image_i, classifier_c). `image_embeddings` [N, D] need
/// not be normalised; `classifier` [C, D] rows are taken as they are (unit rows from
/// zero_shot_classifier).
template <class T, class B>
void zero_shot_logits(B& be, matrix_view<const T> image_embeddings, matrix_view<const T> classifier, T logit_scale,
                      matrix_view<T> logits)
{
    detail::require_extents(classifier, "classifier", {-1, image_embeddings.cols()});
    detail::require_extents(logits, "logits", {image_embeddings.rows(), classifier.rows()});
    detail::require(std::isfinite(logit_scale), "logit_scale", "a finite value", logit_scale);
    matrix<T> unit({image_embeddings.rows(), image_embeddings.cols()});
    be.copy(image_embeddings, unit.view());
    normalize_rows(be, unit.view());
    be.gemm(std::exp(logit_scale), matrix_view<const T>(unit.view()), classifier.transposed(), T(0), logits);
}

}  // namespace tailor::model
