// nanochat's chat metric names, baselines and ChatCORE (see nanochat/chat_metrics.hpp).
#include "nanochat/chat_metrics.hpp"

namespace nanochat {

std::string chat_metric_label(std::string_view task, std::string_view split, const std::string& task_label) {
  if (split == kChatMetricSplit) {
    for (const ChatMetric& metric : kChatMetrics) {
      if (task == metric.task) return metric.label;
    }
  }
  return task_label;
}

double chat_baseline(EvalType type) { return type == EvalType::categorical ? 0.25 : 0.0; }

double centered_accuracy(double accuracy, double baseline) { return (accuracy - baseline) / (1.0 - baseline); }

std::optional<double> chat_core(const std::map<std::string, double>& centered_by_label) {
  double sum = 0;
  for (const ChatMetric& metric : kChatMetrics) {
    const auto found = centered_by_label.find(metric.label);
    if (found == centered_by_label.end()) return std::nullopt;
    sum += found->second;
  }
  return sum / static_cast<double>(kChatMetrics.size());
}

}  // namespace nanochat
