#pragma once
// Umbrella header: the core, and every backend whose library is on the include path.
#include "tailor/core/concepts.hpp"
#include "tailor/core/config.hpp"
#include "tailor/core/error.hpp"
#include "tailor/core/functional.hpp"
#include "tailor/core/memory_space.hpp"
#include "tailor/core/random.hpp"
#include "tailor/core/tensor.hpp"
#include "tailor/core/targets.hpp"
#include "tailor/core/view.hpp"

// The algorithm rooms need only the core; text/ and io/ need optional libraries and are
// included on their own (tailor/text/clip_tokenizer.hpp, tailor/io/safetensors.hpp).
#include "tailor/head.hpp"
#include "tailor/loss.hpp"
#include "tailor/metrics.hpp"
#include "tailor/mixup.hpp"
#include "tailor/optim.hpp"
#include "tailor/sampling.hpp"
#include "tailor/text/anchor_sentences.hpp"

#if __has_include(<Eigen/Core>)
#include "tailor/backend/eigen/backend.hpp"
namespace tailor {
/// The CPU backend used when a caller does not choose one.
using default_backend = eigen::backend;
}  // namespace tailor
#endif

// xtensor-blas needs a BLAS at link time, so it comes in only through tailor::xtensor.
#if defined(TAILOR_HAVE_XTENSOR)
#include "tailor/backend/xtensor/backend.hpp"
#endif
