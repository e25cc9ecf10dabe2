#pragma once
// The losses room: imbalance-aware softmax losses as policy types run by one fused driver
// (loss::value_and_gradient) on any backend, with class-balanced weights and DRW.
#include "tailor/loss/balanced_softmax.hpp"
#include "tailor/loss/class_balanced.hpp"
#include "tailor/loss/contrastive.hpp"
#include "tailor/loss/counts.hpp"
#include "tailor/loss/cross_entropy.hpp"
#include "tailor/loss/distillation.hpp"
#include "tailor/loss/driver.hpp"
#include "tailor/loss/drw.hpp"
#include "tailor/loss/equalization.hpp"
#include "tailor/loss/focal.hpp"
#include "tailor/loss/ldam.hpp"
#include "tailor/loss/logit_adjustment.hpp"
#include "tailor/loss/mms.hpp"
#include "tailor/loss/reduction.hpp"
#include "tailor/loss/row_math.hpp"
#include "tailor/loss/targets.hpp"
