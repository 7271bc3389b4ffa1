// The JSON file, the report section and the table of a chat evaluation (see chat_eval_results.hpp).
#include "chat_eval_results.hpp"

#include <fmt/format.h>

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
  constexpr const char* kRow = "| {:<15} | {:<5} | {:>8} | {:>6} | {:>8} | {:>8} | {:>7} |\n";
  std::string table = fmt::format(kRow, "Task", "Split", "Problems", "Passed", "Accuracy", "Centered", "Seconds");
  table += "|-----------------|-------|----------|--------|----------|----------|---------|\n";
  for (const ChatTaskResult& task : run.tasks) {
    table += fmt::format(kRow, task.label, task.split, task.score.total, task.score.passed,
                         fmt::format("{:.4f}", task.score.accuracy()), fmt::format("{:.4f}", task.centered()),
                         fmt::format("{:.1f}", task.seconds));
  }
  if (const auto core = run.chat_core()) {
    table += fmt::format(kRow, "ChatCORE", "", "", "", "", fmt::format("{:.4f}", *core), "");
  }
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
