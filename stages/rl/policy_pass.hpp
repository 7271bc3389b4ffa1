// The policy's log-probs of a batch's sampled targets (and the value head's values) over a
// slice of rows: one forward pass, cut after the slice's longest row, the cut positions
// given back as zeros so the result lines up with the batch's (rows, T).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "nanochat/gpt.hpp"
#include "nanochat/rl.hpp"
#include "value_head.hpp"

namespace nanochat::rl {

struct PolicyOutput {
  at::Tensor logp;    // (rows, T) float32, 0 where the target is -1
  at::Tensor values;  // (rows, T) float32; undefined without a head
};

// With grad, as the current graph allows. `head` may be null.
PolicyOutput policy_pass(GPT& model, const ValueHead* head, const RlBatch& batch, const RlSlice& slice,
                         const std::vector<int64_t>& lengths);

// No grad, over every row in slices of `rows_per_pass` rows: (N, T) log-probs, and values
// when `head` is not null.
PolicyOutput policy_pass_no_grad(GPT& model, const ValueHead* head, const RlBatch& batch,
                                 const std::vector<int64_t>& lengths, int64_t rows_per_pass);

}  // namespace nanochat::rl
