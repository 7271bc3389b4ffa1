// Picking the next token from logits as nanochat's sample_next_token does: argmax at
// temperature 0, otherwise the top-k logits (all when k is 0) divided by the temperature,
// softmax, and one multinomial draw per row from a seeded generator.
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <cstdint>

#include <c10/core/Device.h>

#include "nanochat/engine.hpp"

namespace nanochat::detail {

// A new generator of `device`'s kind seeded with `seed`, apart from the global one, so two
// generations with the same seed draw the same numbers whatever ran in between (and
// engines on several threads never share one).
at::Generator make_generator(c10::Device device, uint64_t seed);

// logits (rows, vocab) → the chosen ids (rows), int64 on the logits' device.
at::Tensor sample_next_tokens(const at::Tensor& logits, const SamplingOptions& options, at::Generator& generator);

}  // namespace nanochat::detail
