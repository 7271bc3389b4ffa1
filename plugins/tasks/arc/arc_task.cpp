// ArcTask (see arc_task.hpp).
#include "arc_task.hpp"

#include <fmt/format.h>

#include "nanochat/error.hpp"
#include "nanochat/task_data.hpp"
#include "nanochat/task_formats.hpp"

namespace nanochat {

void ArcTask::open(const TaskOpenOptions& options) {
  if (!options.argument.empty()) throw UsageError(fmt::format("task {} takes no =argument", name_));
  const std::pair<const char*, const char*> files[] = {{"train", "Train"}, {"dev", "Dev"}, {"test", "Test"}};
  for (const auto& [split, file] : files) {
    std::vector<TaskExample> examples;
    const auto path = task_data_path(options, fmt::format("eval_arc/{0}/{0}-{1}.jsonl", subset_, file), name_);
    for_each_jsonl(path, [&](const nlohmann::json& row, size_t, size_t) {
      if (!row.is_object() || !row.contains("question") || !row["question"].is_object()) {
        throw Error("no \"question\" object");
      }
      const nlohmann::json& question = row["question"];
      if (!question.contains("choices") || !question["choices"].is_array() || question["choices"].empty()) {
        throw Error("no \"question\".\"choices\" list");
      }
      std::vector<std::string> letters, choices;
      for (const nlohmann::json& choice : question["choices"]) {
        choices.push_back(json_string(choice, "text"));
        letters.push_back(json_string(choice, "label"));
      }
      examples.push_back(multiple_choice_example(json_string(question, "stem"), std::move(letters), choices,
                                                 json_string(row, "answerKey")));
    });
    set_split(split, std::move(examples));
  }
}

double ArcTask::evaluate(const TaskExample& example, const std::string& completion) const {
  return evaluate_letter(example, completion);
}

}  // namespace nanochat
