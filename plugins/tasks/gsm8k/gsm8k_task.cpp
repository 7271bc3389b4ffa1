// Task `gsm8k`: OpenAI's grade-school math (eval_gsm8k/{train,test}.jsonl, {"question",
// "answer"}), as nanochat's tasks/gsm8k.py builds it: each <<expr=result>> calculator span
// of the solution becomes a python part (expr) and a python_output part (result), the text
// between spans text parts; scored on the number after "#### ". Examples are in file order
// (nanochat reads a Hugging Face copy shuffled with seed 42).
#include <fmt/format.h>

#include "nanochat/error.hpp"
#include "nanochat/stored_task.hpp"
#include "nanochat/task_data.hpp"
#include "nanochat/task_formats.hpp"
#include "nanochat/task_plugin.hpp"

namespace nanochat {
namespace {

constexpr const char* kName = "gsm8k";

// The parts of a solution, as Python's re.split(r'(<<[^>]+>>)', answer) cuts it: text
// before, between and after the spans (possibly empty, as re.split gives them) and for each
// span its expression and result, split at the last '=' (no '=': the result is empty).
std::vector<MessagePart> solution_parts(const std::string& answer) {
  std::vector<MessagePart> parts;
  size_t text_begin = 0;
  for (size_t at = 0; at + 1 < answer.size();) {
    if (answer[at] != '<' || answer[at + 1] != '<') {
      ++at;
      continue;
    }
    const size_t inner_end = answer.find('>', at + 2);  // [^>]+ runs to the first '>'
    if (inner_end == std::string::npos || inner_end == at + 2 || inner_end + 1 >= answer.size() ||
        answer[inner_end + 1] != '>') {
      ++at;
      continue;
    }
    const std::string inner = answer.substr(at + 2, inner_end - at - 2);
    parts.push_back({MessagePart::Type::text, answer.substr(text_begin, at - text_begin)});
    const size_t equals = inner.rfind('=');
    parts.push_back({MessagePart::Type::python, equals == std::string::npos ? inner : inner.substr(0, equals)});
    parts.push_back({MessagePart::Type::python_output, equals == std::string::npos ? "" : inner.substr(equals + 1)});
    at = text_begin = inner_end + 2;
  }
  parts.push_back({MessagePart::Type::text, answer.substr(text_begin)});
  return parts;
}

class Gsm8kTask final : public StoredTask {
 public:
  void open(const TaskOpenOptions& options) override {
    if (!options.argument.empty()) throw UsageError("task gsm8k takes no =argument");
    for (const char* split : {"train", "test"}) {
      std::vector<TaskExample> examples;
      for_each_jsonl(task_data_path(options, fmt::format("eval_gsm8k/{}.jsonl", split), kName),
                     [&](const nlohmann::json& row, size_t, size_t) {
                       TaskExample example;
                       example.conversation.messages.push_back(
                           {"user", {{MessagePart::Type::text, json_string(row, "question")}}});
                       const std::string& answer = json_string(row, "answer");
                       if (!extract_final_answer(answer)) throw Error("the answer has no final '#### N' line");
                       example.conversation.messages.push_back({"assistant", solution_parts(answer)});
                       examples.push_back(std::move(example));
                     });
      set_split(split, std::move(examples));
    }
  }
  std::string name() const override { return kName; }
  EvalType eval_type() const override { return EvalType::generative; }
  double evaluate(const TaskExample& example, const std::string& completion) const override {
    return evaluate_final_answer(example, completion);
  }
};

}  // namespace
}  // namespace nanochat

NANOCHAT_TASK_PLUGIN(nanochat::Gsm8kTask, "gsm8k")
