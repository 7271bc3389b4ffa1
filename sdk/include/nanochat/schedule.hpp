// nanochat's learning-rate schedule (SPEC §4): optional linear warm-up, constant, then a
// linear warm-down over the last part of training to final_lr_frac. Shared by every
// training stage (pretrain, midtrain, sft, rl use it with their own ratios).
#pragma once

#include <cmath>
#include <cstdint>

namespace nanochat {

struct LrSchedule {
  double warmup_ratio = 0.0;
  double warmdown_ratio = 0.2;
  double final_lr_frac = 0.0;
};

// The multiplier of every group's initial lr at `step` of `num_iterations`.
inline double lr_multiplier(int64_t step, int64_t num_iterations, const LrSchedule& schedule) {
  const int64_t warmup = std::llround(schedule.warmup_ratio * static_cast<double>(num_iterations));
  const int64_t warmdown = std::llround(schedule.warmdown_ratio * static_cast<double>(num_iterations));
  if (step < warmup) return static_cast<double>(step + 1) / static_cast<double>(warmup);
  if (step <= num_iterations - warmdown) return 1.0;
  double progress = static_cast<double>(num_iterations - step) / static_cast<double>(warmdown);
  return progress + (1.0 - progress) * schedule.final_lr_frac;
}

}  // namespace nanochat
