// The one-line-per-step training log (DESIGN.md: step, loss, lr, tok/s, MFU, ETA) and the
// debiased moving average of the loss that nanochat prints.
#pragma once

#include <cstdint>
#include <string>

namespace nanochat {

struct StepStats {
  int64_t step = 0;
  int64_t num_steps = 0;
  double loss = 0.0;            // smoothed
  double lr_multiplier = 1.0;
  double dt_seconds = 0.0;
  double tokens_per_second = 0.0;
  double mfu_percent = 0.0;
  double eta_seconds = -1.0;    // < 0: unknown yet
};

// "step 00042/00500 (8.40%) | loss 5.123456 | lrm 1.00 | dt 812.3ms | tok/s 12,345 | mfu 41.20 | eta 6m12s"
std::string format_step_line(const StepStats& stats);

// "1h02m", "6m12s", "42s".
std::string format_duration(double seconds);

// Exponential moving average (β 0.9) with bias correction, so early values are not dragged to 0.
class LossSmoother {
 public:
  double update(double loss);
  double value() const;
  // For checkpoints: the raw EMA and how many values went in.
  double raw() const { return ema_; }
  int64_t count() const { return count_; }
  void restore(double raw, int64_t count) {
    ema_ = raw;
    count_ = count;
  }

 private:
  double ema_ = 0.0;
  int64_t count_ = 0;
};

}  // namespace nanochat
