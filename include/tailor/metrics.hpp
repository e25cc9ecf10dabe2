#pragma once
// The metrics room: classification accuracy and many / medium / few-shot reports.
#include "tailor/metrics/classification.hpp"
#include "tailor/metrics/shot_groups.hpp"
