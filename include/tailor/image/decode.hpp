#pragma once
// Image decoding through stb_image (Debian's libstb: the declarations from <stb_image.h>,
// the implementation in libstb.so, target tailor::image): PNG, JPEG (baseline and
// progressive), BMP, GIF (first frame), TGA, PSD (composite), HDR (tone-mapped to 8 bits),
// PIC and PNM, always to 8-bit RGB. stb's own conversion to 3 channels is PIL's
// convert("RGB"): gray is replicated, alpha is dropped (not composited), palettes are
// looked up. Dimensions are read from the header and checked against decode_limits before
// the decoder allocates anything.
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <stb_image.h>

#include "tailor/image/image.hpp"
#include "tailor/image/preprocess.hpp"

namespace tailor::image {

/// Largest images decode accepts; checked on the header, before decoding.
struct decode_limits {
    index_t max_side = index_t{1} << 16;     ///< per dimension (JPEG's own limit is 65535)
    index_t max_pixels = index_t{1} << 28;   ///< width x height: 256 Mi pixels, 768 MiB as RGB
};

/// What a file's header says, without decoding it.
struct image_info {
    index_t height = 0, width = 0;
    index_t channels = 0;  ///< in the file: 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA
};

namespace detail {

inline const char* stb_reason()
{
    const char* reason = stbi_failure_reason();
    return reason != nullptr ? reason : "unknown failure";
}

[[noreturn]] inline void fail_decode(std::string_view source, std::string_view why)
{
    ::tailor::detail::fail<parse_error>(
        "image", "a PNG, JPEG, BMP, GIF, TGA, PSD, HDR, PIC or PNM image",
        ::tailor::detail::concat("'", source, "' (", why, ")"));
}

/// Refuses two JPEG defects stb_image 2.27 (Debian's libstb, 2022) does not survive, both
/// found by fuzz/fuzz_image.cpp: a DHT table declaring more than 256 codes (stb writes past
/// its 257-entry size list and 256-entry value list; later stb versions check it), and a
/// scan decoding with a Huffman table no DHT has defined (stb's decoder then indexes past
/// its code-length tables). The walk visits every marker stb can reach, stepping over
/// segment payloads by their length and over entropy-coded data byte by byte, so it sees
/// each DHT and SOS stb would read, in stb's order.
inline void require_sane_jpeg_tables(std::span<const std::byte> bytes, std::string_view source)
{
    using ::tailor::detail::concat;
    const std::size_t n = bytes.size();
    // Past the end of the data stb reads zeros.
    const auto at = [&](std::size_t i) { return i < n ? std::to_integer<unsigned>(bytes[i]) : 0u; };
    // stb takes FF+ D8 as the start (fill bytes may precede SOI); anything else is no JPEG.
    std::size_t pos = 0;
    while (pos < n && at(pos) == 0xFF) ++pos;
    if (pos == 0 || pos >= n || at(pos) != 0xD8) return;
    ++pos;
    bool progressive = false;
    unsigned defined[2] = {0, 0};  // bit th set once DHT defines table th of class DC (0), AC (1)
    while (pos < n) {
        if (at(pos) != 0xFF) {
            ++pos;  // entropy-coded data, or junk stb also skips
            continue;
        }
        while (pos < n && at(pos) == 0xFF) ++pos;  // fill bytes
        if (pos >= n) return;
        const unsigned marker = at(pos++);
        // Stuffed zero, restart markers, SOI and TEM carry no length.
        if (marker == 0x00 || marker == 0x01 || marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7)) continue;
        if (marker == 0xD9 || pos + 2 > n) return;  // EOI, or no room for a length
        const std::size_t length = at(pos) << 8 | at(pos + 1);
        if (marker == 0xC0 || marker == 0xC1 || marker == 0xC2) progressive = marker == 0xC2;
        if (marker == 0xC4) {
            // stb's reading: while L > 0 { class << 4 | id, 16 counts, sum(counts) values }.
            std::size_t p = pos + 2;
            for (std::ptrdiff_t left = static_cast<std::ptrdiff_t>(length) - 2; left > 0 && p < n;) {
                const unsigned table_class = at(p) >> 4, id = at(p) & 15;
                if (table_class > 1 || id > 3) return;  // stb stops here ("bad DHT header")
                std::size_t codes = 0;
                for (std::size_t i = 1; i <= 16; ++i) codes += at(p + i);
                if (codes > 256) fail_decode(source, concat("a JPEG Huffman table with ", codes, " codes, more than 256"));
                defined[table_class] |= 1u << id;
                p += 17 + codes;
                left -= static_cast<std::ptrdiff_t>(17 + codes);
            }
        }
        if (marker == 0xDA) {
            // SOS: Ns, Ns x (component, DC table << 4 | AC table), Ss, Se, Ah << 4 | Al. A
            // progressive DC scan decodes Huffman codes only on its first pass (Ah = 0) and no
            // AC codes; an AC scan only AC codes; a sequential scan both.
            const std::size_t count = at(pos + 2), after = pos + 3 + 2 * count;
            const unsigned ss = at(after), ah = at(after + 2) >> 4;
            const bool dc = !progressive || (ss == 0 && ah == 0), ac = !progressive || ss != 0;
            for (std::size_t i = 0; i < count && i < 4; ++i) {
                const unsigned tables = at(pos + 4 + 2 * i), dc_id = tables >> 4, ac_id = tables & 15;
                if (dc_id > 3 || ac_id > 3) return;  // stb stops here ("bad DC huff" / "bad AC huff")
                if ((dc && !(defined[0] >> dc_id & 1u)) || (ac && !(defined[1] >> ac_id & 1u)))
                    fail_decode(source, "a JPEG scan using a Huffman table no DHT segment defines");
            }
        }
        pos += length;
    }
}

/// Refuses two binary PNM (P5, P6) inputs stb_image 2.27 mishandles: header numbers of more
/// than 9 digits, which it accumulates in an int without an overflow check (undefined
/// behaviour, found by fuzz/fuzz_image.cpp), and 16-bit samples (maximum value > 255), whose
/// big-endian bytes it reads in host order, keeping the low byte. The walk follows stb's
/// header reading: whitespace and # comments, then width, height and maximum value.
inline void require_sane_pnm_header(std::span<const std::byte> bytes, std::string_view source)
{
    const auto at = [&](std::size_t i) { return static_cast<char>(std::to_integer<unsigned>(bytes[i])); };
    const std::size_t n = bytes.size();
    if (n < 2 || at(0) != 'P' || (at(1) != '5' && at(1) != '6')) return;
    const auto space = [](char c) { return c == ' ' || (c >= '\t' && c <= '\r'); };
    std::size_t pos = 2;
    long value = 0;
    for (int number = 0; number < 3; ++number) {
        for (;;) {
            while (pos < n && space(at(pos))) ++pos;
            if (pos >= n || at(pos) != '#') break;
            while (pos < n && at(pos) != '\n' && at(pos) != '\r') ++pos;
        }
        std::size_t digits = 0;
        for (value = 0; pos < n && at(pos) >= '0' && at(pos) <= '9'; ++pos, ++digits) {
            if (digits == 9) fail_decode(source, "a PNM header number with more than 9 digits");
            value = value * 10 + (at(pos) - '0');
        }
    }
    if (value > 255)
        fail_decode(source, ::tailor::detail::concat("a 16-bit PNM (maximum value ", value,
                                                     "), which stb_image 2.27 reads byte-swapped"));
}

/// Refuses a PNG with a chunk longer than the bytes left: stb_image sizes its IDAT buffer
/// from the declared length before reading, so a 100-byte file can make it allocate 2 GiB
/// (found by fuzz/fuzz_image.cpp). stb would fail on such a file anyway, once the bytes run out.
inline void require_complete_png_chunks(std::span<const std::byte> bytes, std::string_view source)
{
    static constexpr unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    const auto at = [&](std::size_t i) { return std::to_integer<std::uint32_t>(bytes[i]); };
    const std::size_t n = bytes.size();
    if (n < 8 || std::memcmp(bytes.data(), signature, 8) != 0) return;
    // Chunks: u32 length, 4-byte type, data, u32 CRC; stb stops at IEND.
    for (std::size_t pos = 8; pos + 8 <= n;) {
        const std::size_t length = at(pos) << 24 | at(pos + 1) << 16 | at(pos + 2) << 8 | at(pos + 3);
        const std::string_view type(reinterpret_cast<const char*>(bytes.data()) + pos + 4, 4);
        if (type == "IEND") return;
        if (length > n - pos - 8)
            fail_decode(source, ::tailor::detail::concat("truncated: its ", type, " chunk declares ", length,
                                                         " bytes, ", n - pos - 8, " remain"));
        pos += 12 + length;
    }
}

inline image_info probe_checked(std::span<const std::byte> bytes, std::string_view source)
{
    if (bytes.empty()) fail_decode(source, "no bytes");
    // stb_image 2.27 mishandles these before any check of its own; see each guard.
    require_sane_jpeg_tables(bytes, source);
    require_sane_pnm_header(bytes, source);
    require_complete_png_chunks(bytes, source);
    // stb_image takes an int length.
    if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
        fail_decode(source, ::tailor::detail::concat(bytes.size(), " bytes, more than stb_image reads"));
    int w = 0, h = 0, c = 0;
    if (stbi_info_from_memory(reinterpret_cast<const stbi_uc*>(bytes.data()), static_cast<int>(bytes.size()), &w,
                              &h, &c) == 0)
        fail_decode(source, ::tailor::detail::concat("stb_image: ", stb_reason()));
    return {h, w, c};
}

inline void require_within(index_t height, index_t width, const decode_limits& limits, std::string_view source)
{
    using ::tailor::detail::concat;
    if (height < 1 || width < 1) fail_decode(source, concat("its header says ", width, " x ", height, " pixels"));
    if (width > limits.max_side || height > limits.max_side || width > limits.max_pixels / height)
        ::tailor::detail::fail<parse_error>(
            "image", concat("at most ", limits.max_side, " pixels a side and ", limits.max_pixels, " pixels (decode_limits)"),
            concat("'", source, "' of ", width, " x ", height, " pixels"));
}

}  // namespace detail

/// The header's size and channel count; throws parse_error if stb cannot read it.
inline image_info probe_image(std::span<const std::byte> bytes, std::string_view source = "memory")
{
    return detail::probe_checked(bytes, source);
}

/// Decodes an image held in memory into an [H, W, 3] RGB image. `source` names the bytes
/// in messages. Throws parse_error for bytes stb cannot decode (with stb's reason), for
/// empty input and for sizes beyond `limits`.
inline image8 decode_image(std::span<const std::byte> bytes, const decode_limits& limits = {},
                           std::string_view source = "memory")
{
    const image_info info = detail::probe_checked(bytes, source);
    detail::require_within(info.height, info.width, limits, source);
    // The file's own channel count (0 requested), converted here as stb would (gray
    // replicated, alpha dropped): stb 2.27's conversion code has had defects (its 16-bit PNM
    // path reads past its buffer, found by fuzz/fuzz_image.cpp), this loop is plain.
    int w = 0, h = 0, c = 0;
    const std::unique_ptr<stbi_uc, decltype(&stbi_image_free)> pixels(
        stbi_load_from_memory(reinterpret_cast<const stbi_uc*>(bytes.data()), static_cast<int>(bytes.size()), &w, &h,
                              &c, 0),
        &stbi_image_free);
    if (!pixels) detail::fail_decode(source, ::tailor::detail::concat("stb_image: ", detail::stb_reason()));
    // The header read first and the decode agree for every stb format; checked all the same.
    detail::require_within(h, w, limits, source);
    if (c < 1 || c > 4) detail::fail_decode(source, ::tailor::detail::concat("stb_image gave ", c, " channels"));
    image8 out({index_t{h}, index_t{w}, 3});
    const stbi_uc* src = pixels.get();
    std::uint8_t* dst = out.data();
    const auto count = static_cast<std::size_t>(h) * static_cast<std::size_t>(w);
    if (c == 3) {
        std::memcpy(dst, src, count * 3);
    } else {
        const std::size_t step = static_cast<std::size_t>(c);
        for (std::size_t i = 0; i < count; ++i, src += step, dst += 3) {
            dst[0] = src[0];
            dst[1] = c >= 3 ? src[1] : src[0];
            dst[2] = c >= 3 ? src[2] : src[0];
        }
    }
    return out;
}

inline image8 decode_image(std::span<const std::uint8_t> bytes, const decode_limits& limits = {},
                           std::string_view source = "memory")
{
    return decode_image(std::as_bytes(bytes), limits, source);
}

/// The bytes of `path`; io_error (naming the path and the system's reason) when it cannot
/// be read.
inline std::vector<std::byte> read_file_bytes(const std::filesystem::path& path)
{
    using ::tailor::detail::concat;
    const auto fail_io = [&](int code) {
        ::tailor::detail::fail<io_error>("path", "a readable file",
                                         concat("'", path.string(), "' (", std::strerror(code), ")"));
    };
    errno = 0;
    const std::unique_ptr<std::FILE, decltype(&std::fclose)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
    if (!file) fail_io(errno);
    std::vector<std::byte> bytes;
    std::byte buffer[1 << 16];
    for (;;) {
        const std::size_t got = std::fread(buffer, 1, sizeof buffer, file.get());
        bytes.insert(bytes.end(), buffer, buffer + got);
        if (got < sizeof buffer) break;
    }
    if (std::ferror(file.get())) fail_io(errno != 0 ? errno : EIO);
    return bytes;
}

/// Reads and decodes the image at `path` into [H, W, 3] RGB. io_error when the file cannot
/// be read, parse_error (naming the path and stb's reason) when it is not a decodable image.
inline image8 read_image(const std::filesystem::path& path, const decode_limits& limits = {})
{
    return decode_image(read_file_bytes(path), limits, path.string());
}

/// The header of the image at `path`.
inline image_info probe_image(const std::filesystem::path& path)
{
    return probe_image(read_file_bytes(path), path.string());
}

/// Reads, decodes and preprocesses `paths` into `out` ([N, 3, R, R]), in parallel over the
/// files (OpenMP); the first failure (io_error, parse_error) is rethrown after the others
/// finish, naming its path.
inline void preprocess_files(std::span<const std::filesystem::path> paths, const tensor_view<float, 4>& out,
                             const clip_image_preprocess& options = {}, const decode_limits& limits = {})
{
    detail::require_options(options);
    const auto n = static_cast<index_t>(paths.size());
    ::tailor::detail::require_extents(out, "out", {n, 3, options.resolution, options.resolution});
    detail::for_each_image(n, [&](index_t i) {
        const image8 image = read_image(paths[static_cast<std::size_t>(i)], limits);
        image8 crop;
        detail::preprocess_checked(image.view(), out[i], options, crop);
    });
}

}  // namespace tailor::image
