// nanochat's chat metrics (scripts/chat_eval.py at commit 10231df): the six tasks it reports
// under fixed names, the split and size it evaluates each on, the random baseline of a task
// (1 in 4 letters for multiple choice, 0 for open-ended answers), centered accuracy, and
// ChatCORE, the mean centered accuracy of the six, defined only when all six ran.
// Torch-free.
#pragma once

#include <array>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "nanochat/task.hpp"

namespace nanochat {

struct ChatMetric {
  const char* task;   // the task plugin's name
  const char* label;  // nanochat's metric name, as its report and summary table write it
};

inline constexpr std::array<ChatMetric, 6> kChatMetrics = {{
    {"arc-easy", "ARC-Easy"},
    {"arc-challenge", "ARC-Challenge"},
    {"mmlu", "MMLU"},
    {"gsm8k", "GSM8K"},
    {"humaneval", "HumanEval"},
    {"spellingbee", "SpellingBee"},
}};

// The split nanochat evaluates every one of the six on.
inline constexpr const char* kChatMetricSplit = "test";

// nanochat's default task list in the task-list grammar (task.hpp), each on its test split:
// "arc-easy,arc-challenge,mmlu,gsm8k,humaneval,spellingbee=256" (SpellingBee: 256 problems).
inline constexpr const char* kDefaultChatEvalTasks = "arc-easy,arc-challenge,mmlu,gsm8k,humaneval,spellingbee=256";

// nanochat's name for `task` evaluated on `split`: "ARC-Easy" for arc-easy on test; the
// task list label ("mmlu:dev", "simple-spelling:test") for anything nanochat does not report.
std::string chat_metric_label(std::string_view task, std::string_view split, const std::string& task_label);

// Random guessing's accuracy: 0.25 for categorical tasks (one of four letters), 0 for
// generative ones.
double chat_baseline(EvalType type);

// (accuracy − baseline) / (1 − baseline): 0 at chance, 1 when every answer is right.
double centered_accuracy(double accuracy, double baseline);

// The mean centered accuracy of the six metrics, from centered accuracies by label; nullopt
// unless every label of kChatMetrics is present (other labels are ignored).
std::optional<double> chat_core(const std::map<std::string, double>& centered_by_label);

}  // namespace nanochat
