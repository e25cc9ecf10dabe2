// The CLIP tokenizer: OpenAI's byte-level BPE, id for id. Reads the merges file given as
// the first argument, or the shared CLIP vocabulary when the build found it; otherwise it
// writes a tiny merges file of its own (then ids differ from CLIP's, the pipeline is the same).
#include <tailor/text/clip_tokenizer.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

int main(int argc, char** argv)
{
    std::filesystem::path merges;
#ifdef TAILOR_EXAMPLE_CLIP_VOCAB
    merges = TAILOR_EXAMPLE_CLIP_VOCAB;
#endif
    if (argc > 1) merges = argv[1];
    if (merges.empty() || !std::filesystem::exists(merges)) {
        merges = std::filesystem::temp_directory_path() / "tailor_example_merges.txt";
        std::ofstream(merges) << "#version: 0.2\np h\nph o\npho t\nphot o</w>\nh o\nho t</w>\nd o\ndo g</w>\nc a\nca t</w>\n";
    }
    const auto tok = tailor::text::clip_tokenizer::from_openai_bpe(merges);
    std::printf("merges: %s (vocabulary of %lld tokens, SOT %d, EOT %d)\n\n", merges.string().c_str(),
                static_cast<long long>(tok.vocabulary_size()), tok.start_of_text(), tok.end_of_text());

    const std::string text = "A photo of a  Dog.";  // cleaned: lower case, whitespace collapsed
    std::printf("\"%s\"\n  tokens:", text.c_str());
    for (const auto& t : tok.tokenize(text)) std::printf(" %s", t.c_str());
    std::printf("\n  ids:   ");
    const auto ids = tok.encode(text);
    for (auto id : ids) std::printf(" %d", id);
    std::printf("\n  back:   \"%s\"\n\n", tok.decode(ids).c_str());

    // Prompts for a class list, padded to CLIP's context of 77: [N, 77] for the text encoder.
    const std::vector<std::string> prompts = {"a photo of a cat.", "a photo of a hot dog."};
    const auto batch = tok.encode_batch<std::int64_t>(prompts);
    std::printf("encode_batch: [%lld, %lld]\n", static_cast<long long>(batch.extent(0)), static_cast<long long>(batch.extent(1)));
    for (tailor::index_t r = 0; r < batch.extent(0); ++r) {
        std::printf("  ");
        for (tailor::index_t k = 0; k < 12; ++k) std::printf("%lld ", static_cast<long long>(batch(r, k)));
        std::printf("...\n");
    }
    return 0;
}
