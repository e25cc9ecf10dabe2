#pragma once
// HTML character references, decoded the way Python's html.unescape and ftfy's
// unescape_html do, over a fixed table of named entities: every legacy entity (the ones
// HTML 5 also accepts without a semicolon: the Latin-1 set and amp/lt/gt/quot with their
// upper-case forms), apos, and HTML 4's special and common symbol entities. Other HTML 5
// names (&alpha;, &check;, ...) stay as written. Numeric references are decoded in full.
#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include <utf8proc.h>

#include "tailor/text/unicode.hpp"

namespace tailor::text::detail {

struct named_entity {
    std::string_view name;
    char32_t value;
};

/// Names of U+00A0..U+00FF in code-point order (HTML 4 Latin-1 entities, all legacy).
inline constexpr std::array<std::string_view, 96> latin1_entity_names = {
    "nbsp",   "iexcl",  "cent",   "pound",  "curren", "yen",    "brvbar", "sect",
    "uml",    "copy",   "ordf",   "laquo",  "not",    "shy",    "reg",    "macr",
    "deg",    "plusmn", "sup2",   "sup3",   "acute",  "micro",  "para",   "middot",
    "cedil",  "sup1",   "ordm",   "raquo",  "frac14", "frac12", "frac34", "iquest",
    "Agrave", "Aacute", "Acirc",  "Atilde", "Auml",   "Aring",  "AElig",  "Ccedil",
    "Egrave", "Eacute", "Ecirc",  "Euml",   "Igrave", "Iacute", "Icirc",  "Iuml",
    "ETH",    "Ntilde", "Ograve", "Oacute", "Ocirc",  "Otilde", "Ouml",   "times",
    "Oslash", "Ugrave", "Uacute", "Ucirc",  "Uuml",   "Yacute", "THORN",  "szlig",
    "agrave", "aacute", "acirc",  "atilde", "auml",   "aring",  "aelig",  "ccedil",
    "egrave", "eacute", "ecirc",  "euml",   "igrave", "iacute", "icirc",  "iuml",
    "eth",    "ntilde", "ograve", "oacute", "ocirc",  "otilde", "ouml",   "divide",
    "oslash", "ugrave", "uacute", "ucirc",  "uuml",   "yacute", "thorn",  "yuml"};

/// Legacy entities outside Latin-1 (also valid without a semicolon).
inline constexpr std::array<named_entity, 10> legacy_basic_entities = {{
    {"quot", U'"'}, {"amp", U'&'}, {"lt", U'<'}, {"gt", U'>'},
    {"QUOT", U'"'}, {"AMP", U'&'}, {"LT", U'<'}, {"GT", U'>'},
    {"COPY", 0x00A9}, {"REG", 0x00AE},
}};

/// Entities that need their semicolon.
inline constexpr std::array<named_entity, 47> semicolon_entities = {{
    {"apos", U'\''},   {"OElig", 0x0152},  {"oelig", 0x0153},  {"Scaron", 0x0160},
    {"scaron", 0x0161}, {"Yuml", 0x0178},  {"fnof", 0x0192},   {"circ", 0x02C6},
    {"tilde", 0x02DC}, {"ensp", 0x2002},   {"emsp", 0x2003},   {"thinsp", 0x2009},
    {"zwnj", 0x200C},  {"zwj", 0x200D},    {"lrm", 0x200E},    {"rlm", 0x200F},
    {"ndash", 0x2013}, {"mdash", 0x2014},  {"lsquo", 0x2018},  {"rsquo", 0x2019},
    {"sbquo", 0x201A}, {"ldquo", 0x201C},  {"rdquo", 0x201D},  {"bdquo", 0x201E},
    {"dagger", 0x2020}, {"Dagger", 0x2021}, {"bull", 0x2022},  {"hellip", 0x2026},
    {"permil", 0x2030}, {"prime", 0x2032}, {"Prime", 0x2033},  {"lsaquo", 0x2039},
    {"rsaquo", 0x203A}, {"oline", 0x203E}, {"euro", 0x20AC},   {"trade", 0x2122},
    {"TRADE", 0x2122}, {"larr", 0x2190},   {"uarr", 0x2191},   {"rarr", 0x2192},
    {"darr", 0x2193},  {"harr", 0x2194},   {"minus", 0x2212},  {"le", 0x2264},
    {"ge", 0x2265},    {"ne", 0x2260},     {"infin", 0x221E},
}};

/// Python's str.upper() of one character, as ftfy uses it for all-caps entity names.
inline std::u32string python_upper(char32_t c)
{
    if (c == 0x00DF) return U"SS";
    return std::u32string(1, static_cast<char32_t>(utf8proc_toupper(static_cast<utf8proc_int32_t>(c))));
}

struct entity_tables {
    /// "name;" and, for legacy names, "name" -> character (Python's html5 dictionary).
    std::unordered_map<std::string, char32_t> python;
    /// "&name;" and ftfy's "&NAME;" forms of all-lower-case names -> replacement.
    std::unordered_map<std::string, std::u32string> ftfy;
};

inline const entity_tables& html_entity_tables()
{
    static const entity_tables tables = [] {
        entity_tables t;
        auto add = [&t](std::string_view name, char32_t value, bool legacy) {
            const std::string key(name);
            t.python.emplace(key + ";", value);
            if (legacy) t.python.emplace(key, value);
            t.ftfy.emplace("&" + key + ";", std::u32string(1, value));
        };
        for (std::size_t i = 0; i < latin1_entity_names.size(); ++i)
            add(latin1_entity_names[i], static_cast<char32_t>(0xA0 + i), true);
        for (const auto& e : legacy_basic_entities) add(e.name, e.value, true);
        for (const auto& e : semicolon_entities) add(e.name, e.value, false);
        // ftfy also decodes the all-caps spelling of a lower-case name (&EACUTE; -> É)
        // unless that spelling is an entity of its own (which then keeps its own value).
        auto add_upper = [&t](std::string_view name, char32_t value) {
            bool lower = true;
            for (char c : name) lower = lower && !(c >= 'A' && c <= 'Z');
            if (!lower) return;
            std::string upper = "&";
            for (char c : name) upper += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
            t.ftfy.emplace(upper + ";", python_upper(value));
        };
        for (std::size_t i = 0; i < latin1_entity_names.size(); ++i)
            add_upper(latin1_entity_names[i], static_cast<char32_t>(0xA0 + i));
        for (const auto& e : legacy_basic_entities) add_upper(e.name, e.value);
        for (const auto& e : semicolon_entities) add_upper(e.name, e.value);
        return t;
    }();
    return tables;
}

inline bool is_ascii_digit(char32_t c) { return c >= U'0' && c <= U'9'; }
inline bool is_ascii_hex_digit(char32_t c)
{
    return is_ascii_digit(c) || (c >= U'a' && c <= U'f') || (c >= U'A' && c <= U'F');
}
inline bool is_ascii_alnum(char32_t c)
{
    return is_ascii_digit(c) || (c >= U'a' && c <= U'z') || (c >= U'A' && c <= U'Z');
}

/// Python's html._replace_charref for a numeric reference with value `number` (saturated).
inline std::u32string numeric_reference(std::uint64_t number)
{
    // Windows-1252 for 0x80..0x9F (undefined bytes stay as the C1 control), as HTML 5 says.
    static constexpr std::array<char32_t, 32> windows_1252 = {
        0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
        0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
        0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
        0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178};
    if (number == 0x00) return U"\uFFFD";
    if (number == 0x0D) return U"\r";
    if (number >= 0x80 && number <= 0x9F) return std::u32string(1, windows_1252[number - 0x80]);
    if ((number >= 0xD800 && number <= 0xDFFF) || number > 0x10FFFF) return U"\uFFFD";
    // Python's _invalid_codepoints decode to nothing.
    if ((number >= 0x01 && number <= 0x08) || number == 0x0B || (number >= 0x0E && number <= 0x1F) ||
        (number >= 0x7F && number <= 0x9F) || (number >= 0xFDD0 && number <= 0xFDEF) ||
        (number & 0xFFFE) == 0xFFFE)
        return U"";
    return std::u32string(1, static_cast<char32_t>(number));
}

/// Python's html.unescape(text), over the entity table above.
inline std::u32string python_html_unescape(std::u32string_view text)
{
    if (text.find(U'&') == std::u32string_view::npos) return std::u32string(text);
    const auto& names = html_entity_tables().python;
    std::u32string out;
    out.reserve(text.size());
    const std::size_t n = text.size();
    std::size_t i = 0;
    while (i < n) {
        if (text[i] != U'&') {
            out += text[i++];
            continue;
        }
        const std::size_t start = i + 1;
        if (start < n && text[start] == U'#') {
            // &#[0-9]+;?  or  &#[xX][0-9a-fA-F]+;?
            std::size_t at = start + 1;
            int base = 10;
            if (at < n && !is_ascii_digit(text[at]) && (text[at] == U'x' || text[at] == U'X') &&
                at + 1 < n && is_ascii_hex_digit(text[at + 1])) {
                base = 16;
                ++at;
            }
            const std::size_t digits_begin = at;
            std::uint64_t number = 0;
            while (at < n && (base == 10 ? is_ascii_digit(text[at]) : is_ascii_hex_digit(text[at]))) {
                const char32_t c = text[at];
                const unsigned digit = is_ascii_digit(c) ? c - U'0' : (c | 0x20) - U'a' + 10;
                number = std::min<std::uint64_t>(number * static_cast<unsigned>(base) + digit,
                                                 0x7FFFFFFF);  // saturates past U+10FFFF
                ++at;
            }
            if (at == digits_begin) {  // no reference: a literal '&'
                out += U'&';
                ++i;
                continue;
            }
            if (at < n && text[at] == U';') ++at;
            out += numeric_reference(number);
            i = at;
            continue;
        }
        // [^\t\n\f <&#;]{1,32};?
        std::size_t at = start;
        while (at < n && at - start < 32) {
            const char32_t c = text[at];
            if (c == U'\t' || c == U'\n' || c == U'\f' || c == U' ' || c == U'<' || c == U'&' ||
                c == U'#' || c == U';')
                break;
            ++at;
        }
        if (at == start) {
            out += U'&';
            ++i;
            continue;
        }
        if (at < n && text[at] == U';') ++at;
        const std::u32string_view reference = text.substr(start, at - start);
        // Entity names are ASCII; a reference with anything else matches no name.
        std::string ascii;
        for (char32_t c : reference) {
            if (c >= 0x80) break;
            ascii += static_cast<char>(c);
        }
        if (ascii.size() == reference.size()) {
            if (const auto hit = names.find(ascii); hit != names.end()) {
                out += hit->second;
                i = at;
                continue;
            }
        }
        // The longest legacy name that prefixes the reference (never the whole of it).
        bool replaced = false;
        for (std::size_t length = std::min(ascii.size(), reference.size() - 1); length >= 2; --length) {
            if (const auto hit = names.find(ascii.substr(0, length)); hit != names.end()) {
                out += hit->second;
                out += reference.substr(length);
                replaced = true;
                break;
            }
        }
        if (!replaced) {
            out += U'&';
            out += reference;
        }
        i = at;
    }
    return out;
}

/// ftfy's unescape_html: only references of the form &#?[0-9A-Za-z]{1,24}; are decoded;
/// named ones from the table (plus all-caps spellings), numeric ones only when Python
/// consumes the whole reference.
inline std::u32string ftfy_html_unescape(std::u32string_view text)
{
    if (text.find(U'&') == std::u32string_view::npos) return std::u32string(text);
    const auto& names = html_entity_tables().ftfy;
    std::u32string out;
    out.reserve(text.size());
    const std::size_t n = text.size();
    std::size_t i = 0;
    while (i < n) {
        if (text[i] != U'&') {
            out += text[i++];
            continue;
        }
        std::size_t at = i + 1;
        if (at < n && text[at] == U'#') ++at;
        const std::size_t run_begin = at;
        while (at < n && is_ascii_alnum(text[at])) ++at;
        const std::size_t run = at - run_begin;
        if (run < 1 || run > 24 || at >= n || text[at] != U';') {
            out += text[i++];
            continue;
        }
        ++at;  // the semicolon
        const std::u32string_view reference = text.substr(i, at - i);
        std::string ascii;
        for (char32_t c : reference) ascii += static_cast<char>(c);
        if (const auto hit = names.find(ascii); hit != names.end()) {
            out += hit->second;
        } else if (reference[1] == U'#') {
            const std::u32string decoded = python_html_unescape(reference);
            out += decoded.find(U';') == std::u32string::npos ? decoded : std::u32string(reference);
        } else {
            out += reference;
        }
        i = at;
    }
    return out;
}

}  // namespace tailor::text::detail
