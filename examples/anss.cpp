// Anchor sentence selection (AnSS, VL-LTR): score every sentence of a class by how well it
// picks out that class's images, L_lin = logsumexp_i(s cos(sentence, image_i)) - mean over
// the class's images, and keep the M lowest per class. Two classes; each has sentences
// that describe its images, one that is generic (between both classes) and one about the
// other class. With keep = 2 the descriptive sentences survive.
#include <tailor/backend/eigen/backend.hpp>
#include <tailor/text/anchor_sentences.hpp>

#include <cstdio>
#include <vector>

int main()
{
    const tailor::index_t D = 4;
    // Images: class 0 around (1, 0, 0, 0), class 1 around (0, 1, 0, 0).
    float images[6 * D] = {1.0f, 0.1f, 0.2f, 0.0f, 0.9f, 0.0f, -0.1f, 0.2f, 1.0f, -0.1f, 0.0f, 0.1f,
                           0.1f, 1.0f, 0.0f, 0.2f, 0.0f, 0.9f, 0.2f, 0.0f, -0.1f, 1.0f, 0.1f, 0.1f};
    std::vector<std::int32_t> labels = {0, 0, 0, 1, 1, 1};
    // Sentences packed class after class: offsets [0, 4, 7) give class 0 rows 0-3, class 1 rows 4-6.
    const char* about[7] = {"class 0, descriptive", "class 0, descriptive", "class 0, generic", "class 0, about class 1",
                            "class 1, descriptive", "class 1, generic", "class 1, descriptive"};
    float sentences[7 * D] = {1.0f, 0.0f, 0.1f, 0.0f, 0.9f, 0.1f, 0.0f, 0.1f, 0.7f, 0.7f, 0.0f, 0.0f, 0.1f, 1.0f, 0.0f, 0.0f,
                              0.0f, 1.0f, 0.1f, 0.1f, 0.7f, 0.7f, 0.1f, 0.0f, 0.1f, 0.9f, 0.0f, 0.1f};
    std::vector<std::int64_t> offsets = {0, 4, 7};

    tailor::eigen::backend be;
    const auto selection = tailor::text::select_anchor_sentences<float>(
        be, tailor::make_view(static_cast<const float*>(sentences), 7, D), tailor::make_view(offsets.data(), 3),
        tailor::make_view(static_cast<const float*>(images), 6, D), tailor::make_view(labels.data(), 6),
        {.scale = 100.0, .keep = 2});

    std::printf("sentence                 L_lin    kept\n");
    for (tailor::index_t s = 0; s < 7; ++s) {
        const auto c = s < 4 ? 0 : 1;
        bool kept = false;
        for (tailor::index_t k = 0; k < selection.counts[std::size_t(c)]; ++k) kept = kept || selection.at(c, k) == s;
        std::printf("%-24s %7.3f  %s\n", about[s], selection.scores[std::size_t(s)], kept ? "yes" : "");
    }
    // The padded [C, M, D] block the LGR head's anchor bank takes.
    tailor::tensor<float, 3> padded({2, 2, D});
    tailor::text::gather_selected_sentences(selection, tailor::make_view(static_cast<const float*>(sentences), 7, D),
                                            padded.view());
    std::printf("\nclass 1's first anchor: (%.1f, %.1f, %.1f, %.1f)\n", padded(1, 0, 0), padded(1, 0, 1), padded(1, 0, 2),
                padded(1, 0, 3));
    return 0;
}
