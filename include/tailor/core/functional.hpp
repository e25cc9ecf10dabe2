#pragma once
// Small function objects the op set is parameterised with. They are plain structs with
// host/device call operators so the same functor runs in a CPU loop or a CUDA kernel.
#include <cmath>

#include "tailor/core/config.hpp"

namespace tailor {

struct plus {
    template <class T>
    TAILOR_HOST_DEVICE constexpr T operator()(T a, T b) const noexcept { return a + b; }
};

struct multiplies {
    template <class T>
    TAILOR_HOST_DEVICE constexpr T operator()(T a, T b) const noexcept { return a * b; }
};

struct maximum {
    template <class T>
    TAILOR_HOST_DEVICE constexpr T operator()(T a, T b) const noexcept { return a < b ? b : a; }
};

struct minimum {
    template <class T>
    TAILOR_HOST_DEVICE constexpr T operator()(T a, T b) const noexcept { return b < a ? b : a; }
};

/// GEMM epilogue that leaves the accumulated value as it is; backends skip the pass.
struct identity_epilogue {
    template <class T>
    TAILOR_HOST_DEVICE constexpr T operator()(index_t, index_t, T value) const noexcept { return value; }
};

/// GEMM epilogue adding a per-column bias (a linear layer's bias, a logit prior).
template <class T>
struct bias_epilogue {
    const T* bias;
    TAILOR_HOST_DEVICE constexpr T operator()(index_t, index_t col, T value) const noexcept
    {
        return value + bias[col];
    }
};

/// GEMM epilogue applying ReLU after an optional per-column bias.
template <class T>
struct bias_relu_epilogue {
    const T* bias;  // may be null
    TAILOR_HOST_DEVICE constexpr T operator()(index_t, index_t col, T value) const noexcept
    {
        const T v = bias ? value + bias[col] : value;
        return v > T(0) ? v : T(0);
    }
};

}  // namespace tailor
