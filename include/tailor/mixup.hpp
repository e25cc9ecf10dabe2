#pragma once
// The mixup room: lambda distributions, label-shift policies (standard, LFM, Remix), mixers
// (input, CutMix, feature), targets, and mixup_batcher composing them with a pair sampler.
// See docs/mixup.md.
#include "tailor/mixup/batcher.hpp"
#include "tailor/mixup/concepts.hpp"
#include "tailor/mixup/label_shift.hpp"
#include "tailor/mixup/lambda.hpp"
#include "tailor/mixup/mixers.hpp"
#include "tailor/mixup/targets.hpp"
