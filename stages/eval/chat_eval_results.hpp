// What a chat evaluation leaves behind (rank 0): the JSON file a script reads,
// $NANOCHAT_BASE_DIR/eval/<source>-chat.json, written atomically —
//   {"source", "kind": "chat", "model_tag", "step", "max_problems" (null: all),
//    "num_samples", "seconds", "time" (ISO 8601 UTC),
//    "tasks": [{"name", "label", "split", "accuracy", "centered", "items", "passed", "seconds"}],
//    "summary": {"<label>": accuracy, ..., "ChatCORE": mean centered (only when all six ran)}}
// — the report section "Chat evaluation <source>" (report/chat-evaluation-<source>.md, with
// nanochat's keys: the options, one line per metric, "ChatCORE metric"; only "- key: value"
// lines, which nanochat's report reads by key), and the summary table.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nanochat/report.hpp"
#include "nanochat/task_eval.hpp"

namespace nanochat::eval {

struct ChatTaskResult {
  std::string name;   // the task plugin
  std::string label;  // nanochat's metric name, or the task list label
  std::string split;
  EvalType eval_type = EvalType::generative;
  TaskScore score;    // over all ranks
  double seconds = 0;

  double centered() const;  // against chat_baseline(eval_type)
};

struct ChatEvalRun {
  std::string source;  // base, mid, sft, rl
  std::string model_tag;
  int64_t step = 0;
  int64_t max_problems = -1;
  int num_samples = 1;
  double seconds = 0;
  std::vector<ChatTaskResult> tasks;

  // Mean centered accuracy of nanochat's six, when all of them are in `tasks`.
  std::optional<double> chat_core() const;
};

// The JSON object above (without "time" when `time` is empty).
nlohmann::json chat_eval_json(const ChatEvalRun& run, const std::string& time);

// | Task | Split | Problems | Passed | Accuracy | Centered | Seconds |, then ChatCORE.
std::string chat_eval_table(const ChatEvalRun& run);

// Writes <base>/eval/<source>-chat.json and the report section (`options` first, as
// nanochat logs its arguments); returns the JSON file.
std::filesystem::path write_chat_eval(const std::filesystem::path& base_dir, const ChatEvalRun& run,
                                      const ReportItems& options);

}  // namespace nanochat::eval
