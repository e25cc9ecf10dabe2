#pragma once
// Memory spaces tag where a view's elements live. Backends serve exactly one space, so a
// host loop can never be handed a device pointer by accident: the types do not match.
#include <concepts>

namespace tailor {

/// Ordinary CPU memory, dereferenceable by host code.
struct host_space {
    static constexpr const char* name = "host";
};

/// Accelerator memory (CUDA global memory): only device code and copies may touch it.
struct device_space {
    static constexpr const char* name = "device";
};

/// A tag type naming where memory lives.
template <class S>
concept memory_space = requires {
    { S::name } -> std::convertible_to<const char*>;
};

/// True when host code may read the memory directly.
template <memory_space S>
inline constexpr bool is_host_accessible = std::same_as<S, host_space>;

}  // namespace tailor
