// VL-LTR's LGR head: an image branch (MLP) and a text branch where each image attends over
// its candidate class's anchor sentences. Three classes with 4, 2 and 3 sentences (ragged,
// padded to M = 4), twelve images; forward, backward and AdamW steps on one batch, then
// the two branches fused as alpha softmax(x_img) + (1 - alpha) softmax(x_txt).
#include <tailor/backend/eigen/backend.hpp>
#include <tailor/core/random.hpp>
#include <tailor/head/lgr.hpp>
#include <tailor/loss.hpp>
#include <tailor/metrics.hpp>
#include <tailor/optim.hpp>

#include <cstdio>
#include <vector>

int main()
{
    const tailor::index_t C = 3, M = 4, D = 8, B = 12;
    tailor::eigen::backend be;
    tailor::philox4x32_10 rng(5);
    auto noise = [&](double sd) { return float(sd * tailor::standard_normal<double>(rng)); };

    // Class c's sentences point along axis c; images along axis c too, with more noise.
    tailor::tensor<float, 3> sentences({C, M, D});
    std::vector<std::int32_t> counts = {4, 2, 3};
    for (tailor::index_t c = 0; c < C; ++c)
        for (tailor::index_t m = 0; m < counts[std::size_t(c)]; ++m)
            for (tailor::index_t d = 0; d < D; ++d) sentences(c, m, d) = (d == c ? 1.f : 0.f) + noise(0.3);
    tailor::matrix<float> images({B, D});
    std::vector<std::int32_t> labels(B);
    for (tailor::index_t b = 0; b < B; ++b) {
        labels[std::size_t(b)] = std::int32_t(b % C);
        for (tailor::index_t d = 0; d < D; ++d) images(b, d) = (d == b % C ? 1.f : 0.f) + noise(0.5);
    }

    // The bank depends only on the frozen sentences: build it once.
    const auto bank = tailor::head::lgr_anchor_bank<float>::from_padded(
        be, tailor::tensor_view<const float, 3>(sentences.view()), tailor::make_view(counts.data(), C));
    tailor::head::lgr_head<float> head({.dim = D, .classes = C}, tailor::philox4x32_10(1));  // hidden 4 D
    tailor::head::lgr_activations<float> act;

    // Every tensor parameter with its gradient, for AdamW (logit_scale stays CLIP's log 100).
    std::vector<tailor::optim::parameter<float>> parameters;
    std::vector<tailor::vector_view<float>> values;
    head.params.for_each([&](const char*, tailor::vector_view<float> v) { values.push_back(v); });
    head.grads.for_each([&](const char*, tailor::vector_view<float> g) { parameters.push_back({values[parameters.size()], g}); });
    tailor::optim::adamw_optimizer<float> adamw(parameters, tailor::optim::adamw{.weight_decay = 0.05},
                                                tailor::optim::constant_schedule{1e-2});

    const tailor::hard_targets<std::int32_t> targets{tailor::make_view(static_cast<const std::int32_t*>(labels.data()), B)};
    for (int step = 0; step <= 40; ++step) {
        const auto loss = head.loss_and_gradients(be, bank, tailor::matrix_view<const float>(images.view()),
                                                  tailor::loss::cross_entropy{}, targets, act);
        if (step % 10 == 0)
            std::printf("step %2d  loss %.4f = image %.4f + text %.4f   dL/dW_q(0, 1) %+.2e\n", step, loss.total,
                        loss.image, loss.text, head.grads.query_weight(0, 1));
        adamw.step();
    }

    head.forward(be, bank, tailor::matrix_view<const float>(images.view()), act);
    tailor::matrix<float> fused({B, C});
    tailor::head::fuse_probabilities<float>(be, act.image_logits.view(), act.text_logits.view(), 0.2f, fused.view());
    std::vector<std::int32_t> predicted(B);
    tailor::metrics::argmax_rows<float>(fused.view(), tailor::make_view(predicted.data(), B));
    std::printf("\nimage  label  fused p(0) p(1) p(2)  prediction\n");
    for (tailor::index_t b = 0; b < B; ++b)
        std::printf("%5lld  %5d  %10.3f %.3f %.3f  %d\n", static_cast<long long>(b), labels[std::size_t(b)], fused(b, 0),
                    fused(b, 1), fused(b, 2), predicted[std::size_t(b)]);
    return 0;
}
