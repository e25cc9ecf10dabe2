// libFuzzer target for the CLIP tokenizer. The first byte picks what the rest is:
//   0..191   text to encode (valid UTF-8 or not), with the vocabulary of TAILOR_FUZZ_CLIP_VOCAB
//            (OpenAI's .gz) when that variable names a file, else a small built-in one;
//   192..223 a merges file (OpenAI format), then a fixed text is encoded with it;
//   224..255 "vocab.json\0merges.txt" (Hugging Face format).
// Invalid input must end in a tailor::error; ids must stay in the vocabulary.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>
#include <vector>

#include "tailor/text/clip_tokenizer.hpp"

using tailor::text::clip_tokenizer;

namespace {

const clip_tokenizer& text_tokenizer()
{
    static const clip_tokenizer tokenizer = [] {
        if (const char* path = std::getenv("TAILOR_FUZZ_CLIP_VOCAB"); path != nullptr && *path != '\0')
            return clip_tokenizer::from_openai_bpe(path);
        return clip_tokenizer::from_openai_bpe_contents(
            "#version: 0.2\nt h\nth e</w>\na n\nan d</w>\ni n\nin g</w>\no f</w>\ne r\n"
            "\xc3\xa9 \xc3\xa9\n\xc3 \xa9\n< |\n' s</w>\n");
    }();
    return tokenizer;
}

void exercise(const clip_tokenizer& tok, std::string_view text)
{
    std::vector<std::int32_t> ids;
    try {
        ids = tok.encode(text);
    } catch (const tailor::argument_error&) {
        return;  // invalid UTF-8 in the text
    }
    for (const auto id : ids)
        if (id < 0 || static_cast<std::size_t>(id) >= tok.vocabulary_size()) __builtin_trap();
    const auto row = tok.encode_padded(text, 16);
    if (row.size() != 16 || row[0] != tok.start_of_text()) __builtin_trap();
    const std::string decoded = tok.decode(ids);
    try {
        (void)tailor::text::detail::decode_utf8(decoded);  // decode always yields valid UTF-8
    } catch (const tailor::argument_error&) {
        __builtin_trap();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size == 0) return 0;
    const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    if (data[0] < 192) {
        exercise(text_tokenizer(), rest);
        return 0;
    }
    try {
        if (data[0] < 224) {
            const auto tok = clip_tokenizer::from_openai_bpe_contents(rest);
            exercise(tok, "the cat's <|endoftext|> ran, & hid \xc3\xa9t\xc3\xa9 4K!");
        } else {
            const std::size_t split = rest.find('\0');
            if (split == std::string_view::npos) return 0;
            const auto tok = clip_tokenizer::from_hugging_face_contents(rest.substr(0, split), rest.substr(split + 1));
            exercise(tok, "the cat's ran");
        }
    } catch (const tailor::parse_error&) {
        // a malformed vocabulary
    }
    return 0;
}
