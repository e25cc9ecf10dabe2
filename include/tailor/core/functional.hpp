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

/// Activations, as functors a GEMM epilogue applies. Backends recognise these types and
/// may run them vectorised; any other functor is applied element by element.
struct identity_op {
    template <class T>
    TAILOR_HOST_DEVICE constexpr T operator()(T x) const noexcept { return x; }
};

struct relu_op {
    template <class T>
    TAILOR_HOST_DEVICE constexpr T operator()(T x) const noexcept { return x > T(0) ? x : T(0); }
};

/// CLIP's QuickGELU: x sigmoid(1.702 x).
struct quick_gelu_op {
    template <class T>
    TAILOR_HOST_DEVICE T operator()(T x) const noexcept { return x / (T(1) + std::exp(T(-1.702) * x)); }
};

/// The exact GELU: x Phi(x) = x (1 + erf(x / sqrt 2)) / 2.
struct gelu_op {
    template <class T>
    TAILOR_HOST_DEVICE T operator()(T x) const noexcept
    {
        return T(0.5) * x * (T(1) + std::erf(x * T(0.70710678118654752440)));
    }
};

/// GEMM epilogue: an optional per-column bias (a linear layer's bias, a logit prior; null
/// for none), then an activation.
template <class T, class Activation = identity_op>
struct bias_activation_epilogue {
    const T* bias;
    [[no_unique_address]] Activation activation{};

    TAILOR_HOST_DEVICE constexpr T operator()(index_t, index_t col, T value) const noexcept
    {
        return activation(bias ? value + bias[col] : value);
    }
};

template <class T>
using bias_epilogue = bias_activation_epilogue<T, identity_op>;
template <class T>
using bias_relu_epilogue = bias_activation_epilogue<T, relu_op>;

}  // namespace tailor
