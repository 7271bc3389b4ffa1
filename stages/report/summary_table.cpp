// The Summary table (see summary_table.hpp).
#include "summary_table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <set>
#include <tuple>

namespace nanochat::report {
namespace {

constexpr std::array<const char*, 7> kMetrics = {"CORE-20", "ARC-Easy", "ARC-Challenge", "MMLU", "GSM8K", "HumanEval", "ChatCORE"};
constexpr std::array<const char*, 4> kSources = {"base", "mid", "sft", "rl"};
constexpr size_t kMetricWidth = 15, kValueWidth = 8;

bool in_table(const std::string& source, const std::string& metric) {
  if (source == "rl") return metric == "GSM8K";
  return std::find(kMetrics.begin(), kMetrics.end(), metric) != kMetrics.end();
}

std::string upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

}  // namespace

SummaryValues summary_values(const std::vector<EvalResult>& results) {
  SummaryValues values;
  for (const EvalResult& result : results) {
    for (const auto& [metric, value] : result.summary) {
      if (in_table(result.source, metric)) values[result.source][metric] = value;
    }
  }
  return values;
}

std::string summary_table(const SummaryValues& values) {
  std::set<std::string> metrics;
  for (const auto& [source, by_metric] : values) {
    for (const auto& [metric, value] : by_metric) metrics.insert(metric);
  }
  std::vector<std::string> rows(metrics.begin(), metrics.end());
  // nanochat's key: (x != "CORE", x == "ChatCORE", x)
  std::sort(rows.begin(), rows.end(), [](const std::string& a, const std::string& b) {
    auto key = [](const std::string& m) { return std::make_tuple(m.rfind("CORE", 0) != 0, m == "ChatCORE", m); };
    return key(a) < key(b);
  });
  std::string out = fmt::format("| {:<{}} |", "Metric", kMetricWidth);
  std::string separator = "|" + std::string(kMetricWidth + 2, '-') + "|";
  for (const char* source : kSources) {
    out += fmt::format(" {:<{}} |", upper(source), kValueWidth);
    separator += std::string(kValueWidth + 2, '-') + "|";
  }
  out += "\n" + separator + "\n";
  for (const std::string& metric : rows) {
    out += fmt::format("| {:<{}} |", metric, kMetricWidth);
    for (const char* source : kSources) {
      auto stage = values.find(source);
      const bool has = stage != values.end() && stage->second.count(metric);
      out += fmt::format(" {:<{}} |", has ? fmt::format("{:.4f}", stage->second.at(metric)) : "-", kValueWidth);
    }
    out += "\n";
  }
  return out;
}

std::string format_wall_clock(double seconds) {
  const long total = std::max(0L, static_cast<long>(std::floor(seconds)));  // nanochat: int(total_seconds())
  return fmt::format("{}h{}m", total / 3600, (total % 3600) / 60);
}

}  // namespace nanochat::report
