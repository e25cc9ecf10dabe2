#pragma once
// The text cleaning of OpenAI's CLIP tokenizer (simple_tokenizer.py):
//     whitespace_clean(html.unescape(html.unescape(ftfy.fix_text(text))).strip()).lower()
// with ftfy.fix_text reproduced in part. See docs/tokenizer.md for what is and is not done.
#include <string>
#include <string_view>

#include "tailor/text/html_entities.hpp"
#include "tailor/text/unicode.hpp"

namespace tailor::text {
namespace detail {

/// ftfy's remove_control_chars set.
inline bool is_ftfy_control(char32_t c)
{
    return c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F ||
           (c >= 0x206A && c <= 0x206F) || c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC);
}

/// ftfy's fix_latin_ligatures set; each is replaced by its NFKC form.
inline bool is_ftfy_ligature(char32_t c)
{
    return c == 0x0132 || c == 0x0133 || c == 0x0149 || (c >= 0x01C4 && c <= 0x01CC) ||
           (c >= 0x01F1 && c <= 0x01F3) || (c >= 0xFB00 && c <= 0xFB06);
}

/// One pass of ftfy's per-segment fixes, in ftfy's order, without the mojibake repair
/// (fix_encoding) and without fix_line_breaks / fix_surrogates (no effect here: line
/// breaks are whitespace to the tokenizer, and UTF-8 input has no surrogates).
inline std::u32string ftfy_pass(std::u32string_view segment, bool unescape_html)
{
    std::u32string text = unescape_html ? ftfy_html_unescape(segment) : std::u32string(segment);
    // fix_c1_controls (C1 controls are Windows-1252 bytes decoded as Latin-1), then
    // fix_latin_ligatures and fix_character_width (the character's NFKC form).
    std::u32string widened;
    widened.reserve(text.size());
    for (char32_t c : text) {
        if (c >= 0x80 && c <= 0x9F) c = numeric_reference(c)[0];
        if (is_ftfy_ligature(c) || (c >= 0xFF01 && c <= 0xFFEF)) widened += normalize(std::u32string(1, c), true);
        else widened += c == 0x3000 ? U' ' : c;
    }
    // uncurl_quotes
    std::u32string fixed;
    fixed.reserve(widened.size());
    for (char32_t c : widened) {
        if (c == 0x02BC || (c >= 0x2018 && c <= 0x201B)) c = U'\'';
        if (c >= 0x201C && c <= 0x201F) c = U'"';
        fixed += c;
    }
    // remove_terminal_escapes (ESC [ [0-9;]* letter), then remove_control_chars.
    std::u32string kept;
    kept.reserve(fixed.size());
    for (std::size_t i = 0; i < fixed.size(); ++i) {
        if (fixed[i] == 0x1B && i + 1 < fixed.size() && fixed[i + 1] == U'[') {
            std::size_t at = i + 2;
            while (at < fixed.size() && (is_ascii_digit(fixed[at]) || fixed[at] == U';')) ++at;
            const char32_t last = at < fixed.size() ? fixed[at] : 0;
            if ((last >= U'a' && last <= U'z') || (last >= U'A' && last <= U'Z')) {
                i = at;
                continue;
            }
        }
        if (!is_ftfy_control(fixed[i])) kept += fixed[i];
    }
    return normalize(kept);
}

/// ftfy.fix_text's structure: segments end after each '\n'; HTML is unescaped only until
/// the first segment holding a '<' (ftfy's unescape_html="auto"); each segment is fixed
/// until it stops changing.
/// Passes of ftfy's fix loop per segment: enough for entities escaped 30 levels deep.
inline constexpr int max_ftfy_passes = 32;

inline std::u32string ftfy_fix_text(std::u32string_view text)
{
    std::u32string out;
    out.reserve(text.size());
    bool unescape_html = true;
    std::size_t pos = 0;
    while (pos < text.size()) {
        const std::size_t newline = text.find(U'\n', pos);
        const std::size_t end = newline == std::u32string_view::npos ? text.size() : newline + 1;
        std::u32string segment(text.substr(pos, end - pos));
        if (segment.find(U'<') != std::u32string::npos) unescape_html = false;
        // Every pass that changes the text after the first shortens it, so ftfy's loop
        // ends; a cap keeps deeply nested escapes (&amp;amp;amp;...) from costing O(n^2).
        for (int pass = 0; pass < max_ftfy_passes; ++pass) {
            std::u32string next = ftfy_pass(segment, unescape_html);
            if (next == segment) break;
            segment = std::move(next);
        }
        out += segment;
        pos = end;
    }
    return out;
}

/// Strips and collapses every run of whitespace (Python's str.isspace) to one space.
inline std::u32string collapse_whitespace(std::u32string_view text)
{
    std::u32string out;
    out.reserve(text.size());
    bool pending_space = false;
    for (char32_t c : text) {
        if (is_space(c)) {
            pending_space = !out.empty();
            continue;
        }
        if (pending_space) out += U' ';
        pending_space = false;
        out += c;
    }
    return out;
}

/// The cleaned, lower-cased text as code points (what the pre-tokeniser reads).
inline std::u32string clip_clean_code_points(std::string_view utf8)
{
    const std::u32string decoded = decode_utf8(utf8, "text");
    const std::u32string fixed = ftfy_fix_text(decoded);
    const std::u32string unescaped = python_html_unescape(python_html_unescape(fixed));
    return python_lower(collapse_whitespace(unescaped));
}

}  // namespace detail

/// CLIP's text cleaning: ftfy-style fixes (see docs/tokenizer.md), HTML unescaping
/// (twice, as OpenAI's tokenizer), whitespace collapsed to single spaces and stripped,
/// lower case. Throws `argument_error` on invalid UTF-8.
inline std::string clip_clean(std::string_view text)
{
    return detail::encode_utf8(detail::clip_clean_code_points(text));
}

}  // namespace tailor::text
