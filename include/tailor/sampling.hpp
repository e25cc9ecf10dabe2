#pragma once
// The sampling room: alias tables, class samplers, text-similarity and random pair
// samplers, epochs with sharding, long-tail count profiles. See docs/sampling.md.
#include "tailor/sampling/alias_table.hpp"
#include "tailor/sampling/class_index.hpp"
#include "tailor/sampling/class_samplers.hpp"
#include "tailor/sampling/concepts.hpp"
#include "tailor/sampling/epoch.hpp"
#include "tailor/sampling/long_tail.hpp"
#include "tailor/sampling/pair_samplers.hpp"
#include "tailor/sampling/similarity.hpp"
