#pragma once
// The optim room: update rules, the optimizer template and learning-rate schedules.
#include "tailor/optim/optimizer.hpp"
#include "tailor/optim/schedules.hpp"
