#pragma once
// Build-wide switches and annotations shared by every room.
#include <cstddef>

#if defined(__CUDACC__)
#define TAILOR_HOST_DEVICE __host__ __device__
#else
#define TAILOR_HOST_DEVICE
#endif

// An elementwise loop with independent iterations, vectorised at full width: GCC prefers
// 256-bit vectors on AVX-512 CPUs unless told otherwise, and OpenMP's simdlen tells it
// per loop. Without OpenMP the loop is left to the compiler's defaults.
#if defined(_OPENMP)
#define TAILOR_VECTOR_LOOP _Pragma("omp simd simdlen(16)")
#else
#define TAILOR_VECTOR_LOOP
#endif

#define TAILOR_VERSION_MAJOR 0
#define TAILOR_VERSION_MINOR 1
#define TAILOR_VERSION_PATCH 0

namespace tailor {
/// Signed index type for extents, strides and loop counters (as in Eigen and mdspan).
using index_t = std::ptrdiff_t;
}  // namespace tailor
