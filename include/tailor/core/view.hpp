#pragma once
// Non-owning strided views over caller memory, CuTe style: extents and strides are values.
// A view is a pointer plus a shape; it never allocates and is cheap to copy, so algorithms
// take views by value and a training codebase passes its own buffers without copies.
#include <array>
#include <cstddef>
#include <type_traits>
#include <utility>

#include "tailor/core/config.hpp"
#include "tailor/core/error.hpp"
#include "tailor/core/memory_space.hpp"

namespace tailor {

template <std::size_t Rank>
using extents_t = std::array<index_t, Rank>;

namespace detail {

template <std::size_t Rank>
constexpr extents_t<Rank> row_major_strides(const extents_t<Rank>& extents)
{
    extents_t<Rank> strides{};
    index_t step = 1;
    for (std::size_t d = Rank; d-- > 0;) {
        strides[d] = step;
        step *= extents[d];
    }
    return strides;
}

template <std::size_t Rank>
std::string format_extents(const extents_t<Rank>& extents)
{
    std::string text = "[";
    for (std::size_t d = 0; d < Rank; ++d) {
        if (d) text += ", ";
        text += std::to_string(extents[d]);
    }
    return text + "]";
}

}  // namespace detail

/// A rank-`Rank` view of elements of type `T` (const-qualify for read-only) living in
/// memory space `Space`. Strides count elements and may be any non-negative values, so
/// transposes, column slices and broadcast (stride 0) views are all free.
template <class T, std::size_t Rank, memory_space Space = host_space>
class tensor_view {
    static_assert(Rank >= 1, "tailor::tensor_view: rank must be at least 1");

public:
    using element_type = T;
    using value_type = std::remove_cv_t<T>;
    using memory_space = Space;
    using extents_type = extents_t<Rank>;
    static constexpr std::size_t rank = Rank;

    constexpr tensor_view() = default;

    /// Row-major contiguous view.
    constexpr tensor_view(T* data, const extents_type& extents)
        : tensor_view(data, extents, detail::row_major_strides(extents))
    {
    }

    constexpr tensor_view(T* data, const extents_type& extents, const extents_type& strides)
        : data_(data), extents_(extents), strides_(strides)
    {
        for (std::size_t d = 0; d < Rank; ++d)
            detail::require<shape_error>(extents[d] >= 0, "extents", "non-negative extents",
                                         [&] { return detail::format_extents(extents); });
        for (std::size_t d = 0; d < Rank; ++d)
            detail::require<shape_error>(strides[d] >= 0, "strides", "non-negative strides",
                                         [&] { return detail::format_extents(strides); });
        detail::require<shape_error>(data != nullptr || size() == 0, "data",
                                     "a non-null pointer for a non-empty view", "nullptr");
    }

    /// A view of `U` converts to a view of `const U`, never the other way round.
    template <class U>
        requires(!std::is_same_v<U, T> && std::is_convertible_v<U (*)[], T (*)[]>)
    constexpr tensor_view(const tensor_view<U, Rank, Space>& other) noexcept
        : data_(other.data()), extents_(other.extents()), strides_(other.strides())
    {
    }

    TAILOR_HOST_DEVICE constexpr T* data() const noexcept { return data_; }
    constexpr const extents_type& extents() const noexcept { return extents_; }
    constexpr const extents_type& strides() const noexcept { return strides_; }
    TAILOR_HOST_DEVICE constexpr index_t extent(std::size_t d) const noexcept { return extents_[d]; }
    TAILOR_HOST_DEVICE constexpr index_t stride(std::size_t d) const noexcept { return strides_[d]; }

    TAILOR_HOST_DEVICE constexpr index_t size() const noexcept
    {
        index_t n = 1;
        for (std::size_t d = 0; d < Rank; ++d) n *= extents_[d];
        return n;
    }
    TAILOR_HOST_DEVICE constexpr bool empty() const noexcept { return size() == 0; }

    /// Rows and columns, for matrices.
    TAILOR_HOST_DEVICE constexpr index_t rows() const noexcept
        requires(Rank == 2)
    {
        return extents_[0];
    }
    TAILOR_HOST_DEVICE constexpr index_t cols() const noexcept
        requires(Rank == 2)
    {
        return extents_[1];
    }

    /// Element access; unchecked, as in Eigen's operator() with assertions off.
    template <class... Indices>
        requires(sizeof...(Indices) == Rank && (std::is_integral_v<Indices> && ...))
    TAILOR_HOST_DEVICE constexpr T& operator()(Indices... indices) const noexcept
    {
        const index_t idx[] = {static_cast<index_t>(indices)...};
        index_t offset = 0;
        for (std::size_t d = 0; d < Rank; ++d) offset += idx[d] * strides_[d];
        return data_[offset];
    }

    /// Elements are laid out row-major with no gaps.
    constexpr bool is_contiguous() const noexcept
    {
        index_t step = 1;
        for (std::size_t d = Rank; d-- > 0;) {
            if (extents_[d] != 1 && strides_[d] != step) return false;
            step *= extents_[d];
        }
        return true;
    }

    /// The innermost dimension is unit-stride (rows are contiguous, rows may be padded).
    constexpr bool has_unit_inner_stride() const noexcept
    {
        return extents_[Rank - 1] <= 1 || strides_[Rank - 1] == 1;
    }

    /// Slice along the first dimension: the rank-(Rank-1) view at index `i`.
    TAILOR_HOST_DEVICE constexpr auto operator[](index_t i) const noexcept
        requires(Rank >= 2)
    {
        tensor_view<T, Rank - 1, Space> sub;
        sub.data_ = data_ + i * strides_[0];
        for (std::size_t d = 1; d < Rank; ++d) {
            sub.extents_[d - 1] = extents_[d];
            sub.strides_[d - 1] = strides_[d];
        }
        return sub;
    }

    /// Row `i` of a matrix as a vector view.
    TAILOR_HOST_DEVICE constexpr auto row(index_t i) const noexcept
        requires(Rank == 2)
    {
        return (*this)[i];
    }

    /// Column `j` of a matrix as a (strided) vector view.
    TAILOR_HOST_DEVICE constexpr auto col(index_t j) const noexcept
        requires(Rank == 2)
    {
        tensor_view<T, 1, Space> sub;
        sub.data_ = data_ + j * strides_[1];
        sub.extents_[0] = extents_[0];
        sub.strides_[0] = strides_[0];
        return sub;
    }

    /// The half-open range [begin, end) along dimension `dim`; checked.
    constexpr tensor_view slice(std::size_t dim, index_t begin, index_t end) const
    {
        detail::require<shape_error>(dim < Rank, "dim", [] { return detail::concat("< ", Rank); }, dim);
        detail::require<index_error>(0 <= begin && begin <= end && end <= extents_[dim], "range",
                                     [&] { return detail::concat("0 <= begin <= end <= ", extents_[dim]); },
                                     [&] { return detail::concat("[", begin, ", ", end, ")"); });
        tensor_view sub = *this;
        sub.data_ = extents_[dim] == 0 ? data_ : data_ + begin * strides_[dim];
        sub.extents_[dim] = end - begin;
        return sub;
    }

    /// Swap two dimensions; for a matrix, its transpose. No data moves.
    constexpr tensor_view swapped(std::size_t a, std::size_t b) const noexcept
    {
        tensor_view out = *this;
        std::swap(out.extents_[a], out.extents_[b]);
        std::swap(out.strides_[a], out.strides_[b]);
        return out;
    }

    constexpr tensor_view transposed() const noexcept
        requires(Rank == 2)
    {
        return swapped(0, 1);
    }

    /// The same contiguous elements seen with another shape; the view must be contiguous.
    template <std::size_t NewRank>
    tensor_view<T, NewRank, Space> reshaped(const extents_t<NewRank>& extents) const
    {
        detail::require<shape_error>(is_contiguous(), "view", "a contiguous view to reshape",
                                     [&] { return "strides " + detail::format_extents(strides_); });
        index_t n = 1;
        for (auto e : extents) n *= e;
        detail::require<shape_error>(n == size(), "extents", [&] { return detail::concat(size(), " elements"); },
                                     [&] { return detail::format_extents(extents); });
        return tensor_view<T, NewRank, Space>(data_, extents);
    }

private:
    template <class, std::size_t, ::tailor::memory_space>
    friend class tensor_view;

    T* data_ = nullptr;
    extents_type extents_{};
    extents_type strides_{};
};

template <class T, memory_space Space = host_space>
using vector_view = tensor_view<T, 1, Space>;

template <class T, memory_space Space = host_space>
using matrix_view = tensor_view<T, 2, Space>;

/// Row-major contiguous view over `data`.
template <class T, class... Extents>
    requires(std::is_integral_v<Extents> && ...)
constexpr tensor_view<T, sizeof...(Extents)> make_view(T* data, Extents... extents)
{
    return tensor_view<T, sizeof...(Extents)>(data, {static_cast<index_t>(extents)...});
}

/// Views of a memory space other than the host (device pointers from cudaMalloc, ...).
template <memory_space Space, class T, class... Extents>
    requires(std::is_integral_v<Extents> && ...)
constexpr tensor_view<T, sizeof...(Extents), Space> make_view_in(T* data, Extents... extents)
{
    return tensor_view<T, sizeof...(Extents), Space>(data, {static_cast<index_t>(extents)...});
}

template <class T, memory_space Space>
constexpr matrix_view<T, Space> transpose(const matrix_view<T, Space>& m) noexcept
{
    return m.transposed();
}

/// Matches any tensor_view specialisation.
template <class V>
inline constexpr bool is_tensor_view_v = false;
template <class T, std::size_t R, class S>
inline constexpr bool is_tensor_view_v<tensor_view<T, R, S>> = true;

template <class V>
concept any_view = is_tensor_view_v<std::remove_cvref_t<V>>;

namespace detail {

/// Checks that `view` has exactly `expected` extents (negative entries match anything).
template <class T, std::size_t R, class S>
void require_extents(const tensor_view<T, R, S>& view, std::string_view name,
                     const extents_t<R>& expected)
{
    bool ok = true;
    for (std::size_t d = 0; d < R; ++d) ok = ok && (expected[d] < 0 || expected[d] == view.extent(d));
    if (!ok) {
        std::string want = "[";
        for (std::size_t d = 0; d < R; ++d) {
            if (d) want += ", ";
            want += expected[d] < 0 ? std::string("*") : std::to_string(expected[d]);
        }
        fail<shape_error>(name, "extents " + want + "]", format_extents(view.extents()));
    }
}

/// Checks a view has unit inner stride, the layout row kernels and BLAS need.
template <class T, std::size_t R, class S>
void require_unit_inner_stride(const tensor_view<T, R, S>& view, std::string_view name)
{
    require<shape_error>(view.has_unit_inner_stride(), name, "unit stride in the last dimension",
                         [&] { return "strides " + format_extents(view.strides()); });
}

}  // namespace detail
}  // namespace tailor
