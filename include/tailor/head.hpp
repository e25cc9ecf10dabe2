#pragma once
// The head room: the cosine text-classifier head (zero-shot and LFM stage 2) and VL-LTR's
// language-guided recognition head.
#include "tailor/head/cosine_head.hpp"
#include "tailor/head/layer_norm.hpp"
#include "tailor/head/lgr.hpp"
