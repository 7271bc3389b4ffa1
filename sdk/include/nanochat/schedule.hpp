// nanochat's training length and learning-rate schedule (scripts/base_train.py at nanochat
// commit 10231df): the number of steps derived from a FLOPs or data:param target, and
// get_lr_multiplier (optional linear warm-up, constant, then a linear warm-down over the
// last part of training to final_lr_frac). Rounding is Python's, so every step count and
// multiplier is nanochat's (tests/parity/test_schedule_parity checks them against
// nanochat's formulas in Python).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "nanochat/error.hpp"

namespace nanochat {

// Python's round(): to the nearest integer, halves to the even one (the default rounding
// mode). std::round takes halves away from zero: 2.5 would give 3 where nanochat gets 2.
inline int64_t round_half_even(double x) { return static_cast<int64_t>(std::nearbyint(x)); }

struct LrSchedule {
  double warmup_ratio = 0.0;
  double warmdown_ratio = 0.2;
  double final_lr_frac = 0.0;
};

// The multiplier of every group's initial lr at `step` of `num_iterations`.
inline double lr_multiplier(int64_t step, int64_t num_iterations, const LrSchedule& schedule) {
  const int64_t warmup = round_half_even(schedule.warmup_ratio * static_cast<double>(num_iterations));
  const int64_t warmdown = round_half_even(schedule.warmdown_ratio * static_cast<double>(num_iterations));
  if (step < warmup) return static_cast<double>(step + 1) / static_cast<double>(warmup);
  if (step <= num_iterations - warmdown) return 1.0;
  double progress = static_cast<double>(num_iterations - step) / static_cast<double>(warmdown);
  return progress + (1.0 - progress) * schedule.final_lr_frac;
}

// How long to train, in base_train's order of precedence: num_iterations when positive,
// else the steps that spend target_flops, else the steps that show the model
// target_param_data_ratio tokens per parameter (20: Chinchilla).
struct TrainingHorizon {
  int64_t num_iterations = -1;
  double target_flops = -1;
  double target_param_data_ratio = 20;
};

// The number of optimizer steps of `total_batch_size` tokens each; at least 1 (where
// nanochat would run 0 steps and save an untrained model). Throws UsageError when the
// horizon sets none of its three ways.
inline int64_t training_steps(const TrainingHorizon& horizon, int64_t num_params, int64_t flops_per_token,
                              int64_t total_batch_size) {
  if (horizon.num_iterations > 0) return horizon.num_iterations;
  const double batch = static_cast<double>(total_batch_size);
  int64_t steps = 0;
  if (horizon.target_flops > 0) {
    steps = round_half_even(horizon.target_flops / (static_cast<double>(flops_per_token) * batch));
  } else if (horizon.target_param_data_ratio > 0) {
    // target_tokens // total_batch_size as Python's floor division of floats computes it:
    // the remainder taken off first, so the quotient is exact.
    const double tokens = horizon.target_param_data_ratio * static_cast<double>(num_params);
    steps = static_cast<int64_t>(std::floor((tokens - std::fmod(tokens, batch)) / batch));
  } else {
    throw UsageError("no training horizon: set --num-iterations, --target-flops or --target-param-data-ratio");
  }
  return std::max<int64_t>(1, steps);
}

}  // namespace nanochat
