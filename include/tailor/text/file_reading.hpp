#pragma once
// Whole-file reads for vocabulary files; gzip through zlib (which also passes plain files
// through unchanged, so one reader serves .txt and .txt.gz).
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include <zlib.h>

#include "tailor/core/error.hpp"

namespace tailor::text::detail {

/// The bytes of `path`, gunzipped when it is gzip data. Throws `io_error` when the file
/// cannot be opened and `parse_error` when its gzip stream is corrupt.
inline std::string read_maybe_gzipped(const std::filesystem::path& path, std::string_view argument)
{
    gzFile file = gzopen(path.c_str(), "rb");
    if (file == nullptr)
        throw io_error(::tailor::detail::concat("tailor: argument '", argument, "': cannot open '",
                                                path.string(), "': ", std::strerror(errno)));
    std::unique_ptr<gzFile_s, decltype(&gzclose)> owner(file, &gzclose);
    std::string contents;
    char buffer[1 << 16];
    for (;;) {
        const int got = gzread(file, buffer, sizeof buffer);
        if (got < 0) {
            int code = 0;
            const char* message = gzerror(file, &code);
            throw parse_error(::tailor::detail::concat("tailor: argument '", argument, "': '",
                                                       path.string(),
                                                       "' is not readable gzip data: ", message));
        }
        if (got == 0) break;
        contents.append(buffer, static_cast<std::size_t>(got));
    }
    // gzread returns what it could of a stream cut short and reports it (Z_BUF_ERROR,
    // "unexpected end of file") only through gzerror.
    int code = 0;
    gzerror(file, &code);
    if (code != Z_OK)
        throw parse_error(::tailor::detail::concat("tailor: argument '", argument, "': '",
                                                   path.string(), "' is truncated gzip data"));
    return contents;
}

}  // namespace tailor::text::detail
