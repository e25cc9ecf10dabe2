// VL-LTR's pre-training losses on one batch: the class-wise contrastive loss L_ccl (every
// image-sentence pair of the same class is a positive) and the pre-training objective
// L_pre = 0.5 L_ccl + 0.5 L_dis, whose distillation term follows a frozen teacher's
// similarities. A few plain gradient steps on the embeddings lower L_pre.
#include <tailor/backend/eigen/backend.hpp>
#include <tailor/core/random.hpp>
#include <tailor/loss/distillation.hpp>

#include <cmath>
#include <cstdio>
#include <vector>

int main()
{
    const tailor::index_t Ni = 6, Nt = 8, D = 16;
    tailor::philox4x32_10 rng(3);
    auto fill = [&](tailor::matrix<float>& x) {
        for (auto& v : x) v = float(tailor::standard_normal<double>(rng));
    };
    tailor::matrix<float> images({Ni, D}), texts({Nt, D}), d_images({Ni, D}), d_texts({Nt, D}), teacher({Ni, Nt});
    fill(images);
    fill(texts);
    std::vector<std::int32_t> image_labels = {0, 0, 1, 1, 2, 2}, text_labels = {0, 0, 0, 1, 1, 2, 2, 2};
    // The teacher: a frozen model's logits on the same batch (here 100 cos of the starting embeddings).
    for (tailor::index_t i = 0; i < Ni; ++i)
        for (tailor::index_t j = 0; j < Nt; ++j) {
            double dot = 0, ni = 0, nj = 0;
            for (tailor::index_t d = 0; d < D; ++d) {
                dot += images(i, d) * texts(j, d);
                ni += images(i, d) * images(i, d);
                nj += texts(j, d) * texts(j, d);
            }
            teacher(i, j) = float(100 * dot / std::sqrt(ni * nj));
        }

    tailor::eigen::backend be;
    const tailor::loss::contrastive_batch<float> batch{images.view(), tailor::make_view(image_labels.data(), Ni), texts.view(),
                                                       tailor::make_view(text_labels.data(), Nt)};
    const float logit_scale = std::log(100.f);  // CLIP's learned temperature, exp(4.6) = 100
    const auto ccl = tailor::loss::class_contrastive_loss<float>(be, batch, logit_scale, /*label_smoothing=*/0.1f,
                                                                 d_images.view(), d_texts.view());
    std::printf("L_ccl %.4f   dL/dlogit_scale %+.4f\n", ccl.value, ccl.d_logit_scale);

    for (int step = 0; step <= 30; ++step) {
        const auto pre = tailor::loss::pretraining_loss<float>(be, batch, logit_scale, teacher.view(), /*weight=*/0.5f,
                                                               /*label_smoothing=*/0.1f, d_images.view(), d_texts.view());
        if (step % 10 == 0)
            std::printf("step %2d  L_pre %.4f = 0.5 x L_ccl %.4f + 0.5 x L_dis %.4f\n", step, pre.value, pre.contrastive,
                        pre.distillation);
        for (tailor::index_t k = 0; k < images.size(); ++k) images.data()[k] -= 0.05f * d_images.data()[k];
        for (tailor::index_t k = 0; k < texts.size(); ++k) texts.data()[k] -= 0.05f * d_texts.data()[k];
    }
    return 0;
}
