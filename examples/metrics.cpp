// Metrics: per-class accuracy, then many / medium / few-shot accuracy under the two
// conventions the literature uses: the paper text's (many n > 100, medium 20..100, few
// n < 20, mean of per-class accuracies) and the pooled one some released evaluators use
// (n >= 100, 20 < n < 100, n <= 20, hits over samples). A class with n = 100 or n = 20
// changes group between them, and pooling weighs classes by their test samples.
#include <tailor/metrics.hpp>

#include <cstdio>
#include <vector>

int main()
{
    const tailor::index_t C = 5;
    const std::vector<std::int64_t> training_counts = {600, 100, 45, 20, 6};
    // Test set: class c has 4 samples, except class 4 with 2; predictions of a head-biased model.
    const std::vector<std::int32_t> truth = {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4};
    const std::vector<std::int32_t> predicted = {0, 0, 0, 0, 1, 1, 1, 0, 2, 2, 0, 1, 3, 0, 0, 2, 4, 0};
    const auto n = static_cast<tailor::index_t>(truth.size());
    const auto per_class = tailor::metrics::per_class_accuracy<std::int32_t>(tailor::make_view(predicted.data(), n),
                                                                            tailor::make_view(truth.data(), n), C);
    std::printf("class  n_train  accuracy\n");
    for (tailor::index_t c = 0; c < C; ++c)
        std::printf("%5lld  %7lld  %8.2f\n", static_cast<long long>(c), static_cast<long long>(training_counts[std::size_t(c)]),
                    100 * per_class.accuracy(c));

    const auto counts = tailor::make_view(training_counts.data(), C);
    for (const auto& [name, convention] : {std::pair{"paper_convention", tailor::metrics::paper_convention},
                                           std::pair{"pooled_inclusive_convention", tailor::metrics::pooled_inclusive_convention}}) {
        const auto report = tailor::metrics::shot_accuracy<std::int64_t>(per_class, counts, convention);
        std::printf("\n%s\n", name);
        for (auto g : {tailor::metrics::shot_group::many, tailor::metrics::shot_group::medium, tailor::metrics::shot_group::few})
            std::printf("  %-6s %6.2f %%  (%lld classes, %lld test samples)\n", tailor::metrics::name(g).data(),
                        100 * report[g].accuracy, static_cast<long long>(report[g].classes),
                        static_cast<long long>(report[g].samples));
        std::printf("  all    %6.2f %%\n", 100 * report.overall.accuracy);
    }

    const auto confusion = tailor::metrics::confusion_matrix<std::int32_t>(tailor::make_view(predicted.data(), n),
                                                                           tailor::make_view(truth.data(), n), C);
    std::printf("\nconfusion (row: truth, column: prediction)\n");
    for (tailor::index_t t = 0; t < C; ++t) {
        std::printf(" ");
        for (tailor::index_t p = 0; p < C; ++p) std::printf(" %lld", static_cast<long long>(confusion(t, p)));
        std::printf("\n");
    }
    return 0;
}
