// Sampling: LFM's text-similarity partner sampler next to a classic square-root sampler.
// Six classes in two semantic groups with a long-tailed training set; the partner of an
// anchor is drawn from P(j | i) = softmax_{j != i}(cos(t_i, t_j) / tau), so partners come
// from the anchor's own group. Prints the partner distribution of class 0 (exact and
// counted over an epoch) and the square-root sampler's class frequencies.
#include <tailor/backend/eigen/backend.hpp>
#include <tailor/sampling.hpp>

#include <cstdio>
#include <vector>

int main()
{
    // Text embeddings [C = 6, D = 3]: classes 0-2 point near x, classes 3-5 near y.
    float text[6 * 3] = {1.0f, 0.1f, 0.0f, 0.9f, 0.0f, 0.2f, 1.0f, 0.2f, 0.1f,
                         0.1f, 1.0f, 0.0f, 0.0f, 0.9f, 0.3f, 0.2f, 1.0f, 0.1f};
    // Training counts: the CIFAR-LT profile n_i = n_max (1 / IF)^(i / (C - 1)).
    const std::vector<tailor::index_t> counts = tailor::exponential_profile(6, 500, 50.0);
    const auto index = tailor::class_index::from_counts(counts);

    tailor::text_similarity_pair_sampler<> lfm(
        tailor::text_embedding_similarity(tailor::make_view(text, 6, 3), tailor::eigen::backend{}), index,
        {.tau = 0.05, .top_k = 0});
    const tailor::philox4x32_10 generator(42);
    const auto pairs = lfm.epoch(generator, /*epoch=*/0);

    std::vector<double> partner_of_0(6, 0.0);
    double anchors_of_0 = 0;
    for (const auto& p : pairs)
        if (index.label(p.first) == 0) {
            partner_of_0[std::size_t(index.label(p.second))] += 1;
            anchors_of_0 += 1;
        }
    std::printf("counts:");
    for (auto n : counts) std::printf(" %lld", static_cast<long long>(n));
    std::printf("\n\nLFM partner class of anchor class 0 (tau = 0.05), %lld pairs in epoch 0\n", static_cast<long long>(pairs.size()));
    std::printf("  class   P(j | 0)   counted\n");
    for (tailor::index_t j = 0; j < 6; ++j)
        std::printf("  %5lld   %8.4f   %7.4f\n", static_cast<long long>(j), lfm.partner_probability(0, j),
                    partner_of_0[std::size_t(j)] / anchors_of_0);

    // A classic sampler: class probability proportional to sqrt(n_c), as VL-LTR trains.
    const tailor::class_sampler<tailor::square_root> sqrt_sampler(index);
    const auto probabilities = sqrt_sampler.class_probabilities();
    const auto drawn = sqrt_sampler.epoch(generator, 0);
    std::vector<double> seen(6, 0.0);
    for (auto i : drawn) seen[std::size_t(index.label(i))] += 1;
    std::printf("\nsquare-root sampling, %lld draws in epoch 0\n  class   n_c   P(c)     counted\n", static_cast<long long>(drawn.size()));
    for (tailor::index_t c = 0; c < 6; ++c)
        std::printf("  %5lld  %4lld   %.4f   %.4f\n", static_cast<long long>(c), static_cast<long long>(counts[std::size_t(c)]),
                    probabilities[std::size_t(c)], seen[std::size_t(c)] / double(drawn.size()));
    return 0;
}
