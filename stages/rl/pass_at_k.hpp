// RL's evaluation (nanochat chat_rl.py's run_gsm8k_eval): each problem of the eval task
// sampled k times at the training temperature, pass@j = the share of problems with a right
// answer among their first j samples, for j = 1..k. Problems are split across ranks
// (i to rank i mod world) and the counts summed, so any number of ranks gives one result.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "nanochat/distributed.hpp"
#include "nanochat/engine.hpp"
#include "nanochat/task.hpp"

namespace nanochat::rl {

struct PassAtKSettings {
  size_t problems = 400;     // the first ones of the task (fewer if it has fewer)
  int64_t samples = 8;       // k
  int64_t rows_per_pass = 8;
  SamplingOptions sampling;  // problem i is sampled with seed sampling.seed + i
  size_t max_prompt_tokens = 2048;
};

// pass@1 .. pass@k over every rank's problems.
std::vector<double> pass_at_k(Engine& engine, const TaskRef& task, const PassAtKSettings& settings, Distributed& dist,
                              c10::Device device);

}  // namespace nanochat::rl
