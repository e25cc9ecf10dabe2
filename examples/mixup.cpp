// Mixup: LFM's label shift composed with two mixers. Four classes with 40, 12, 4 and 2
// training images; every image of class c is a 6 x 6 plane filled with the value c, so a
// mixed image shows its mix. For each pair the label shift moves lambda_y away from
// lambda_x towards the rarer class: lambda_y = clamp(lambda_x - alpha (n_i - n_j) / (n_i + n_j)).
#include <tailor/backend/eigen/backend.hpp>
#include <tailor/mixup.hpp>
#include <tailor/sampling.hpp>

#include <cstdio>
#include <vector>

int main()
{
    const std::vector<tailor::index_t> counts = {40, 12, 4, 2};
    const auto index = tailor::class_index::from_counts(counts);
    const tailor::index_t N = index.instances(), B = 8, H = 6, W = 6;
    tailor::tensor<float, 4> images({N, 1, H, W});  // [N, channels, H, W]
    for (tailor::index_t i = 0; i < N; ++i)
        for (tailor::index_t p = 0; p < H * W; ++p) images.data()[i * H * W + p] = float(index.label(i));

    float text[4 * 2] = {1.0f, 0.0f, 0.9f, 0.4f, 0.2f, 1.0f, 0.0f, 1.0f};
    // Anchors class-balanced here (LFM's default is instance-balanced) so every class shows up.
    using sampler = tailor::text_similarity_pair_sampler<tailor::class_balanced>;
    sampler pairs_by_text(tailor::text_embedding_similarity(tailor::make_view(text, 4, 2), tailor::eigen::backend{}),
                          index, {.tau = 0.2});
    // lambda_x ~ Beta(0.5, 0.5), one per pair; LFM's label shift with alpha = 1.
    const tailor::mixup_batcher<sampler, tailor::lfm_shift, tailor::beta_lambda> lfm(
        pairs_by_text, tailor::lfm_shift(1.0), tailor::beta_lambda(0.5), tailor::lambda_scope::per_pair);

    const tailor::philox4x32_10 generator(7);
    const auto epoch = lfm.epoch(generator, 0);
    const auto batch = *epoch.batches(B).begin();
    tailor::tensor<float, 4> mixed({B, 1, H, W});
    std::vector<float> lambda_x(B), lambda_y(B);
    std::vector<std::int32_t> first(B), second(B);
    const tailor::pair_target_buffers<float> targets{tailor::make_view(first.data(), B), tailor::make_view(second.data(), B),
                                                     tailor::make_view(lambda_y.data(), B)};
    tailor::philox4x32_10 engine(7, /*stream=*/1);

    for (const char* mixer : {"input mixup", "cutmix"}) {
        if (mixer[0] == 'i')
            lfm.make_batch(batch, tailor::tensor_view<const float, 4>(images.view()), mixed.view(),
                           tailor::make_view(lambda_x.data(), B), targets, engine, tailor::input_mixup{});
        else
            lfm.make_batch(batch, tailor::tensor_view<const float, 4>(images.view()), mixed.view(),
                           tailor::make_view(lambda_x.data(), B), targets, engine, tailor::cutmix{});
        std::printf("%s + LFM label shift\n  i  j   n_i  n_j  lambda_x  lambda_y  mean pixel\n", mixer);
        for (tailor::index_t b = 0; b < B; ++b) {
            double mean = 0;
            for (tailor::index_t p = 0; p < H * W; ++p) mean += mixed.data()[b * H * W + p];
            std::printf("  %d  %d  %4lld %4lld    %.3f     %.3f      %.3f\n", first[std::size_t(b)], second[std::size_t(b)],
                        static_cast<long long>(counts[std::size_t(first[std::size_t(b)])]),
                        static_cast<long long>(counts[std::size_t(second[std::size_t(b)])]), lambda_x[std::size_t(b)],
                        lambda_y[std::size_t(b)], mean / double(H * W));
        }
    }
    std::printf("cutmix sample 0 (lambda_x is the share of the first image left visible):\n");
    for (tailor::index_t y = 0; y < H; ++y) {
        std::printf("  ");
        for (tailor::index_t x = 0; x < W; ++x) std::printf("%.0f ", mixed(0, 0, y, x));
        std::printf("\n");
    }
    return 0;
}
