#pragma once
// Row-parallel loops shared by the CPU backends. OpenMP when the build has it, a plain
// loop otherwise; small problems stay on one thread, where a fork would cost more than it saves.
#include "tailor/core/config.hpp"

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace tailor::cpu {

/// Work (in elements touched) below which a loop stays serial.
inline constexpr index_t parallel_threshold = 1 << 15;

inline int max_threads() noexcept
{
#if defined(_OPENMP)
    return omp_get_max_threads();
#else
    return 1;
#endif
}

/// Calls `body(i)` for every i in [0, n); parallel when n * cost_per_item is large.
template <class Body>
void parallel_for(index_t n, index_t cost_per_item, Body&& body)
{
#if defined(_OPENMP)
    if (n > 1 && n * cost_per_item >= parallel_threshold && max_threads() > 1 && !omp_in_parallel()) {
#pragma omp parallel for schedule(static)
        for (index_t i = 0; i < n; ++i) body(i);
        return;
    }
#else
    (void)cost_per_item;
#endif
    for (index_t i = 0; i < n; ++i) body(i);
}

}  // namespace tailor::cpu
