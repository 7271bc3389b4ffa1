// Tasks: datasets of conversations that midtraining, SFT, RL and chat evaluation draw from
// (nanochat's tasks/*.py). A task is a plugin of kind `task` (interface "nanochat.task/1",
// torch-free, one library per task, see plugins/tasks/README.md); stages name the tasks they
// mix in a task list ("gsm8k,identity*2,mmlu:test[:5200]"), open them through the plugin
// registry and read examples through TaskMixture (shuffled, as nanochat's TaskMixture) or
// TaskSequence (in order). Everything here is torch-free (libnanochat_core).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "nanochat/conversation.hpp"

namespace nanochat {

// How a task is scored (nanochat's eval_type): categorical = the answer is one of a few
// letters (the model's logits over the letters decide); generative = a sampled completion is
// checked by evaluate().
enum class EvalType { categorical, generative };
const char* eval_type_name(EvalType type);  // "categorical" / "generative"

struct TaskExample {
  // The last message is the assistant's answer; only conversations read as nanochat's
  // CustomJSON (identity, chat-jsonl) may end on a user turn, as nanochat keeps them.
  Conversation conversation;
  std::vector<std::string> letters;  // categorical tasks: the answer letters ("A", "B", ...); empty otherwise
};

struct TaskOpenOptions {
  std::filesystem::path data_dir;  // the shared data folder (default_task_data_dir())
  std::string argument;            // the text after '=' in a task spec ("chat-jsonl=PATH"), "" if none
};

// The interface of a task plugin. get(), size(), evaluate() and reward() are const and safe to
// call from several threads at once after open().
class Task {
 public:
  static constexpr const char* kInterfaceId = "nanochat.task/1";

  virtual ~Task() = default;

  // Reads the task's data. Throws Error naming the file and line on bad data, UsageError on a
  // bad argument.
  virtual void open(const TaskOpenOptions& options) = 0;
  virtual std::string name() const = 0;
  virtual std::vector<std::string> splits() const = 0;
  // Throws UsageError on an unknown split, listing the known ones.
  virtual size_t size(const std::string& split) const = 0;
  // Throws UsageError on an unknown split or an index past size(split).
  virtual TaskExample get(const std::string& split, size_t index) const = 0;
  virtual EvalType eval_type() const = 0;
  // Whether evaluate() has a metric. The chat sets (oasst, hh-rlhf, alpaca, identity,
  // chat-jsonl) have none: their evaluate() throws UsageError.
  virtual bool has_evaluation() const { return true; }
  // 1 when `completion` (the assistant's text) is right for `example`, else 0.
  virtual double evaluate(const TaskExample& example, const std::string& completion) const = 0;
  // The RL reward; nanochat rewards exactly what it evaluates.
  virtual double reward(const TaskExample& example, const std::string& completion) const {
    return evaluate(example, completion);
  }
};

// The tasks this project ships, one plugin each (plugins/tasks/<plugin>/ builds
// libnanochat-task-<name>.so). Stages and `nanochat tasks list` read it; a third-party task
// plugin works without being listed here.
struct TaskInfo {
  const char* name;         // the plugin's name, as written in task lists
  const char* plugin;       // the folder under plugins/tasks/ that builds it
  const char* splits;       // its splits, comma-separated
  EvalType eval_type;
  const char* argument;     // what "=..." means for it ("" = it takes none)
  const char* description;  // one line (also the plugin descriptor's)
};

inline constexpr std::array<TaskInfo, 13> kTaskTable = {{
    {"gsm8k", "gsm8k", "train,test", EvalType::generative, "",
     "GSM8K grade-school math; calculator spans become python calls; scored on the '#### N' answer"},
    {"arc-easy", "arc", "train,dev,test", EvalType::categorical, "",
     "ARC-Easy science questions as nanochat's multiple choice; scored on the letter"},
    {"arc-challenge", "arc", "train,dev,test", EvalType::categorical, "",
     "ARC-Challenge science questions as nanochat's multiple choice; scored on the letter"},
    {"mmlu", "mmlu", "dev,test", EvalType::categorical, "",
     "MMLU, 57 subjects, as nanochat's multiple choice; scored on the letter"},
    {"humaneval", "humaneval", "test", EvalType::generative, "",
     "OpenAI HumanEval, 164 Python problems; the completion's code must pass the tests, run sandboxed"},
    {"chat-jsonl", "chat", "train,test,all (or the folder's <split>.jsonl files)", EvalType::generative, "PATH",
     "conversations from a JSONL file or folder (nanochat's CustomJSON); no evaluation"},
    {"oasst", "chat", "train,test,all", EvalType::generative, "",
     "OpenAssistant: the best-ranked path of each of 100 English trees; no evaluation"},
    {"hh-rlhf", "chat", "train,test,all", EvalType::generative, "",
     "Anthropic HH-RLHF helpful-* chosen transcripts; no evaluation"},
    {"alpaca", "chat", "train,test,all", EvalType::generative, "",
     "Alpaca-cleaned, first 1,000 instructions (input folded into the user turn); no evaluation"},
    {"identity", "chat", "train,test,all", EvalType::generative, "",
     "nanochat's synthetic identity conversations; no evaluation"},
    {"spellingbee", "spelling", "train,test", EvalType::generative, "N",
     "nanochat's SpellingBee: count a letter in a word, by hand and with python; '#### N' answer"},
    {"simple-spelling", "spelling", "train,test", EvalType::generative, "N",
     "nanochat's SimpleSpelling: spell a word letter by letter; scored by exact match"},
    {"letter-choice", "letter_choice", "train,test", EvalType::categorical, "LETTER",
     "synthetic multiple choice: which of four words is the one named; learnable by tiny models, for RL"},
}};

// The table row of a shipped task, or nullptr.
constexpr const TaskInfo* find_task_info(std::string_view name) {
  for (const TaskInfo& info : kTaskTable) {
    if (name == info.name) return &info;
  }
  return nullptr;
}

// One entry of a task list: "name[=argument][:split][[start:stop]][*repeat]".
//   gsm8k                  the default split of the stage
//   mmlu:test[:5200]       the first 5,200 test examples (nanochat's Task(start, stop) view)
//   identity*2             listed twice (nanochat lists CustomJSON twice for two epochs)
//   chat-jsonl=my.jsonl:train, spellingbee=80000
// The argument runs to the last ':' (a path holding ':' needs an explicit split after it).
struct TaskSpec {
  std::string name;
  std::string argument;  // "" if none
  std::string split;     // "" = the stage's default split
  int64_t repeat = 1;
  int64_t start = 0;
  int64_t stop = -1;  // -1 = to the end of the split
};

// Comma-separated specs (spaces around items are ignored). Throws UsageError naming the bad
// item and what was expected.
std::vector<TaskSpec> parse_task_list(const std::string& text);
// The spec as it would be written in a task list.
std::string format_task_spec(const TaskSpec& spec);

// One opened task split (a slice of it), as a mixture part.
struct TaskRef {
  static constexpr size_t kToEnd = std::numeric_limits<size_t>::max();
  std::shared_ptr<Task> task;
  std::string split;
  size_t start = 0;
  size_t stop = kToEnd;  // kToEnd = task->size(split)

  size_t size() const;
  TaskExample get(size_t index) const;  // task->get(split, start + index)
  std::string label() const;            // "gsm8k:train" or "mmlu:test[0:5200]"
};

// Opens each spec through the PluginRegistry (kind task), in order. A spec with *N appears
// N times; specs with the same name and argument share one Task object. A name that is not
// installed → UsageError listing the installed task plugins; an unknown split → UsageError
// listing the task's splits; a slice past the end → UsageError. `default_split` is used
// where a spec names none (e.g. "train"; "" = each task's first split).
std::vector<TaskRef> open_tasks(const std::vector<TaskSpec>& specs, const std::filesystem::path& data_dir,
                                const std::string& default_split);

// Where an example of a mixture or sequence comes from.
struct TaskLocation {
  size_t part = 0;   // index into parts()
  size_t index = 0;  // index within that part
};

// nanochat's TaskMixture: every example of every part (a part listed twice is seen twice),
// in the order Python's random.Random(seed).shuffle leaves nanochat's index_map of
// (part, index) pairs.
class TaskMixture {
 public:
  explicit TaskMixture(std::vector<TaskRef> parts, uint64_t seed = 42);
  size_t size() const { return order_.size(); }
  TaskExample get(size_t i) const;      // throws Error past size()
  TaskLocation locate(size_t i) const;  // throws Error past size()
  const std::vector<TaskRef>& parts() const { return parts_; }

 private:
  std::vector<TaskRef> parts_;
  std::vector<TaskLocation> order_;
};

// nanochat's TaskSequence: the parts one after the other, unshuffled (a curriculum).
class TaskSequence {
 public:
  explicit TaskSequence(std::vector<TaskRef> parts);
  size_t size() const { return ends_.empty() ? 0 : ends_.back(); }
  TaskExample get(size_t i) const;
  TaskLocation locate(size_t i) const;
  const std::vector<TaskRef>& parts() const { return parts_; }

 private:
  std::vector<TaskRef> parts_;
  std::vector<size_t> ends_;  // ends_[p] = examples in parts 0..p
};

// The default of --task-data-dir: $NANOCHAT_DATA_DIR if set; else ../shared/data from the
// current folder if it exists (a checkout beside shared/, as in development); else the
// ../shared/data beside the source tree this was built from, if it exists; else the
// current folder's ../shared/data (so errors name a path).
std::filesystem::path default_task_data_dir();

}  // namespace nanochat
