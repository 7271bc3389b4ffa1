// The JSON file, the report section and the table of a chat evaluation (see chat_eval_results.hpp).
#include "chat_eval_results.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <map>

#include <nlohmann/json.hpp>

#include "nanochat/atomic_file.hpp"
#include "nanochat/chat_metrics.hpp"

namespace nanochat::eval {
namespace {

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

}  // namespace

double ChatTaskResult::centered() const { return centered_accuracy(score.accuracy(), chat_baseline(eval_type)); }

std::optional<double> ChatEvalRun::chat_core() const {
  std::map<std::string, double> centered;
  for (const ChatTaskResult& task : tasks) centered[task.label] = task.centered();
  return nanochat::chat_core(centered);
}

nlohmann::json chat_eval_json(const ChatEvalRun& run, const std::string& time) {
  nlohmann::json json = {{"source", run.source},
                         {"kind", "chat"},
                         {"model_tag", run.model_tag},
                         {"step", run.step},
                         {"max_problems", run.max_problems < 0 ? nlohmann::json() : nlohmann::json(run.max_problems)},
                         {"num_samples", run.num_samples},
                         {"seconds", run.seconds}};
  if (!time.empty()) json["time"] = time;
  json["tasks"] = nlohmann::json::array();
  json["summary"] = nlohmann::json::object();
  for (const ChatTaskResult& task : run.tasks) {
    json["tasks"].push_back({{"name", task.name},
                             {"label", task.label},
                             {"split", task.split},
                             {"accuracy", task.score.accuracy()},
                             {"centered", task.centered()},
                             {"items", task.score.total},
                             {"passed", task.score.passed},
                             {"seconds", task.seconds}});
    json["summary"][task.label] = task.score.accuracy();
  }
  if (const auto core = run.chat_core()) json["summary"]["ChatCORE"] = *core;
  return json;
}

std::string chat_eval_table(const ChatEvalRun& run) {
  // The first two columns as wide as their longest entry (nanochat's summary: 15 for the names).
  size_t label_width = 15, split_width = 5;
  for (const ChatTaskResult& task : run.tasks) {
    label_width = std::max(label_width, task.label.size());
    split_width = std::max(split_width, task.split.size());
  }
  auto row = [&](const std::string& label, const std::string& split, const std::string& problems,
                 const std::string& passed, const std::string& accuracy, const std::string& centered,
                 const std::string& seconds) {
    return fmt::format("| {:<{}} | {:<{}} | {:>8} | {:>6} | {:>8} | {:>8} | {:>7} |\n", label, label_width, split,
                       split_width, problems, passed, accuracy, centered, seconds);
  };
  std::string table = row("Task", "Split", "Problems", "Passed", "Accuracy", "Centered", "Seconds");
  table += fmt::format("|{}|{}|----------|--------|----------|----------|---------|\n", std::string(label_width + 2, '-'),
                       std::string(split_width + 2, '-'));
  for (const ChatTaskResult& task : run.tasks) {
    table += row(task.label, task.split, std::to_string(task.score.total), std::to_string(task.score.passed),
                 fmt::format("{:.4f}", task.score.accuracy()), fmt::format("{:.4f}", task.centered()),
                 fmt::format("{:.1f}", task.seconds));
  }
  if (const auto core = run.chat_core()) table += row("ChatCORE", "", "", "", "", fmt::format("{:.4f}", *core), "");
  return table;
}

std::filesystem::path write_chat_eval(const std::filesystem::path& base_dir, const ChatEvalRun& run,
                                      const ReportItems& options) {
  const std::filesystem::path file = base_dir / "eval" / (run.source + "-chat.json");
  std::filesystem::create_directories(file.parent_path());
  atomic_write_file(file, chat_eval_json(run, utc_now()).dump(2) + "\n");

  ReportItems items = options;
  for (const ChatTaskResult& task : run.tasks) items.emplace_back(task.label, task.score.accuracy());
  if (const auto core = run.chat_core()) items.emplace_back("ChatCORE metric", *core);
  write_report_section(base_dir, "Chat evaluation " + run.source, items);
  return file;
}

}  // namespace nanochat::eval
