// RL's value head: one linear map from the GPT's final hidden states to a scalar per
// position, zero at the start, trained by an AdamW plugin of its own. Its weights travel in
// that optimizer's state (value_head_optimizer), so a checkpoint of the run holds them
// while the model file stays the plain GPT that chat, serve and eval load.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <memory>

#include "nanochat/distributed.hpp"
#include "nanochat/optimizer.hpp"

namespace nanochat::rl {

struct ValueHead {
  ValueHead(int64_t n_embd, c10::Device device);
  // (B, T, n_embd) hidden states in any dtype → (B, T) float32 values.
  at::Tensor operator()(const at::Tensor& hidden) const;

  at::Tensor weight;  // (n_embd,)
  at::Tensor bias;    // ()
};

// Steps the head with the `adamw` plugin at `lr` (gradients averaged across ranks);
// state_dict() adds "head.weight" and "head.bias" to AdamW's own state.
std::shared_ptr<Optimizer> value_head_optimizer(ValueHead& head, double lr, std::shared_ptr<Distributed> dist);

}  // namespace nanochat::rl
