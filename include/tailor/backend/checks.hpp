#pragma once
// Argument checks of the op set, shared by every backend so all of them reject the same
// inputs with the same messages.
#include <cstdint>

#include "tailor/core/view.hpp"

namespace tailor::detail {

template <class A, class B, class C>
void check_gemm(const A& a, const B& b, const C& c)
{
    require<shape_error>(a.extent(1) == b.extent(0), "b",
                         [&] { return concat("rows equal to a's columns (", a.extent(1), ")"); },
                         [&] { return format_extents(b.extents()); });
    require_extents(c, "c", {a.extent(0), b.extent(1)});
}

template <class A, class B, class C>
void check_gemm_batched(const A& a, const B& b, const C& c)
{
    require<shape_error>(a.extent(0) == b.extent(0), "b", [&] { return concat("batch ", a.extent(0)); },
                         [&] { return format_extents(b.extents()); });
    require<shape_error>(a.extent(2) == b.extent(1), "b",
                         [&] { return concat("rows equal to a's columns (", a.extent(2), ")"); },
                         [&] { return format_extents(b.extents()); });
    require_extents(c, "c", {a.extent(0), a.extent(1), b.extent(2)});
}

template <class X, class Y>
void check_same_shape(const X& x, const Y& y, std::string_view name = "y")
{
    require_extents(y, name, x.extents());
}

template <class X, class V>
void check_per_row(const X& x, const V& v, std::string_view name)
{
    require_extents(v, name, {x.extent(0)});
}

/// Host-side index range check (device backends check on the device or document they don't).
template <class I, class S>
void check_indices(const vector_view<const I, S>& idx, index_t bound, std::string_view name)
{
    if constexpr (is_host_accessible<S>) {
        for (index_t i = 0; i < idx.extent(0); ++i) {
            const auto k = idx(i);
            if (k < 0 || static_cast<index_t>(k) >= bound)
                fail<index_error>(name, concat("indices in [0, ", bound, ")"),
                                  concat(k, " at position ", i));
        }
    }
}

}  // namespace tailor::detail
