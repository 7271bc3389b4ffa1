// The RL-algorithm interface (plugin kind `rl`, e.g. "grpo" and "ppo"). The `rl` stage owns
// everything but the algorithm: it samples rollouts, scores them with the task's reward,
// runs forward/backward, steps the optimizers, reduces across ranks and saves checkpoints.
// An algorithm says what it needs (needs()), turns a batch of rollouts into advantages
// (prepare()) and a slice of it into a loss (loss()). docs/writing-an-rl-plugin.md walks
// through a complete one (plugins/rl-template).
//
// One step of the stage, on every rank:
//   1. rollouts: this rank's prompts, num_samples samples each → RlBatch (rows of one prompt
//      share a group id; a group never spans ranks), rewards from the task;
//   2. no grad: old_logp (the sampling policy's log-probs), ref_logp (a frozen copy of the
//      start model), old_values (the value head), each only if needs() asks;
//   3. prepare(batch): advantages (and returns, with a value head);
//   4. needs().epochs × needs().minibatches updates; each minibatch is a contiguous range of
//      rows, run in slices of --device-batch-size rows: loss(batch, slice, logp, values,
//      norm) → backward; then the optimizers step (gradients averaged across ranks);
//   5. on_step_end(stats).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "nanochat/plugin_options.hpp"
#include "nanochat/rl_options.hpp"

namespace nanochat {

// What an algorithm asks the stage for. Anything it does not ask for stays undefined in
// the batch (and costs nothing).
struct RlNeeds {
  bool old_logprobs = false;  // batch.old_logp: log-probs of the policy that sampled (before any update)
  bool ref_logprobs = false;  // batch.ref_logp: log-probs of a frozen copy of the model the run started from
  bool value_head = false;    // a scalar head on the final hidden states: batch.old_values and loss()'s values
  int64_t epochs = 1;         // passes over each rollout batch
  int64_t minibatches = 1;    // optimizer steps per epoch; this rank's rows split into this many ranges
};

// One rank's rollouts of one step: N rows (samples) of T positions, prompt and reply
// together, right-padded. Every (N, T) tensor is aligned with `targets`: position t
// predicts targets[:, t] from inputs[:, ..t].
struct RlBatch {
  at::Tensor inputs;     // (N, T) int64 token ids
  at::Tensor targets;    // (N, T) int64: the next token where it was sampled, -1 elsewhere
  at::Tensor mask;       // (N, T) float32: 1 where the target was sampled by the policy; 0 on the
                         // prompt, on tokens the calculator forced, and on padding
  at::Tensor rewards;    // (N,) float32: the task's reward of each sample
  at::Tensor group;      // (N,) int64: samples of the same prompt share an id (0, 1, ... on this rank)
  int64_t num_groups = 0;
  at::Tensor old_logp;   // (N, T) float32, 0 where mask is 0; if needs().old_logprobs
  at::Tensor ref_logp;   // (N, T) float32, 0 where mask is 0; if needs().ref_logprobs
  at::Tensor old_values; // (N, T) float32; if needs().value_head
  // Set by prepare():
  at::Tensor advantages; // (N, T) float32, or (N,) for one advantage per sample
  at::Tensor returns;    // (N, T) float32: the value head's targets; with a value head
};

// Rows [begin, end) of the batch: one forward pass.
struct RlSlice {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t rows() const { return end - begin; }
};

// Counts over the current minibatch of every rank, so a loss normalised by them is right
// however the minibatch is split into slices and ranks: the stage sums the slices' losses
// over slices and ranks (it scales the gradient by the world size, since the optimizers
// average across ranks).
struct RlNorm {
  double tokens = 0;            // sampled tokens (mask 1), all ranks
  double sequences = 0;         // rows, all ranks
  int64_t max_new_tokens = 0;   // the sampling budget per row (Dr. GRPO's constant)
};

// A slice's loss and what to log. Each metric is normalised like the loss, so that its sum
// over slices and ranks is the minibatch's value (e.g. clipped tokens / norm.tokens); the
// stage logs the mean over the step's updates.
struct RlLoss {
  at::Tensor loss;  // scalar, with grad
  std::vector<std::pair<std::string, at::Tensor>> metrics;  // scalars, without grad
};

// What on_step_end() learns about a step.
struct RlStepStats {
  int64_t step = 0;
  int64_t num_steps = 0;
  double mean_reward = 0;  // all ranks
  double kl = 0;           // mean of old_logp − ref_logp over sampled tokens, all ranks (0 without ref_logprobs)
  std::map<std::string, double> metrics;  // the loss metrics, mean over the step's updates
};

// An algorithm's own state that a resumed run needs (e.g. an adaptive KL coefficient).
using RlState = std::map<std::string, double>;

// OptionDeclaring is the first and only base: the torch-free host asks an RL plugin for
// describe_options() through it (`nanochat plugins info`).
class RlAlgorithm : public OptionDeclaring {
 public:
  static constexpr const char* kInterfaceId = kRlInterfaceId;

  // describe_options(): every option, with default, range and one line of help.

  // Called once, before needs(), with the declared defaults overridden by --algo-option
  // (already checked against describe_options() by resolve_options). Throws UsageError for
  // a combination that makes no sense (say which options and why).
  virtual void configure(const OptionValues& options) = 0;

  virtual RlNeeds needs() const = 0;

  // No grad. Sets batch.advantages (and batch.returns with a value head) from the rewards,
  // groups, masks and whatever needs() asked for.
  virtual void prepare(RlBatch& batch) = 0;

  // The loss of rows [slice.begin, slice.end) of `batch`, normalised with `norm`.
  //   logp    (rows, T) float32 with grad: the current policy's log-probs of batch.targets
  //           in those rows, 0 where the target is -1
  //   values  (rows, T) float32 with grad: the value head's output; undefined without one
  virtual RlLoss loss(const RlBatch& batch, const RlSlice& slice, const at::Tensor& logp, const at::Tensor& values,
                      const RlNorm& norm) = 0;

  // After the optimizers stepped; e.g. adapts a KL coefficient.
  virtual void on_step_end(const RlStepStats& stats) { (void)stats; }

  // What a checkpoint saves and a resume restores.
  virtual RlState state() const { return {}; }
  virtual void load_state(const RlState& state) { (void)state; }
};

}  // namespace nanochat
