#pragma once
// safetensors files: a strict, zero-copy reader over a read-only mmap (or any memory
// buffer) and a writer. Format (see docs/safetensors.md):
//   u64 little-endian N | N bytes of JSON header | data buffer
//   header: {"__metadata__": {str: str}, name: {"dtype": D, "shape": [..],
//            "data_offsets": [begin, end]}, ...}, offsets relative to the data buffer,
//   elements little-endian in C order.
//
//   tailor::io::safetensors_file f("model.safetensors");
//   for (const auto& name : f.names()) { auto [type, shape] = f.info(name); ... }
//   tailor::tensor<float, 2> w = f.load<float, 2>("visual.proj");     // F16/BF16 -> float
//   auto v = f.view<const float, 2>("visual.proj");                  // zero-copy when F32
#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "tailor/core/error.hpp"
#include "tailor/core/tensor.hpp"
#include "tailor/core/view.hpp"

namespace tailor::io {

static_assert(std::endian::native == std::endian::little,
              "tailor::io::safetensors reads little-endian data in place");

/// The element types of the format (safetensors 0.4), in the format's own order.
enum class dtype : std::uint8_t {
    boolean,      ///< BOOL, one byte
    uint8,        ///< U8
    int8,         ///< I8
    float8_e5m2,  ///< F8_E5M2: 1 sign, 5 exponent (bias 15), 2 mantissa bits; inf and NaN
    float8_e4m3,  ///< F8_E4M3 ("fn"): 1 sign, 4 exponent (bias 7), 3 mantissa; NaN, no inf
    int16,        ///< I16
    uint16,       ///< U16
    float16,      ///< F16 (IEEE binary16)
    bfloat16,     ///< BF16
    int32,        ///< I32
    uint32,       ///< U32
    float32,      ///< F32
    float64,      ///< F64
    int64,        ///< I64
    uint64,       ///< U64
};

namespace detail {

struct dtype_traits {
    std::string_view name;
    std::size_t size;
    bool floating;
};

inline constexpr std::array<dtype_traits, 15> dtype_table = {{
    {"BOOL", 1, false}, {"U8", 1, false}, {"I8", 1, false}, {"F8_E5M2", 1, true},
    {"F8_E4M3", 1, true}, {"I16", 2, false}, {"U16", 2, false}, {"F16", 2, true},
    {"BF16", 2, true}, {"I32", 4, false}, {"U32", 4, false}, {"F32", 4, true},
    {"F64", 8, true}, {"I64", 8, false}, {"U64", 8, false},
}};

inline const dtype_traits& traits(dtype type) { return dtype_table[static_cast<std::size_t>(type)]; }

}  // namespace detail

/// "F32", "BF16", ...
inline std::string_view dtype_name(dtype type) { return detail::traits(type).name; }
/// Bytes per element.
inline std::size_t dtype_size(dtype type) { return detail::traits(type).size; }
inline bool is_floating(dtype type) { return detail::traits(type).floating; }

inline std::optional<dtype> parse_dtype(std::string_view name)
{
    for (std::size_t k = 0; k < detail::dtype_table.size(); ++k)
        if (detail::dtype_table[k].name == name) return static_cast<dtype>(k);
    return std::nullopt;
}

/// The dtype whose elements are exactly `T`, for the C++ types that have one.
template <class T>
constexpr std::optional<dtype> native_dtype()
{
    using U = std::remove_cv_t<T>;
    if constexpr (std::is_same_v<U, bool>) return dtype::boolean;
    else if constexpr (std::is_same_v<U, std::uint8_t>) return dtype::uint8;
    else if constexpr (std::is_same_v<U, std::int8_t>) return dtype::int8;
    else if constexpr (std::is_same_v<U, std::int16_t>) return dtype::int16;
    else if constexpr (std::is_same_v<U, std::uint16_t>) return dtype::uint16;
    else if constexpr (std::is_same_v<U, std::int32_t>) return dtype::int32;
    else if constexpr (std::is_same_v<U, std::uint32_t>) return dtype::uint32;
    else if constexpr (std::is_same_v<U, float>) return dtype::float32;
    else if constexpr (std::is_same_v<U, double>) return dtype::float64;
    else if constexpr (std::is_same_v<U, std::int64_t>) return dtype::int64;
    else if constexpr (std::is_same_v<U, std::uint64_t>) return dtype::uint64;
    else return std::nullopt;
}

/// Conversions between float and the narrow float formats. Decoding is exact; encoding
/// rounds to nearest, ties to even, and keeps NaN a NaN.
namespace detail {

inline float half_to_float(std::uint16_t h)
{
    const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
    const std::uint32_t exponent = (h >> 10) & 0x1Fu;
    const std::uint32_t mantissa = h & 0x3FFu;
    if (exponent == 0) {  // zero or subnormal: mantissa * 2^-24, exact in float
        const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
        return sign ? -magnitude : magnitude;
    }
    if (exponent == 31) return std::bit_cast<float>(sign | 0x7F800000u | (mantissa << 13));
    return std::bit_cast<float>(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

inline std::uint16_t float_to_half(float value)
{
    const std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
    const auto sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000u);
    const std::uint32_t magnitude = bits & 0x7FFFFFFFu;
    if (magnitude >= 0x7F800000u)  // inf, or NaN made quiet with its top payload bits
        return static_cast<std::uint16_t>(sign | (magnitude == 0x7F800000u ? 0x7C00u : 0x7E00u | ((magnitude >> 13) & 0x3FFu)));
    if (magnitude >= 0x477FF000u) return static_cast<std::uint16_t>(sign | 0x7C00u);  // >= 65520
    if (magnitude < 0x38800000u) {  // below 2^-14: a multiple of 2^-24, rounded half to even
        const float scaled = std::ldexp(std::bit_cast<float>(magnitude), 24);
        return static_cast<std::uint16_t>(sign | static_cast<std::uint16_t>(std::nearbyint(scaled)));
    }
    std::uint32_t half = (((magnitude >> 23) - 112) << 10) | ((magnitude >> 13) & 0x3FFu);
    const std::uint32_t rest = magnitude & 0x1FFFu;
    if (rest > 0x1000u || (rest == 0x1000u && (half & 1u))) ++half;  // a carry moves the exponent
    return static_cast<std::uint16_t>(sign | half);
}

inline float bfloat16_to_float(std::uint16_t b)
{
    return std::bit_cast<float>(static_cast<std::uint32_t>(b) << 16);
}

inline std::uint16_t float_to_bfloat16(float value)
{
    const std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
    if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<std::uint16_t>((bits >> 16) | 0x40u);
    return static_cast<std::uint16_t>((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
}

inline float float8_e4m3_to_float(std::uint8_t v)
{
    const bool negative = v & 0x80u;
    const int exponent = (v >> 3) & 0xF;
    const int mantissa = v & 0x7;
    float magnitude;
    if (exponent == 15 && mantissa == 7) magnitude = std::numeric_limits<float>::quiet_NaN();
    else if (exponent == 0) magnitude = std::ldexp(static_cast<float>(mantissa), -9);
    else magnitude = std::ldexp(static_cast<float>(8 + mantissa), exponent - 10);
    return negative ? -magnitude : magnitude;
}

inline float float8_e5m2_to_float(std::uint8_t v)
{
    // E5M2 is the top byte of a binary16.
    return half_to_float(static_cast<std::uint16_t>(v << 8));
}

template <class T>
T read_unaligned(const std::byte* p)
{
    T value;
    std::memcpy(&value, p, sizeof(T));
    return value;
}

}  // namespace detail

/// A tensor's entry in the header.
struct tensor_info {
    dtype type;
    std::vector<index_t> shape;
    std::size_t begin = 0;  ///< byte offsets into the data buffer, [begin, end)
    std::size_t end = 0;

    index_t elements() const
    {
        index_t n = 1;
        for (auto e : shape) n *= e;
        return n;
    }
    std::size_t bytes() const { return end - begin; }
};

namespace detail {

/// Bytes that stay valid as long as any copy of the owner lives.
struct byte_storage {
    std::shared_ptr<const void> owner;
    std::span<const std::byte> bytes;
};

inline byte_storage map_file(const std::filesystem::path& path)
{
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        throw io_error(::tailor::detail::concat("tailor: safetensors: cannot open '", path.string(),
                                                "': ", std::strerror(errno)));
    struct stat status {};
    if (::fstat(fd, &status) != 0) {
        const int saved = errno;
        ::close(fd);
        throw io_error(::tailor::detail::concat("tailor: safetensors: cannot stat '", path.string(),
                                                "': ", std::strerror(saved)));
    }
    const auto size = static_cast<std::size_t>(status.st_size);
    if (size == 0) {
        ::close(fd);
        return {};
    }
    void* address = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    const int saved = errno;
    ::close(fd);  // the mapping keeps the file open
    if (address == MAP_FAILED)
        throw io_error(::tailor::detail::concat("tailor: safetensors: cannot map '", path.string(),
                                                "': ", std::strerror(saved)));
    std::shared_ptr<const void> owner(address, [size](const void* p) { ::munmap(const_cast<void*>(p), size); });
    return {std::move(owner), {static_cast<const std::byte*>(address), size}};
}

/// Parses JSON, rejecting a key repeated inside one object (nlohmann would keep the last).
inline nlohmann::json parse_header_json(std::string_view text, const std::string& where)
{
    std::vector<std::unordered_set<std::string>> open_objects;
    std::optional<std::string> repeated;
    const auto callback = [&](int, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
        using event_t = nlohmann::json::parse_event_t;
        if (event == event_t::object_start) open_objects.emplace_back();
        else if (event == event_t::object_end && !open_objects.empty()) open_objects.pop_back();
        else if (event == event_t::key && !open_objects.empty() &&
                 !open_objects.back().insert(parsed.get<std::string>()).second && !repeated)
            repeated = parsed.get<std::string>();
        return true;
    };
    nlohmann::json header;
    try {
        header = nlohmann::json::parse(text.begin(), text.end(), callback);
    } catch (const nlohmann::json::exception& e) {
        throw parse_error(::tailor::detail::concat(where, ": header is not valid JSON: ", e.what()));
    }
    if (repeated)
        throw parse_error(::tailor::detail::concat(where, ": header repeats the key '", *repeated, "'"));
    return header;
}

}  // namespace detail

/// A validated safetensors file (or memory buffer). Copies share the mapping.
class safetensors_file {
public:
    /// Headers beyond this are rejected (as the reference implementation does).
    static constexpr std::uint64_t max_header_bytes = 100'000'000;

    /// Maps `path` read-only and validates its header; throws io_error when the file cannot
    /// be read and parse_error naming the problem (and the tensor) when it is malformed.
    explicit safetensors_file(const std::filesystem::path& path)
    {
        storage_ = detail::map_file(path);
        source_ = "safetensors '" + path.string() + "'";
        parse();
    }

    /// Validates `bytes` in place; the caller keeps them alive while this object (or a
    /// view from it) is used.
    static safetensors_file from_buffer(std::span<const std::byte> bytes, std::string source = "buffer")
    {
        safetensors_file file;
        file.storage_ = {nullptr, bytes};
        file.source_ = "safetensors " + source;
        file.parse();
        return file;
    }

    /// Takes ownership of `bytes`.
    static safetensors_file from_bytes(std::vector<std::byte> bytes, std::string source = "buffer")
    {
        auto owned = std::make_shared<const std::vector<std::byte>>(std::move(bytes));
        safetensors_file file;
        file.storage_ = {owned, std::span<const std::byte>(owned->data(), owned->size())};
        file.source_ = "safetensors " + source;
        file.parse();
        return file;
    }

    /// Tensor names in data order.
    const std::vector<std::string>& names() const noexcept { return names_; }
    std::size_t size() const noexcept { return names_.size(); }
    bool contains(std::string_view name) const { return tensors_.find(name) != tensors_.end(); }

    const tensor_info& info(std::string_view name) const
    {
        const auto hit = tensors_.find(name);
        if (hit == tensors_.end())
            throw argument_error(::tailor::detail::concat("tailor: argument 'name': ", source_,
                                                          " has no tensor '", name, "'"));
        return hit->second;
    }

    /// The "__metadata__" map (empty when the header has none).
    const std::map<std::string, std::string, std::less<>>& metadata() const noexcept { return metadata_; }

    /// The tensor's bytes, in the file's dtype.
    std::span<const std::byte> raw(std::string_view name) const
    {
        const tensor_info& t = info(name);
        return data_.subspan(t.begin, t.bytes());
    }

    /// Copies the elements into `out`, converting: any float dtype to float/double, integer
    /// and BOOL dtypes to any arithmetic type (range-checked for integer targets).
    template <class T>
    void read(std::string_view name, std::span<T> out) const
    {
        static_assert(std::is_arithmetic_v<T> && !std::is_const_v<T>, "read into arithmetic elements");
        const tensor_info& t = info(name);
        ::tailor::detail::require<shape_error>(
            static_cast<index_t>(out.size()) == t.elements(), "out",
            ::tailor::detail::concat(t.elements(), " elements for tensor '", name, "'"), out.size());
        convert(name, t, out.data());
    }

    /// All elements, flat (works for every rank, scalars included).
    template <class T>
    std::vector<T> load_values(std::string_view name) const
    {
        const tensor_info& t = info(name);
        const auto n = static_cast<std::size_t>(t.elements());
        if constexpr (std::is_same_v<T, bool>) {  // vector<bool> packs bits: go through bools
            const auto flags = std::make_unique<bool[]>(n);
            convert(name, t, flags.get());
            return std::vector<bool>(flags.get(), flags.get() + n);
        } else {
            std::vector<T> values(n);
            convert(name, t, values.data());
            return values;
        }
    }

    /// An owning tensor of rank `Rank` (which must equal the tensor's rank).
    template <class T, std::size_t Rank>
    tensor<T, Rank> load(std::string_view name) const
    {
        const tensor_info& t = info(name);
        require_rank(name, t, Rank);
        extents_t<Rank> extents{};
        std::copy(t.shape.begin(), t.shape.end(), extents.begin());
        tensor<T, Rank> out(extents);
        convert(name, t, out.data());
        return out;
    }

    /// A zero-copy view; the dtype must be exactly T's and the data aligned for T (the
    /// writer and the Python library align every tensor to its element size).
    template <class T, std::size_t Rank>
    tensor_view<T, Rank> view(std::string_view name) const
    {
        static_assert(std::is_const_v<T>, "views of a read-only mapping are views of const T");
        constexpr auto wanted = native_dtype<T>();
        static_assert(wanted.has_value(), "view needs a type with a safetensors dtype");
        const tensor_info& t = info(name);
        require_rank(name, t, Rank);
        if (t.type != *wanted)
            throw argument_error(::tailor::detail::concat(
                "tailor: argument 'name': tensor '", name, "' in ", source_, " has dtype ",
                dtype_name(t.type), ", a view needs ", dtype_name(*wanted), " (load converts)"));
        const std::byte* p = data_.data() + t.begin;
        if (reinterpret_cast<std::uintptr_t>(p) % alignof(T) != 0)
            throw argument_error(::tailor::detail::concat(
                "tailor: argument 'name': tensor '", name, "' in ", source_,
                " is not aligned to ", alignof(T), " bytes; load it instead of viewing it"));
        extents_t<Rank> extents{};
        std::copy(t.shape.begin(), t.shape.end(), extents.begin());
        return tensor_view<T, Rank>(reinterpret_cast<T*>(const_cast<std::byte*>(p)), extents);
    }

    /// The whole file and the data buffer (after the header).
    std::span<const std::byte> bytes() const noexcept { return storage_.bytes; }
    std::span<const std::byte> data() const noexcept { return data_; }

private:
    safetensors_file() = default;

    [[noreturn]] void fail(const std::string& what) const { throw parse_error("tailor: " + source_ + ": " + what); }
    [[noreturn]] void fail_tensor(std::string_view name, const std::string& what) const
    {
        throw parse_error(::tailor::detail::concat("tailor: ", source_, ": tensor '", name, "': ", what));
    }

    void require_rank(std::string_view name, const tensor_info& t, std::size_t rank) const
    {
        if (t.shape.size() != rank)
            throw shape_error(::tailor::detail::concat(
                "tailor: argument 'name': tensor '", name, "' in ", source_, " has rank ",
                t.shape.size(), ", the call asks for rank ", rank));
    }

    void parse()
    {
        const auto bytes = storage_.bytes;
        if (bytes.size() < 8)
            fail(::tailor::detail::concat("truncated: ", bytes.size(),
                                          " bytes, fewer than the 8-byte header length"));
        std::uint64_t header_length = 0;
        for (int k = 7; k >= 0; --k)
            header_length = (header_length << 8) | static_cast<std::uint8_t>(bytes[static_cast<std::size_t>(k)]);
        if (header_length > max_header_bytes)
            fail(::tailor::detail::concat("header length ", header_length,
                                          " exceeds the limit of ", max_header_bytes, " bytes"));
        if (header_length > bytes.size() - 8)
            fail(::tailor::detail::concat("truncated: the header length ", header_length,
                                          " runs past the end of the ", bytes.size(), "-byte file"));
        const std::string_view text(reinterpret_cast<const char*>(bytes.data() + 8),
                                    static_cast<std::size_t>(header_length));
        if (text.empty() || text.front() != '{') fail("the header does not start with '{'");
        data_ = bytes.subspan(8 + static_cast<std::size_t>(header_length));

        const nlohmann::json header = detail::parse_header_json(text, "tailor: " + source_);
        if (!header.is_object()) fail("the header is not a JSON object");

        std::vector<std::pair<std::string, tensor_info>> entries;
        for (const auto& [name, entry] : header.items()) {
            if (name == "__metadata__") {
                if (!entry.is_object()) fail("__metadata__ is not an object of strings");
                for (const auto& [key, value] : entry.items()) {
                    if (!value.is_string())
                        fail(::tailor::detail::concat("__metadata__ key '", key,
                                                      "' has a non-string value ", value.dump()));
                    metadata_.emplace(key, value.get<std::string>());
                }
                continue;
            }
            entries.emplace_back(name, parse_entry(name, entry));
        }

        // Sorted by offsets, tensors must tile the data buffer exactly.
        std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
            return std::pair(a.second.begin, a.second.end) < std::pair(b.second.begin, b.second.end);
        });
        std::size_t covered = 0;
        std::string_view previous;
        for (const auto& [name, t] : entries) {
            if (t.begin < covered)
                fail_tensor(name, ::tailor::detail::concat("data_offsets [", t.begin, ", ", t.end,
                                                           "] overlap tensor '", previous,
                                                           "', which ends at ", covered));
            if (t.begin > covered)
                fail_tensor(name, ::tailor::detail::concat(
                                      "data_offsets [", t.begin, ", ", t.end, "] leave a gap of ",
                                      t.begin - covered, " bytes after ",
                                      previous.empty() ? std::string("the start of the data")
                                                       : "tensor '" + std::string(previous) + "'"));
            covered = t.end;
            previous = name;
        }
        if (covered != data_.size())
            fail(::tailor::detail::concat("the tensors cover ", covered, " bytes of the ",
                                          data_.size(), "-byte data buffer; ",
                                          data_.size() - covered, " trailing bytes are unaccounted for"));
        for (auto& [name, t] : entries) {
            names_.push_back(name);
            tensors_.emplace(std::move(name), std::move(t));
        }
    }

    tensor_info parse_entry(const std::string& name, const nlohmann::json& entry) const
    {
        if (!entry.is_object()) fail_tensor(name, "the entry is not a JSON object");
        for (const auto& [key, value] : entry.items())
            if (key != "dtype" && key != "shape" && key != "data_offsets")
                fail_tensor(name, "unknown field '" + key + "'");
        tensor_info t{};
        const auto dtype_field = entry.find("dtype");
        if (dtype_field == entry.end() || !dtype_field->is_string()) fail_tensor(name, "dtype is missing or not a string");
        const auto type = parse_dtype(dtype_field->get<std::string>());
        if (!type) fail_tensor(name, "unknown dtype '" + dtype_field->get<std::string>() + "'");
        t.type = *type;

        const auto shape_field = entry.find("shape");
        if (shape_field == entry.end() || !shape_field->is_array()) fail_tensor(name, "shape is missing or not an array");
        std::uint64_t elements = 1;
        bool overflow = false;
        for (const auto& extent : *shape_field) {
            if (!extent.is_number_unsigned())
                fail_tensor(name, "shape entry " + extent.dump() + " is not a non-negative integer");
            const auto e = extent.get<std::uint64_t>();
            if (e > static_cast<std::uint64_t>(std::numeric_limits<index_t>::max()))
                fail_tensor(name, ::tailor::detail::concat("shape entry ", e, " is too large"));
            t.shape.push_back(static_cast<index_t>(e));
            if (e != 0 && elements > std::numeric_limits<std::uint64_t>::max() / e) overflow = true;
            elements *= e;
        }
        if (overflow) {
            // A product past 2^64 is out of range unless another extent is zero.
            if (std::find(t.shape.begin(), t.shape.end(), 0) == t.shape.end())
                fail_tensor(name, "the shape's element count overflows");
            elements = 0;
        }

        const auto offsets = entry.find("data_offsets");
        if (offsets == entry.end() || !offsets->is_array() || offsets->size() != 2 ||
            !(*offsets)[0].is_number_unsigned() || !(*offsets)[1].is_number_unsigned())
            fail_tensor(name, "data_offsets must be an array of two non-negative integers");
        const auto begin = (*offsets)[0].get<std::uint64_t>();
        const auto end = (*offsets)[1].get<std::uint64_t>();
        if (end < begin)
            fail_tensor(name, ::tailor::detail::concat("data_offsets [", begin, ", ", end, "] end before they begin"));
        if (end > data_.size())
            fail_tensor(name, ::tailor::detail::concat("data_offsets [", begin, ", ", end,
                                                       "] run past the ", data_.size(),
                                                       "-byte data buffer (out of range)"));
        const std::uint64_t size = dtype_size(t.type);
        if (elements > std::numeric_limits<std::uint64_t>::max() / size || elements * size != end - begin)
            fail_tensor(name, ::tailor::detail::concat(
                                  "shape ", shape_field->dump(), " x ", dtype_name(t.type), " (",
                                  size, " bytes) needs ",
                                  elements > std::numeric_limits<std::uint64_t>::max() / size
                                      ? std::string("more than 2^64")
                                      : std::to_string(elements * size),
                                  " bytes, data_offsets [", begin, ", ", end, "] hold ", end - begin));
        t.begin = static_cast<std::size_t>(begin);
        t.end = static_cast<std::size_t>(end);
        return t;
    }

    template <class T>
    void convert(std::string_view name, const tensor_info& t, T* out) const
    {
        const std::byte* src = data_.data() + t.begin;
        const auto n = static_cast<std::size_t>(t.elements());
        if (native_dtype<T>() == t.type) {
            if (n != 0) std::memcpy(static_cast<void*>(out), src, n * sizeof(T));
            return;
        }
        if constexpr (std::is_same_v<T, bool>) {
            throw argument_error(::tailor::detail::concat("tailor: argument 'name': tensor '", name, "' in ",
                                                          source_, " has dtype ", dtype_name(t.type),
                                                          "; only BOOL loads as bool"));
        } else {
            if (is_floating(t.type) && !std::is_floating_point_v<T>)
                throw argument_error(::tailor::detail::concat(
                    "tailor: argument 'name': tensor '", name, "' in ", source_, " has dtype ",
                    dtype_name(t.type), "; load it as a floating-point type"));
            auto each = [&](auto decode) {
                for (std::size_t i = 0; i < n; ++i) out[i] = store<T>(name, i, decode(i));
            };
            const auto at = [src](std::size_t i, std::size_t size) { return src + i * size; };
            switch (t.type) {
            case dtype::boolean: each([&](std::size_t i) { return static_cast<int>(std::to_integer<std::uint8_t>(src[i]) != 0); }); break;
            case dtype::uint8: each([&](std::size_t i) { return std::to_integer<std::uint8_t>(src[i]); }); break;
            case dtype::int8: each([&](std::size_t i) { return static_cast<std::int8_t>(std::to_integer<std::uint8_t>(src[i])); }); break;
            case dtype::float8_e5m2: each([&](std::size_t i) { return detail::float8_e5m2_to_float(std::to_integer<std::uint8_t>(src[i])); }); break;
            case dtype::float8_e4m3: each([&](std::size_t i) { return detail::float8_e4m3_to_float(std::to_integer<std::uint8_t>(src[i])); }); break;
            case dtype::int16: each([&](std::size_t i) { return detail::read_unaligned<std::int16_t>(at(i, 2)); }); break;
            case dtype::uint16: each([&](std::size_t i) { return detail::read_unaligned<std::uint16_t>(at(i, 2)); }); break;
            case dtype::float16: each([&](std::size_t i) { return detail::half_to_float(detail::read_unaligned<std::uint16_t>(at(i, 2))); }); break;
            case dtype::bfloat16: each([&](std::size_t i) { return detail::bfloat16_to_float(detail::read_unaligned<std::uint16_t>(at(i, 2))); }); break;
            case dtype::int32: each([&](std::size_t i) { return detail::read_unaligned<std::int32_t>(at(i, 4)); }); break;
            case dtype::uint32: each([&](std::size_t i) { return detail::read_unaligned<std::uint32_t>(at(i, 4)); }); break;
            case dtype::float32: each([&](std::size_t i) { return detail::read_unaligned<float>(at(i, 4)); }); break;
            case dtype::float64: each([&](std::size_t i) { return detail::read_unaligned<double>(at(i, 8)); }); break;
            case dtype::int64: each([&](std::size_t i) { return detail::read_unaligned<std::int64_t>(at(i, 8)); }); break;
            case dtype::uint64: each([&](std::size_t i) { return detail::read_unaligned<std::uint64_t>(at(i, 8)); }); break;
            }
        }
    }

    /// One converted element; integer targets must hold the value exactly.
    template <class T, class V>
    T store(std::string_view name, std::size_t index, V value) const
    {
        if constexpr (std::is_integral_v<T> && std::is_integral_v<V>) {
            if (!std::in_range<T>(value))
                throw argument_error(::tailor::detail::concat(
                    "tailor: argument 'name': tensor '", name, "' in ", source_, ": element ", index,
                    " = ", +value, " does not fit the requested integer type"));
        } else if constexpr (std::is_floating_point_v<T> && std::is_floating_point_v<V> &&
                             sizeof(T) < sizeof(V)) {
            // Narrowing past T's range is undefined in C++: round as IEEE 754 does.
            constexpr V largest = static_cast<V>(std::numeric_limits<T>::max());
            if (std::isfinite(value) && std::abs(value) > largest) {
                const V overflow = largest + std::ldexp(V(1), std::numeric_limits<T>::max_exponent -
                                                                  std::numeric_limits<T>::digits - 1);
                const T rounded = std::abs(value) < overflow ? std::numeric_limits<T>::max()
                                                              : std::numeric_limits<T>::infinity();
                return value < 0 ? -rounded : rounded;
            }
        }
        return static_cast<T>(value);
    }

    detail::byte_storage storage_;
    std::span<const std::byte> data_;
    std::string source_;
    std::vector<std::string> names_;
    std::map<std::string, tensor_info, std::less<>> tensors_;
    std::map<std::string, std::string, std::less<>> metadata_;
};

/// Builds a safetensors file. Tensors are laid out by element size, largest first, then by
/// name (as the Python library does), so each starts aligned to its element size; the
/// header is padded with spaces so the data buffer starts on an 8-byte boundary.
class safetensors_writer {
public:
    /// Adds raw little-endian bytes of `type` with `shape`; their count must match.
    void add(std::string name, dtype type, std::vector<index_t> shape, std::span<const std::byte> bytes)
    {
        if (name == "__metadata__")
            throw argument_error("tailor: argument 'name': '__metadata__' is reserved by the format");
        for (const auto& t : tensors_)
            if (t.name == name)
                throw argument_error(::tailor::detail::concat("tailor: argument 'name': tensor '", name,
                                                              "' was already added"));
        index_t elements = 1;
        for (auto e : shape) {
            ::tailor::detail::require<shape_error>(e >= 0, "shape", "non-negative extents", e);
            elements *= e;
        }
        const auto needed = static_cast<std::size_t>(elements) * dtype_size(type);
        if (bytes.size() != needed)
            throw argument_error(::tailor::detail::concat("tailor: argument 'bytes': tensor '", name,
                                                          "' needs ", needed, " bytes, received ",
                                                          bytes.size()));
        tensors_.push_back({std::move(name), type, std::move(shape),
                            std::vector<std::byte>(bytes.begin(), bytes.end())});
    }

    /// Adds a view (any strides) stored as its own dtype.
    template <class T, std::size_t Rank, class Space>
    void add(std::string name, const tensor_view<T, Rank, Space>& values)
    {
        constexpr auto type = native_dtype<T>();
        static_assert(type.has_value(), "this element type has no safetensors dtype; pass one");
        add(std::move(name), values, *type);
    }

    /// Adds a view stored as `type`: float and double views may be stored as any float dtype
    /// but F8 (rounded to nearest even); other views only as their own dtype.
    template <class T, std::size_t Rank, class Space>
    void add(std::string name, const tensor_view<T, Rank, Space>& values, dtype type)
    {
        static_assert(std::is_same_v<Space, host_space>, "the writer reads host memory");
        using U = std::remove_cv_t<T>;
        std::vector<U> packed;
        packed.reserve(static_cast<std::size_t>(values.size()));
        for_each_element(values, [&](const U& v) { packed.push_back(v); });
        std::vector<std::byte> bytes(packed.size() * dtype_size(type));
        if (native_dtype<U>() == type) {
            if (!packed.empty()) std::memcpy(bytes.data(), packed.data(), bytes.size());
        } else if constexpr (std::is_floating_point_v<U>) {
            for (std::size_t i = 0; i < packed.size(); ++i) {
                const auto f = static_cast<float>(packed[i]);
                if (type == dtype::float32) std::memcpy(&bytes[4 * i], &f, 4);
                else if (type == dtype::float64) {
                    const auto d = static_cast<double>(packed[i]);
                    std::memcpy(&bytes[8 * i], &d, 8);
                } else if (type == dtype::float16 || type == dtype::bfloat16) {
                    const std::uint16_t h = type == dtype::float16 ? detail::float_to_half(f) : detail::float_to_bfloat16(f);
                    std::memcpy(&bytes[2 * i], &h, 2);
                } else {
                    unsupported(name, type);
                }
            }
        } else {
            unsupported(name, type);
        }
        std::vector<index_t> shape(values.extents().begin(), values.extents().end());
        add(std::move(name), type, std::move(shape), bytes);
    }

    void set_metadata(std::string key, std::string value) { metadata_[std::move(key)] = std::move(value); }

    /// The complete file.
    std::vector<std::byte> to_bytes() const
    {
        std::vector<const entry*> order;
        for (const auto& t : tensors_) order.push_back(&t);
        std::stable_sort(order.begin(), order.end(), [](const entry* a, const entry* b) {
            const auto sa = dtype_size(a->type), sb = dtype_size(b->type);
            return sa != sb ? sa > sb : a->name < b->name;
        });
        nlohmann::ordered_json header = nlohmann::ordered_json::object();
        if (!metadata_.empty()) {
            nlohmann::ordered_json meta = nlohmann::ordered_json::object();
            for (const auto& [key, value] : metadata_) meta[key] = value;
            header["__metadata__"] = std::move(meta);
        }
        std::size_t offset = 0;
        for (const entry* t : order) {
            header[t->name] = {{"dtype", std::string(dtype_name(t->type))},
                               {"shape", t->shape},
                               {"data_offsets", {offset, offset + t->bytes.size()}}};
            offset += t->bytes.size();
        }
        std::string text = header.dump();
        text.append((8 - text.size() % 8) % 8, ' ');
        std::vector<std::byte> out(8 + text.size() + offset);
        std::uint64_t length = text.size();
        for (int k = 0; k < 8; ++k) out[static_cast<std::size_t>(k)] = static_cast<std::byte>((length >> (8 * k)) & 0xFF);
        std::memcpy(out.data() + 8, text.data(), text.size());
        std::size_t at = 8 + text.size();
        for (const entry* t : order) {
            if (!t->bytes.empty()) std::memcpy(out.data() + at, t->bytes.data(), t->bytes.size());
            at += t->bytes.size();
        }
        return out;
    }

    /// Writes the file; throws io_error on failure.
    void write(const std::filesystem::path& path) const
    {
        const std::vector<std::byte> bytes = to_bytes();
        std::ofstream file(path, std::ios::binary | std::ios::trunc);
        if (!file) throw io_error("tailor: safetensors: cannot create '" + path.string() + "'");
        file.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
        file.close();
        if (!file) throw io_error("tailor: safetensors: writing '" + path.string() + "' failed");
    }

private:
    struct entry {
        std::string name;
        dtype type;
        std::vector<index_t> shape;
        std::vector<std::byte> bytes;
    };

    [[noreturn]] static void unsupported(const std::string& name, dtype type)
    {
        throw argument_error(::tailor::detail::concat("tailor: argument 'type': tensor '", name,
                                                      "' cannot be stored as ", dtype_name(type),
                                                      " from this element type"));
    }

    /// Visits elements in C order whatever the strides.
    template <class T, std::size_t Rank, class Space, class Visit>
    static void for_each_element(const tensor_view<T, Rank, Space>& v, Visit&& visit)
    {
        if (v.empty()) return;
        std::array<index_t, Rank> index{};
        for (;;) {
            index_t offset = 0;
            for (std::size_t d = 0; d < Rank; ++d) offset += index[d] * v.stride(d);
            visit(v.data()[offset]);
            std::size_t d = Rank;
            while (d > 0) {
                --d;
                if (++index[d] < v.extent(d)) break;
                index[d] = 0;
                if (d == 0) return;
            }
        }
    }

    std::vector<entry> tensors_;
    std::map<std::string, std::string> metadata_;
};

}  // namespace tailor::io
