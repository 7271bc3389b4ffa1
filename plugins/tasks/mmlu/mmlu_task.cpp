// Task `mmlu`: MMLU's 57 subjects as nanochat's tasks/mmlu.py renders them: multiple choice
// with letters A-D, the answer letter as the assistant's reply. Reads
// eval_mmlu/{dev,test}/<subject>_{dev,test}.csv (header question,choice0..choice3,answer with
// the answer an index 0-3), subjects in name order, rows in file order (nanochat reads a
// Hugging Face copy shuffled with seed 42). Splits: dev (5 per subject), test. There is no
// auxiliary_train here (see README.md).
#include <algorithm>

#include <fmt/format.h>

#include "nanochat/error.hpp"
#include "nanochat/stored_task.hpp"
#include "nanochat/task_data.hpp"
#include "nanochat/task_formats.hpp"
#include "nanochat/task_plugin.hpp"

namespace fs = std::filesystem;

namespace nanochat {
namespace {

constexpr const char* kName = "mmlu";

std::vector<fs::path> subject_files(const fs::path& folder, const std::string& split) {
  const std::string suffix = "_" + split + ".csv";
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(folder)) {
    const std::string file = entry.path().filename().string();
    if (file.size() > suffix.size() && file.compare(file.size() - suffix.size(), suffix.size(), suffix) == 0) {
      files.push_back(entry.path());
    }
  }
  if (files.empty()) throw Error(fmt::format("task mmlu: {} holds no *{} file", folder.string(), suffix));
  std::sort(files.begin(), files.end());
  return files;
}

class MmluTask final : public StoredTask {
 public:
  void open(const TaskOpenOptions& options) override {
    if (!options.argument.empty()) throw UsageError("task mmlu takes no =argument");
    const std::vector<std::string> letters = {"A", "B", "C", "D"};
    const std::vector<std::string> header = {"question", "choice0", "choice1", "choice2", "choice3", "answer"};
    for (const char* split : {"dev", "test"}) {
      std::vector<TaskExample> examples;
      for (const fs::path& file : subject_files(task_data_path(options, fs::path("eval_mmlu") / split, kName), split)) {
        for_each_csv_record(file, header, [&](const std::vector<std::string>& fields, size_t) {
          const std::string& answer = fields[5];
          if (answer.size() != 1 || answer[0] < '0' || answer[0] > '3') {
            throw Error(fmt::format("the answer '{}' is not an index 0-3", answer));
          }
          examples.push_back(
              multiple_choice_example(fields[0], letters, {fields.begin() + 1, fields.begin() + 5}, letters[answer[0] - '0']));
        });
      }
      set_split(split, std::move(examples));
    }
  }
  std::string name() const override { return kName; }
  EvalType eval_type() const override { return EvalType::categorical; }
  double evaluate(const TaskExample& example, const std::string& completion) const override {
    return evaluate_letter(example, completion);
  }
};

}  // namespace
}  // namespace nanochat

NANOCHAT_TASK_PLUGIN(nanochat::MmluTask, "mmlu")
