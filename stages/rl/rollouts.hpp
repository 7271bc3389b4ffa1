// Rollouts for one RL step (nanochat chat_rl.py's get_batch): this rank's prompts of the
// task, each sampled --num-samples times by the Engine (calculator on), scored by the task's
// reward, and laid out as an RlBatch. Everything is a function of (seed, step), so a resumed
// run samples exactly what the uninterrupted one did.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <vector>

#include "nanochat/engine.hpp"
#include "nanochat/rl.hpp"
#include "nanochat/task.hpp"

namespace nanochat::rl {

struct RolloutSettings {
  int64_t examples_per_rank = 1;  // prompts of this rank per step
  int64_t num_samples = 16;       // samples per prompt (one group)
  int64_t rows_per_pass = 8;      // samples generated together
  SamplingOptions sampling;       // temperature, top-k, max_tokens; its seed is the run's
  size_t max_prompt_tokens = 2048;
};

struct Rollouts {
  RlBatch batch;
  std::vector<int64_t> lengths;   // per row: positions holding a token of the row (the rest is padding)
  double generated_tokens = 0;    // after the prompts, all rows of this rank
  double sampling_seconds = 0;
};

class RolloutSampler {
 public:
  // The rank's prompts are the tasks' examples (one after the other) rank, rank + world, ...
  // (nanochat's order), cycled; each is scored by its own task's reward. Throws UsageError
  // when the rank would get none.
  RolloutSampler(const TaskSequence& tasks, Engine& engine, RolloutSettings settings, int rank, int world_size,
                 c10::Device device);

  Rollouts sample(int64_t step);

 private:
  const TaskSequence& tasks_;
  Engine& engine_;
  RolloutSettings settings_;
  std::vector<size_t> indices_;
  c10::Device device_;
};

// The seed of one generation pass: a fixed mix of the run's seed, the step, the example and
// the pass, so no sampler state needs saving.
uint64_t rollout_seed(uint64_t seed, int64_t step, size_t example, int64_t pass);

}  // namespace nanochat::rl
