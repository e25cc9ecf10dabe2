// libFuzzer target: arbitrary bytes as a safetensors file, through the memory-buffer API.
// Malformed input must end in a tailor::error; accepted input must load every tensor and
// survive a write/read round trip byte for byte. Anything else is a finding.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "tailor/io/safetensors.hpp"

namespace io = tailor::io;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
    std::optional<io::safetensors_file> file;
    try {
        file.emplace(io::safetensors_file::from_buffer(bytes));
    } catch (const tailor::parse_error&) {
        return 0;  // rejected, as it should be for malformed input
    }
    io::safetensors_writer writer;
    for (const auto& [key, value] : file->metadata()) writer.set_metadata(key, value);
    for (const auto& name : file->names()) {
        const io::tensor_info& info = file->info(name);
        const auto raw = file->raw(name);
        if (raw.size() != info.bytes()) __builtin_trap();
        const std::vector<double> values = file->load_values<double>(name);
        if (values.size() != static_cast<std::size_t>(info.elements())) __builtin_trap();
        (void)file->load_values<float>(name);
        if (!io::is_floating(info.type)) {
            try {
                (void)file->load_values<std::int32_t>(name);  // may not fit: argument_error
            } catch (const tailor::argument_error&) {
            }
        }
        if (info.shape.size() == 1) {
            try {
                (void)file->view<const float, 1>(name);  // dtype or alignment may not match
            } catch (const tailor::argument_error&) {
            }
        }
        writer.add(name, info.type, info.shape, raw);
    }
    // What tailor writes back must parse and hold the same tensors.
    const std::vector<std::byte> rewritten = writer.to_bytes();
    const auto again = io::safetensors_file::from_buffer(rewritten);
    if (again.size() != file->size() || again.metadata() != file->metadata()) __builtin_trap();
    for (const auto& name : file->names()) {
        const auto a = file->raw(name), b = again.raw(name);
        if (a.size() != b.size() || (a.size() != 0 && std::memcmp(a.data(), b.data(), a.size()) != 0))
            __builtin_trap();
        if (again.info(name).shape != file->info(name).shape) __builtin_trap();
    }
    return 0;
}
