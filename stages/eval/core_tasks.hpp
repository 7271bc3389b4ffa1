// The CORE benchmark's tasks (DCLM, arXiv:2406.11794, as nanochat's base_eval runs them):
// the task table, the items of each task read from llm-foundry's jsonl files, the order
// nanochat evaluates them in, and centered accuracy against eval_meta_data.csv's random
// baselines. Torch-free, so the unit tests check it without a model.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace nanochat::eval {

enum class CoreTaskType { multiple_choice, schema, language_modeling };

// "multiple_choice", "schema", "language_modeling" (core.yaml's icl_task_type).
const char* core_task_type_name(CoreTaskType type);

struct CoreTaskSpec {
  const char* label;      // nanochat's label, also the row of eval_meta_data.csv
  const char* file;       // under eval_data/, llm-foundry's layout (nanochat's dataset_uri)
  CoreTaskType type;
  int shots;              // few-shot examples before each item
  const char* delimiter;  // between context and continuation (continuation_delimiter)
  bool optional;          // absent from ../shared/data: evaluated only where its file exists
};

// The 22 tasks in core.yaml's order.
const std::vector<CoreTaskSpec>& core_task_table();

// One item of a task, in the fields its type uses. Text is as in the jsonl file.
struct CoreItem {
  std::string context;               // multiple_choice: query; language_modeling: context
  std::vector<std::string> options;  // multiple_choice: choices; schema: context_options
  std::string continuation;          // schema and language_modeling
  int gold = 0;                      // multiple_choice and schema: the right option
};

// Where a task's items are, under the data folder (the shared data layout):
// eval_core/eval_data/<file>; HellaSwag, absent there, from eval_hellaswag/'s three parts
// (joined in order). Empty when the task's data is not there.
std::vector<std::filesystem::path> core_task_files(const std::filesystem::path& data_dir, const CoreTaskSpec& spec);

// The items of the joined files in nanochat's order: random.Random(1337).shuffle of all of
// them, then the first `max_problems` (its max_per_task; < 0 keeps all). The shuffle
// depends only on the count, so only the kept lines are parsed. Throws Error naming the
// file and line of a malformed item.
std::vector<CoreItem> load_core_items(const std::vector<std::filesystem::path>& files, CoreTaskType type,
                                      int64_t max_problems = -1);

// "Random baseline" (percent) by "Eval Task" from eval_meta_data.csv; a task listed twice
// keeps its last row, as csv.DictReader into a dict does. Throws Error on a malformed file.
std::map<std::string, double> load_random_baselines(const std::filesystem::path& csv_file);

// (accuracy − b/100) / (1 − b/100) for a random baseline of b percent.
double centered_accuracy(double accuracy, double random_baseline_percent);

}  // namespace nanochat::eval
