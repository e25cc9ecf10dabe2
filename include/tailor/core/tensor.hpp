#pragma once
// Owning host tensors, for models, examples and tests. They hand out views; algorithms
// only ever see views. Storage is 64-byte aligned so SIMD loads of the first row align.
#include <algorithm>
#include <cstdlib>
#include <memory>
#include <new>

#include "tailor/core/view.hpp"

namespace tailor {
namespace detail {

template <class T, std::size_t Alignment = 64>
struct aligned_deleter {
    void operator()(T* p) const noexcept { ::operator delete[](p, std::align_val_t{Alignment}); }
};

}  // namespace detail

/// A row-major, contiguous, host-resident tensor that owns its elements.
template <class T, std::size_t Rank>
class tensor {
    static_assert(!std::is_const_v<T>, "tailor::tensor owns mutable elements");

public:
    using value_type = T;
    using extents_type = extents_t<Rank>;
    static constexpr std::size_t rank = Rank;

    tensor() = default;

    /// Zero-initialised tensor of the given extents.
    explicit tensor(const extents_type& extents) : tensor(extents, T{}) {}

    tensor(const extents_type& extents, const T& value) : extents_(extents)
    {
        index_t n = 1;
        for (auto e : extents) {
            detail::require<shape_error>(e >= 0, "extents", "non-negative extents",
                                         detail::format_extents(extents));
            n *= e;
        }
        size_ = n;
        if (n > 0) {
            data_.reset(static_cast<T*>(::operator new[](sizeof(T) * static_cast<std::size_t>(n),
                                                         std::align_val_t{64})));
            std::uninitialized_fill_n(data_.get(), n, value);
        }
    }

    tensor(const tensor& other) : tensor(other.extents_)
    {
        std::copy_n(other.data(), size_, data());
    }
    tensor& operator=(const tensor& other)
    {
        if (this != &other) *this = tensor(other);
        return *this;
    }
    tensor(tensor&&) noexcept = default;
    tensor& operator=(tensor&&) noexcept = default;

    T* data() noexcept { return data_.get(); }
    const T* data() const noexcept { return data_.get(); }
    const extents_type& extents() const noexcept { return extents_; }
    index_t extent(std::size_t d) const noexcept { return extents_[d]; }
    index_t size() const noexcept { return size_; }

    tensor_view<T, Rank> view() noexcept { return {data(), extents_}; }
    tensor_view<const T, Rank> view() const noexcept { return {data(), extents_}; }
    operator tensor_view<T, Rank>() noexcept { return view(); }
    operator tensor_view<const T, Rank>() const noexcept { return view(); }

    template <class... Indices>
    T& operator()(Indices... indices) noexcept
    {
        return view()(indices...);
    }
    template <class... Indices>
    const T& operator()(Indices... indices) const noexcept
    {
        return view()(indices...);
    }

    T* begin() noexcept { return data(); }
    T* end() noexcept { return data() + size_; }
    const T* begin() const noexcept { return data(); }
    const T* end() const noexcept { return data() + size_; }

private:
    std::unique_ptr<T[], detail::aligned_deleter<T>> data_;
    extents_type extents_{};
    index_t size_ = 0;
};

template <class T>
using matrix = tensor<T, 2>;
template <class T>
using vector = tensor<T, 1>;

}  // namespace tailor
