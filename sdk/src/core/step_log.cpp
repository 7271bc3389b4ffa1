// Formatting of training progress lines.
#include "nanochat/step_log.hpp"

#include <fmt/format.h>

#include <cmath>

namespace nanochat {
namespace {

std::string thousands(double value) {
  std::string digits = fmt::format("{:.0f}", value);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace

std::string format_duration(double seconds) {
  long total = std::lround(std::max(0.0, seconds));
  long hours = total / 3600, minutes = (total % 3600) / 60, secs = total % 60;
  if (hours > 0) return fmt::format("{}h{:02d}m", hours, minutes);
  if (minutes > 0) return fmt::format("{}m{:02d}s", minutes, secs);
  return fmt::format("{}s", secs);
}

std::string format_step_line(const StepStats& s) {
  double percent = s.num_steps > 0 ? 100.0 * static_cast<double>(s.step) / static_cast<double>(s.num_steps) : 0.0;
  return fmt::format("step {:05d}/{:05d} ({:.2f}%) | loss {:.6f} | lrm {:.2f} | dt {:.1f}ms | tok/s {} | mfu {:.2f} | eta {}",
                     s.step, s.num_steps, percent, s.loss, s.lr_multiplier, s.dt_seconds * 1000.0,
                     thousands(s.tokens_per_second), s.mfu_percent,
                     s.eta_seconds < 0 ? std::string("-") : format_duration(s.eta_seconds));
}

double LossSmoother::update(double loss) {
  ema_ = 0.9 * ema_ + 0.1 * loss;
  ++count_;
  return value();
}

double LossSmoother::value() const {
  return count_ == 0 ? 0.0 : ema_ / (1.0 - std::pow(0.9, static_cast<double>(count_)));
}

}  // namespace nanochat
