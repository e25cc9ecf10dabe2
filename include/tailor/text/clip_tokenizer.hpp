#pragma once
// CLIP's byte-level BPE tokenizer (OpenAI's simple_tokenizer.py; Hugging Face's
// CLIPTokenizer with ftfy installed gives the same ids). See docs/tokenizer.md.
//
//   auto tok = tailor::text::clip_tokenizer::from_openai_bpe("bpe_simple_vocab_16e6.txt.gz");
//   std::vector<std::int32_t> ids = tok.encode("a photo of a dog.");   // 320 1125 539 320 1929 269
//   tailor::tensor<std::int64_t, 2> batch = tok.encode_batch<std::int64_t>(texts);  // [N, 77]
#include <algorithm>
#include <array>
#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <ranges>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "tailor/core/error.hpp"
#include "tailor/core/tensor.hpp"
#include "tailor/text/clip_cleaning.hpp"
#include "tailor/text/file_reading.hpp"
#include "tailor/text/unicode.hpp"

namespace tailor::text {

/// What happens to a text whose tokens (with start and end markers) exceed the context.
enum class overflow_policy {
    truncate,  ///< keep the first context_length - 1 ids and end with end-of-text
    error,     ///< throw argument_error naming the text
};

/// How decode treats the markers.
enum class decode_mode {
    verbatim,   ///< every id, markers and padding included (OpenAI's decode)
    text_only,  ///< drop start-of-text, stop at the first end-of-text (padding never shows)
};

namespace detail {

/// GPT-2's bytes_to_unicode, as an ordered list: entry k is (byte, character). The 188
/// printable bytes map to themselves and come first; the other 68 map to U+0100 onwards.
/// Token ids 0..255 of the CLIP vocabulary follow this order.
inline std::array<std::pair<unsigned char, char32_t>, 256> byte_characters()
{
    std::array<std::pair<unsigned char, char32_t>, 256> order{};
    std::array<bool, 256> printable{};
    std::size_t k = 0;
    for (unsigned b = 0; b < 256; ++b) {
        printable[b] = (b >= U'!' && b <= U'~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        if (printable[b]) order[k++] = {static_cast<unsigned char>(b), static_cast<char32_t>(b)};
    }
    char32_t shifted = 0x100;
    for (unsigned b = 0; b < 256; ++b)
        if (!printable[b]) order[k++] = {static_cast<unsigned char>(b), shifted++};
    return order;
}

inline constexpr std::string_view end_of_word = "</w>";
inline constexpr std::string_view start_of_text_token = "<|startoftext|>";
inline constexpr std::string_view end_of_text_token = "<|endoftext|>";

/// Case-insensitive match of a lower-case ASCII letter or symbol, as the `regex` module
/// matches the pattern's literals under IGNORECASE (ſ U+017F folds to s).
inline bool folds_to(char32_t c, char ascii)
{
    const auto a = static_cast<char32_t>(static_cast<unsigned char>(ascii));
    if (c == a) return true;
    if (a >= U'a' && a <= U'z' && c == a - 32) return true;
    return a == U's' && c == 0x017F;
}

inline std::size_t match_literal(std::u32string_view text, std::size_t at, std::string_view literal)
{
    if (text.size() - at < literal.size()) return 0;
    for (std::size_t k = 0; k < literal.size(); ++k)
        if (!folds_to(text[at + k], literal[k])) return 0;
    return literal.size();
}

/// Calls visit(piece) for each match of CLIP's pre-tokenisation pattern
///   <|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
/// (case-insensitive), scanning as re.findall does: at each position the first alternative
/// that matches wins; whitespace that no alternative matches is skipped.
template <class Visit>
void for_each_piece(std::u32string_view text, Visit&& visit)
{
    static constexpr std::array<std::string_view, 9> literals = {
        start_of_text_token, end_of_text_token, "'s", "'t", "'re", "'ve", "'m", "'ll", "'d"};
    const std::size_t n = text.size();
    std::size_t i = 0;
    while (i < n) {
        std::size_t length = 0;
        for (auto literal : literals)
            if ((length = match_literal(text, i, literal)) != 0) break;
        if (length == 0) {
            const char32_t c = text[i];
            std::size_t end = i + 1;
            if (is_letter(c)) {
                while (end < n && is_letter(text[end])) ++end;
            } else if (is_number(c)) {
                // one digit per piece
            } else if (!is_space(c)) {
                while (end < n && !is_space(text[end]) && !is_letter(text[end]) && !is_number(text[end]))
                    ++end;
            } else {
                ++i;
                continue;
            }
            length = end - i;
        }
        visit(text.substr(i, length));
        i += length;
    }
}

inline std::uint64_t pair_key(std::int32_t left, std::int32_t right)
{
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(left)) << 32) |
           static_cast<std::uint32_t>(right);
}

struct merge_rule {
    std::int32_t rank;
    std::int32_t merged;
};

struct merge_line {
    std::string left;
    std::string right;
    std::size_t line;  // 1-based line in the file
};

/// Lines 2 .. merge_count + 1 of a merges file ("left right" per line; line 1 is a header).
/// A trailing newline is allowed; any other blank or malformed line is a parse_error.
inline std::vector<merge_line> parse_merges(std::string_view contents, std::size_t merge_count,
                                            std::string_view source)
{
    std::vector<merge_line> merges;
    std::size_t pos = contents.find('\n');
    if (pos == std::string_view::npos) return merges;  // a header alone: no merges
    std::size_t line = 1;
    ++pos;
    while (pos < contents.size() && merges.size() < merge_count) {
        ++line;
        std::size_t end = contents.find('\n', pos);
        if (end == std::string_view::npos) end = contents.size();
        const std::string_view text = contents.substr(pos, end - pos);
        pos = end + 1;
        std::vector<std::string_view> fields;
        std::size_t at = 0;
        while (at < text.size()) {
            while (at < text.size() && (text[at] == ' ' || text[at] == '\t' || text[at] == '\r')) ++at;
            std::size_t stop = at;
            while (stop < text.size() && text[stop] != ' ' && text[stop] != '\t' && text[stop] != '\r')
                ++stop;
            if (stop > at) fields.push_back(text.substr(at, stop - at));
            at = stop;
        }
        if (fields.empty() && end == contents.size()) break;  // after the final newline
        if (fields.size() != 2)
            throw parse_error(::tailor::detail::concat("tailor: ", source, " line ", line,
                                                       ": expected two symbols separated by a "
                                                       "space, received ",
                                                       fields.size(), " fields"));
        for (auto field : fields) {
            try {
                decode_utf8(field, "merge symbol");
            } catch (const argument_error&) {
                throw parse_error(::tailor::detail::concat("tailor: ", source, " line ", line,
                                                           ": a symbol is not valid UTF-8"));
            }
        }
        merges.push_back({std::string(fields[0]), std::string(fields[1]), line});
    }
    return merges;
}

/// Memoised word -> ids results shared by copies of one tokenizer.
struct bpe_cache {
    static constexpr std::size_t max_entries = 1 << 16;
    static constexpr std::size_t max_word_bytes = 256;
    std::mutex mutex;
    std::unordered_map<std::string, std::vector<std::int32_t>> words;
};

}  // namespace detail

/// CLIP's tokenizer: cleaning (see clip_clean), pre-tokenisation, byte-level BPE with `</w>`
/// word ends, start/end-of-text markers and a fixed context. Immutable after loading;
/// encode and decode are safe to call from several threads at once.
class clip_tokenizer {
public:
    /// Lines 1..48894 of OpenAI's merges file are used (vocabulary 256 + 256 + 48894 + 2).
    static constexpr std::size_t openai_merge_count = 48894;
    static constexpr index_t default_context_length = 77;

    /// OpenAI's `bpe_simple_vocab_16e6.txt.gz` (gzip or plain text): a header line, then
    /// one merge per line. The vocabulary is derived from the merges.
    static clip_tokenizer from_openai_bpe(const std::filesystem::path& path,
                                          std::size_t merge_count = openai_merge_count)
    {
        return from_openai_bpe_contents(detail::read_maybe_gzipped(path, "path"), merge_count,
                                        path.string());
    }

    /// The same from the file's (decompressed) contents.
    static clip_tokenizer from_openai_bpe_contents(std::string_view contents,
                                                   std::size_t merge_count = openai_merge_count,
                                                   std::string_view source = "merges")
    {
        const auto merges = detail::parse_merges(contents, merge_count, source);
        std::vector<std::string> tokens;
        tokens.reserve(512 + merges.size() + 2);
        const auto order = detail::byte_characters();
        for (const auto& entry : order) tokens.push_back(character_string(entry.second));
        for (const auto& entry : order)
            tokens.push_back(character_string(entry.second) + std::string(detail::end_of_word));
        for (const auto& merge : merges) tokens.push_back(merge.left + merge.right);
        tokens.emplace_back(detail::start_of_text_token);
        tokens.emplace_back(detail::end_of_text_token);
        clip_tokenizer result;
        result.tokens_ = std::move(tokens);
        // As Python's dict(zip(vocab, ids)): a repeated token keeps its last id.
        for (std::size_t id = 0; id < result.tokens_.size(); ++id)
            result.ids_[result.tokens_[id]] = static_cast<std::int32_t>(id);
        result.finish(merges, source);
        return result;
    }

    /// Hugging Face's `vocab.json` (token -> id) and `merges.txt`.
    static clip_tokenizer from_hugging_face(const std::filesystem::path& vocab_json,
                                            const std::filesystem::path& merges_txt,
                                            std::size_t merge_count = openai_merge_count)
    {
        return from_hugging_face_contents(detail::read_maybe_gzipped(vocab_json, "vocab_json"),
                                          detail::read_maybe_gzipped(merges_txt, "merges_txt"),
                                          merge_count);
    }

    static clip_tokenizer from_hugging_face_contents(std::string_view vocab_json,
                                                     std::string_view merges_txt,
                                                     std::size_t merge_count = openai_merge_count)
    {
        nlohmann::json vocab;
        try {
            vocab = nlohmann::json::parse(vocab_json);
        } catch (const nlohmann::json::exception& e) {
            throw parse_error(std::string("tailor: vocab.json is not valid JSON: ") + e.what());
        }
        if (!vocab.is_object())
            throw parse_error("tailor: vocab.json: expected an object of token -> id");
        clip_tokenizer result;
        const std::size_t size = vocab.size();
        result.tokens_.assign(size, std::string());
        std::vector<bool> seen(size, false);
        for (const auto& [token, id] : vocab.items()) {
            if (!id.is_number_integer() || id.get<std::int64_t>() < 0 ||
                id.get<std::int64_t>() >= static_cast<std::int64_t>(size))
                throw parse_error(::tailor::detail::concat(
                    "tailor: vocab.json: token '", token, "': expected an id in [0, ", size,
                    "), received ", id.dump()));
            const auto index = static_cast<std::size_t>(id.get<std::int64_t>());
            if (seen[index])
                throw parse_error(::tailor::detail::concat("tailor: vocab.json: id ", index,
                                                           " is used by both '", result.tokens_[index],
                                                           "' and '", token, "'"));
            seen[index] = true;
            result.tokens_[index] = token;
            result.ids_[token] = static_cast<std::int32_t>(index);
        }
        result.finish(detail::parse_merges(merges_txt, merge_count, "merges.txt"), "merges.txt");
        return result;
    }

    std::int32_t start_of_text() const noexcept { return start_of_text_; }
    std::int32_t end_of_text() const noexcept { return end_of_text_; }
    std::size_t vocabulary_size() const noexcept { return tokens_.size(); }
    std::size_t merge_count() const noexcept { return merges_.size(); }

    /// The id of a token in its byte-mapped spelling ("dog</w>"), if it has one.
    std::optional<std::int32_t> token_id(std::string_view token) const
    {
        const auto hit = ids_.find(std::string(token));
        if (hit == ids_.end()) return std::nullopt;
        return hit->second;
    }

    /// The byte-mapped spelling of a token id.
    const std::string& token(std::int32_t id) const
    {
        check_id(id);
        return tokens_[static_cast<std::size_t>(id)];
    }

    /// BPE ids of the cleaned text, without start/end markers.
    std::vector<std::int32_t> encode(std::string_view text) const
    {
        std::vector<std::int32_t> ids;
        const std::u32string cleaned = detail::clip_clean_code_points(text);
        std::string piece_bytes;
        detail::for_each_piece(cleaned, [&](std::u32string_view piece) {
            piece_bytes.clear();
            for (char32_t c : piece) detail::append_utf8(piece_bytes, c);
            if (piece_bytes == detail::start_of_text_token) ids.push_back(start_of_text_);
            else if (piece_bytes == detail::end_of_text_token) ids.push_back(end_of_text_);
            else append_word(piece_bytes, ids);
        });
        return ids;
    }

    /// The tokens of encode(text) in their byte-mapped spelling, e.g. {"a</w>", "dog</w>"}.
    std::vector<std::string> tokenize(std::string_view text) const
    {
        std::vector<std::string> out;
        for (std::int32_t id : encode(text)) out.push_back(tokens_[static_cast<std::size_t>(id)]);
        return out;
    }

    /// [start-of-text, encode(text)..., end-of-text] padded with 0 to `context_length`.
    std::vector<std::int32_t> encode_padded(std::string_view text,
                                            index_t context_length = default_context_length,
                                            overflow_policy overflow = overflow_policy::truncate) const
    {
        check_context_length(context_length);
        std::vector<std::int32_t> row(static_cast<std::size_t>(context_length), 0);
        fill_row(text, std::span<std::int32_t>(row), overflow, 0);
        return row;
    }

    /// One padded row per text: a [texts, context_length] tensor of `Int` (int32 or int64).
    template <class Int = std::int32_t, std::ranges::input_range Texts>
        requires std::convertible_to<std::ranges::range_reference_t<Texts>, std::string_view>
    tensor<Int, 2> encode_batch(const Texts& texts, index_t context_length = default_context_length,
                                overflow_policy overflow = overflow_policy::truncate) const
    {
        static_assert(std::is_integral_v<Int> && sizeof(Int) >= 4,
                      "token ids need a 32- or 64-bit integer type");
        check_context_length(context_length);
        std::vector<std::string_view> views;
        for (auto&& text : texts) views.emplace_back(text);
        tensor<Int, 2> out({static_cast<index_t>(views.size()), context_length});
        std::vector<std::int32_t> row(static_cast<std::size_t>(context_length));
        for (std::size_t k = 0; k < views.size(); ++k) {
            std::fill(row.begin(), row.end(), 0);
            fill_row(views[k], std::span<std::int32_t>(row), overflow, k);
            std::copy(row.begin(), row.end(), out.data() + k * static_cast<std::size_t>(context_length));
        }
        return out;
    }

    /// encode_batch({"a photo of a dog.", "a photo of a cat."}).
    template <class Int = std::int32_t>
    tensor<Int, 2> encode_batch(std::initializer_list<std::string_view> texts,
                                index_t context_length = default_context_length,
                                overflow_policy overflow = overflow_policy::truncate) const
    {
        return encode_batch<Int>(std::span<const std::string_view>(texts.begin(), texts.size()),
                                 context_length, overflow);
    }

    /// Text of `ids`: tokens concatenated, bytes restored, `</w>` read as a space; byte
    /// sequences that are not UTF-8 (ids that split a character) become U+FFFD.
    std::string decode(std::span<const std::int32_t> ids, decode_mode mode = decode_mode::verbatim) const
    {
        return decode_ids(ids, mode);
    }
    std::string decode(std::span<const std::int64_t> ids, decode_mode mode = decode_mode::verbatim) const
    {
        return decode_ids(ids, mode);
    }

private:
    clip_tokenizer() : cache_(std::make_shared<detail::bpe_cache>()) {}

    static std::string character_string(char32_t c)
    {
        std::string s;
        detail::append_utf8(s, c);
        return s;
    }

    /// Resolves byte and marker ids, builds the merge table and the decode bytes.
    void finish(const std::vector<detail::merge_line>& merges, std::string_view source)
    {
        const auto order = detail::byte_characters();
        std::array<char32_t, 256> character_of{};
        for (const auto& [byte, character] : order) character_of[byte] = character;
        for (unsigned b = 0; b < 256; ++b) {
            const std::string single = character_string(character_of[b]);
            byte_id_[b] = required_id(single, source);
            byte_end_id_[b] = required_id(single + std::string(detail::end_of_word), source);
        }
        start_of_text_ = required_id(detail::start_of_text_token, source);
        end_of_text_ = required_id(detail::end_of_text_token, source);

        for (std::size_t rank = 0; rank < merges.size(); ++rank) {
            const auto& m = merges[rank];
            const auto left = ids_.find(m.left);
            const auto right = ids_.find(m.right);
            if (left == ids_.end() || right == ids_.end()) continue;  // can never apply
            const auto merged = ids_.find(m.left + m.right);
            if (merged == ids_.end())
                throw parse_error(::tailor::detail::concat(
                    "tailor: ", source, " line ", m.line, ": the merge of '", m.left, "' and '",
                    m.right, "' is not in the vocabulary"));
            // As Python's dict(zip(merges, ranks)): a repeated merge keeps its last rank.
            merges_[detail::pair_key(left->second, right->second)] = {
                static_cast<std::int32_t>(rank), merged->second};
        }

        std::unordered_map<char32_t, unsigned char> byte_of;
        for (const auto& [byte, character] : order) byte_of[character] = byte;
        token_bytes_.resize(tokens_.size());
        for (std::size_t id = 0; id < tokens_.size(); ++id) {
            std::u32string characters;
            try {
                characters = detail::decode_utf8(tokens_[id], "token");
            } catch (const argument_error&) {
                throw parse_error(::tailor::detail::concat("tailor: ", source, ": token ", id,
                                                           " is not valid UTF-8"));
            }
            std::string bytes;
            for (char32_t c : characters) {
                if (const auto hit = byte_of.find(c); hit != byte_of.end()) bytes += static_cast<char>(hit->second);
                else detail::append_utf8(bytes, c);
            }
            token_bytes_[id] = std::move(bytes);
        }
    }

    std::int32_t required_id(std::string_view token, std::string_view source) const
    {
        const auto hit = ids_.find(std::string(token));
        if (hit == ids_.end())
            throw parse_error(::tailor::detail::concat("tailor: ", source,
                                                       ": the vocabulary lacks the token '",
                                                       token, "'"));
        return hit->second;
    }

    void check_id(std::int64_t id) const
    {
        if (id < 0 || id >= static_cast<std::int64_t>(tokens_.size()))
            throw index_error(::tailor::detail::describe(
                "ids", ::tailor::detail::concat("token ids in [0, ", tokens_.size(), ")"), id));
    }

    static void check_context_length(index_t context_length)
    {
        ::tailor::detail::require(context_length >= 2, "context_length",
                                  ">= 2 (room for the start and end markers)", context_length);
    }

    void fill_row(std::string_view text, std::span<std::int32_t> row, overflow_policy overflow,
                  std::size_t index) const
    {
        const std::vector<std::int32_t> ids = encode(text);
        const std::size_t needed = ids.size() + 2;
        if (needed > row.size() && overflow == overflow_policy::error)
            throw argument_error(::tailor::detail::concat(
                "tailor: argument 'texts': text ", index, " needs ", needed,
                " tokens with its markers, more than context_length ", row.size()));
        row[0] = start_of_text_;
        const std::size_t kept = std::min(ids.size(), row.size() - 2);
        std::copy_n(ids.begin(), kept, row.begin() + 1);
        row[kept + 1] = end_of_text_;
    }

    template <class Int>
    std::string decode_ids(std::span<const Int> ids, decode_mode mode) const
    {
        std::string bytes;
        for (const Int id : ids) {
            check_id(static_cast<std::int64_t>(id));
            if (mode == decode_mode::text_only) {
                if (id == end_of_text_) break;
                if (id == start_of_text_) continue;
            }
            bytes += token_bytes_[static_cast<std::size_t>(id)];
        }
        std::string text = detail::replace_invalid_utf8(bytes);
        std::string out;
        out.reserve(text.size());
        for (std::size_t at = 0; at < text.size();) {
            if (text.compare(at, detail::end_of_word.size(), detail::end_of_word) == 0) {
                out += ' ';
                at += detail::end_of_word.size();
            } else {
                out += text[at++];
            }
        }
        return out;
    }

    /// Byte-level BPE of one pre-token: merges the lowest-ranked adjacent pair, every
    /// non-overlapping occurrence left to right, until no pair has a rank (exactly the
    /// reference loop), in O(n log n) with a heap of candidate pairs.
    void append_word(std::string_view word, std::vector<std::int32_t>& out) const
    {
        const bool cacheable = word.size() <= detail::bpe_cache::max_word_bytes;
        if (cacheable) {
            std::lock_guard lock(cache_->mutex);
            if (const auto hit = cache_->words.find(std::string(word)); hit != cache_->words.end()) {
                out.insert(out.end(), hit->second.begin(), hit->second.end());
                return;
            }
        }
        const std::size_t n = word.size();
        std::vector<std::int32_t> symbol(n);
        std::vector<std::size_t> next(n), previous(n);
        for (std::size_t i = 0; i < n; ++i) {
            const auto byte = static_cast<unsigned char>(word[i]);
            symbol[i] = i + 1 < n ? byte_id_[byte] : byte_end_id_[byte];
            next[i] = i + 1;            // n: none
            previous[i] = i == 0 ? n : i - 1;  // n: none
        }
        struct candidate {
            std::int32_t rank;
            std::size_t position;
            std::int32_t left;
            std::int32_t right;
            std::int32_t merged;
            bool operator>(const candidate& other) const
            {
                return rank != other.rank ? rank > other.rank : position > other.position;
            }
        };
        std::priority_queue<candidate, std::vector<candidate>, std::greater<>> queue;
        auto consider = [&](std::size_t position) {
            if (position >= n || next[position] >= n) return;
            const std::int32_t left = symbol[position], right = symbol[next[position]];
            const auto rule = merges_.find(detail::pair_key(left, right));
            if (rule != merges_.end())
                queue.push({rule->second.rank, position, left, right, rule->second.merged});
        };
        for (std::size_t i = 0; i + 1 < n; ++i) consider(i);

        std::vector<candidate> batch;
        std::vector<std::size_t> touched;
        while (!queue.empty()) {
            // All occurrences of one pair merge before any pair the merges create.
            const std::int32_t rank = queue.top().rank;
            batch.clear();
            while (!queue.empty() && queue.top().rank == rank) {
                batch.push_back(queue.top());
                queue.pop();
            }
            touched.clear();
            for (const candidate& c : batch) {
                const std::size_t p = c.position, q = next[p];
                if (symbol[p] != c.left || q >= n || symbol[q] != c.right) continue;  // stale
                symbol[p] = c.merged;
                symbol[q] = -1;
                next[p] = next[q];
                if (next[q] < n) previous[next[q]] = p;
                touched.push_back(p);
            }
            for (std::size_t p : touched) {
                if (symbol[p] < 0) continue;
                consider(previous[p]);
                consider(p);
            }
        }
        const std::size_t first = out.size();
        for (std::size_t i = 0; i < n; i = next[i]) out.push_back(symbol[i]);
        if (cacheable) {
            std::lock_guard lock(cache_->mutex);
            if (cache_->words.size() >= detail::bpe_cache::max_entries) cache_->words.clear();
            cache_->words.emplace(std::string(word),
                                  std::vector<std::int32_t>(out.begin() + static_cast<std::ptrdiff_t>(first), out.end()));
        }
    }

    std::vector<std::string> tokens_;                      // id -> byte-mapped spelling
    std::vector<std::string> token_bytes_;                 // id -> raw bytes
    std::unordered_map<std::string, std::int32_t> ids_;    // spelling -> id
    std::unordered_map<std::uint64_t, detail::merge_rule> merges_;
    std::array<std::int32_t, 256> byte_id_{};
    std::array<std::int32_t, 256> byte_end_id_{};
    std::int32_t start_of_text_ = 0;
    std::int32_t end_of_text_ = 0;
    std::shared_ptr<detail::bpe_cache> cache_;
};

}  // namespace tailor::text
