#pragma once
// UTF-8 and Unicode helpers of the text room, over utf8proc (decoding, categories, case
// mapping, normalisation). The tokenizer reproduces Python's string semantics, so where
// Python and utf8proc differ (full lower-casing of U+0130, the final sigma, str.isspace)
// the difference is made up here and named.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include <utf8proc.h>

#include "tailor/core/error.hpp"

namespace tailor::text::detail {

using ::tailor::detail::concat;

/// Decodes strict UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
/// Throws `argument_error` naming `argument` and the byte offset of the first bad sequence.
inline std::u32string decode_utf8(std::string_view bytes, std::string_view argument = "text")
{
    std::u32string out;
    out.reserve(bytes.size());
    const auto* data = reinterpret_cast<const utf8proc_uint8_t*>(bytes.data());
    const auto size = static_cast<utf8proc_ssize_t>(bytes.size());
    for (utf8proc_ssize_t at = 0; at < size;) {
        utf8proc_int32_t code_point = 0;
        const utf8proc_ssize_t length = utf8proc_iterate(data + at, size - at, &code_point);
        if (length <= 0 || code_point < 0)
            throw argument_error(concat("tailor: argument '", argument,
                                        "': expected valid UTF-8, received an invalid byte "
                                        "sequence at byte offset ",
                                        at));
        out.push_back(static_cast<char32_t>(code_point));
        at += length;
    }
    return out;
}

inline void append_utf8(std::string& out, char32_t code_point)
{
    utf8proc_uint8_t buffer[4];
    const auto length = utf8proc_encode_char(static_cast<utf8proc_int32_t>(code_point), buffer);
    out.append(reinterpret_cast<const char*>(buffer), static_cast<std::size_t>(length));
}

inline std::string encode_utf8(std::u32string_view text)
{
    std::string out;
    out.reserve(text.size());
    for (char32_t c : text) append_utf8(out, c);
    return out;
}

/// `bytes` as valid UTF-8: each maximal ill-formed subsequence becomes one U+FFFD, as
/// Python's bytes.decode("utf-8", errors="replace") does.
inline std::string replace_invalid_utf8(std::string_view bytes)
{
    std::string out;
    out.reserve(bytes.size());
    const std::size_t n = bytes.size();
    auto byte = [&bytes](std::size_t i) { return static_cast<unsigned char>(bytes[i]); };
    for (std::size_t i = 0; i < n;) {
        const unsigned lead = byte(i);
        std::size_t length = 0;
        unsigned low = 0x80, high = 0xBF;  // allowed range of the second byte
        if (lead < 0x80) length = 1;
        else if (lead >= 0xC2 && lead <= 0xDF) length = 2;
        else if (lead >= 0xE0 && lead <= 0xEF) {
            length = 3;
            if (lead == 0xE0) low = 0xA0;  // no overlong forms
            if (lead == 0xED) high = 0x9F;  // no surrogates
        } else if (lead >= 0xF0 && lead <= 0xF4) {
            length = 4;
            if (lead == 0xF0) low = 0x90;
            if (lead == 0xF4) high = 0x8F;  // nothing past U+10FFFF
        }
        if (length == 0) {  // a byte that never starts a sequence
            out += "\xEF\xBF\xBD";
            ++i;
            continue;
        }
        std::size_t valid = 1;
        while (valid < length && i + valid < n) {
            const unsigned next = byte(i + valid);
            const bool ok = valid == 1 ? (next >= low && next <= high) : (next >= 0x80 && next <= 0xBF);
            if (!ok) break;
            ++valid;
        }
        if (valid == length) out.append(bytes.substr(i, length));
        else out += "\xEF\xBF\xBD";
        i += valid;
    }
    return out;
}

inline utf8proc_category_t category(char32_t c)
{
    return utf8proc_category(static_cast<utf8proc_int32_t>(c));
}

/// \p{L}: Lu, Ll, Lt, Lm, Lo.
inline bool is_letter(char32_t c)
{
    const auto k = category(c);
    return k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO;
}

/// \p{N}: Nd, Nl, No.
inline bool is_number(char32_t c)
{
    const auto k = category(c);
    return k >= UTF8PROC_CATEGORY_ND && k <= UTF8PROC_CATEGORY_NO;
}

/// Python's str.isspace: bidirectional class WS, B or S, or general category Zs. (The
/// `regex` module's \s is the same set less U+001C..U+001F, which cleaning removes first.)
inline bool is_space(char32_t c)
{
    if (c > 0x10FFFF) return false;
    const auto* property = utf8proc_get_property(static_cast<utf8proc_int32_t>(c));
    const auto bidi = property->bidi_class;
    return bidi == UTF8PROC_BIDI_CLASS_WS || bidi == UTF8PROC_BIDI_CLASS_B ||
           bidi == UTF8PROC_BIDI_CLASS_S || property->category == UTF8PROC_CATEGORY_ZS;
}

/// Unicode's Cased property, approximated by the cased letter categories.
inline bool is_cased(char32_t c)
{
    const auto k = category(c);
    return k == UTF8PROC_CATEGORY_LU || k == UTF8PROC_CATEGORY_LL || k == UTF8PROC_CATEGORY_LT;
}

/// Unicode's Case_Ignorable property: marks, format characters, modifier letters and
/// symbols, and the word-internal punctuation of Word_Break MidLetter / MidNumLet /
/// Single_Quote.
inline bool is_case_ignorable(char32_t c)
{
    switch (category(c)) {
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_SK: return true;
    default: break;
    }
    switch (c) {
    case U'\'': case U'.': case U':': case 0x00B7: case 0x0387: case 0x055F: case 0x05F4:
    case 0x2018: case 0x2019: case 0x2024: case 0x2027: case 0xFE13: case 0xFE52:
    case 0xFE55: case 0xFF07: case 0xFF0E: case 0xFF1A: return true;
    default: return false;
    }
}

/// Python's str.lower(): utf8proc's simple lower-case mapping plus the two context-free /
/// contextual rules of SpecialCasing that Python applies (U+0130 -> "i" U+0307, and
/// capital sigma -> final sigma at the end of a word).
inline std::u32string python_lower(std::u32string_view text)
{
    std::u32string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char32_t c = text[i];
        if (c == 0x0130) {
            out += U'i';
            out += char32_t{0x0307};
        } else if (c == 0x03A3) {
            std::size_t before = i;
            while (before > 0 && is_case_ignorable(text[before - 1])) --before;
            bool final_sigma = before > 0 && is_cased(text[before - 1]);
            if (final_sigma) {
                std::size_t after = i + 1;
                while (after < text.size() && is_case_ignorable(text[after])) ++after;
                final_sigma = after == text.size() || !is_cased(text[after]);
            }
            out += final_sigma ? char32_t{0x03C2} : char32_t{0x03C3};
        } else {
            out += static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c)));
        }
    }
    return out;
}

/// Normalises `text` (NFC, or NFKC with `compatibility`) through utf8proc.
inline std::u32string normalize(std::u32string_view text, bool compatibility = false)
{
    // No character below U+0300 decomposes canonically or composes with a neighbour, so
    // such text is already NFC (the common case, skipped without a round trip).
    if (!compatibility && std::all_of(text.begin(), text.end(), [](char32_t c) { return c < 0x300; }))
        return std::u32string(text);
    const std::string utf8 = encode_utf8(text);
    utf8proc_uint8_t* mapped = nullptr;
    auto options = static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    if (compatibility) options = static_cast<utf8proc_option_t>(options | UTF8PROC_COMPAT);
    const utf8proc_ssize_t length =
        utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(utf8.data()),
                     static_cast<utf8proc_ssize_t>(utf8.size()), &mapped, options);
    std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owner(mapped, &std::free);
    if (length < 0)
        throw argument_error(concat("tailor: argument 'text': Unicode normalisation failed: ",
                                    utf8proc_errmsg(length)));
    return decode_utf8(std::string_view(reinterpret_cast<const char*>(mapped),
                                        static_cast<std::size_t>(length)));
}

}  // namespace tailor::text::detail
