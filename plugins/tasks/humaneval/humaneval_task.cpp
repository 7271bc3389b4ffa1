// Task `humaneval`: OpenAI's HumanEval (eval_humaneval/HumanEval.jsonl.gz, 164 problems
// {"task_id", "prompt", "canonical_solution", "test", "entry_point"}), as nanochat's
// tasks/humaneval.py: the user turn is the prompt (a signature and docstring), the
// assistant's the prompt, a line break and the canonical solution. A completion is scored by
// running its code against the problem's tests in the SDK's Python sandbox: 1 if they
// pass. Problems are in file order (nanochat shuffles a Hugging Face copy with seed 42).
#include <fmt/format.h>

#include <mutex>
#include <unordered_map>

#include "humaneval_program.hpp"
#include "nanochat/error.hpp"
#include "nanochat/log.hpp"
#include "nanochat/sandbox.hpp"
#include "nanochat/stored_task.hpp"
#include "nanochat/task_data.hpp"
#include "nanochat/task_formats.hpp"
#include "nanochat/task_plugin.hpp"

namespace nanochat {
namespace {

constexpr const char* kName = "humaneval";

struct Problem {
  std::string test;         // defines check(candidate)
  std::string entry_point;  // the function to check
};

class HumanEvalTask final : public StoredTask {
 public:
  void open(const TaskOpenOptions& options) override {
    if (!options.argument.empty()) throw UsageError("task humaneval takes no =argument");
    std::vector<TaskExample> examples;
    for_each_jsonl(task_data_path(options, "eval_humaneval/HumanEval.jsonl.gz", kName),
                   [&](const nlohmann::json& row, size_t, size_t) {
                     const std::string& prompt = json_string(row, "prompt");
                     Problem problem{json_string(row, "test"), json_string(row, "entry_point")};
                     if (!problems_.emplace(prompt, std::move(problem)).second) {
                       throw Error("the prompt of " + json_string(row, "task_id") + " repeats an earlier one");
                     }
                     examples.push_back(
                         {user_assistant(prompt, prompt + "\n" + json_string(row, "canonical_solution")), {}});
                   });
    set_split("test", std::move(examples));
  }
  std::string name() const override { return kName; }
  EvalType eval_type() const override { return EvalType::generative; }

  double evaluate(const TaskExample& example, const std::string& completion) const override {
    const std::string& prompt = example.conversation.messages.at(0).parts.at(0).text;
    const auto problem = problems_.find(prompt);
    if (problem == problems_.end()) throw Error("humaneval: the example is not one of its problems (unknown prompt)");
    std::call_once(protections_logged_, [] { log::info("humaneval: {}", sandbox_protections().summary()); });
    const std::string program =
        humaneval::check_program(prompt, completion, problem->second.test, problem->second.entry_point);
    return run_python_sandboxed(program).passed() ? 1.0 : 0.0;
  }

 private:
  std::unordered_map<std::string, Problem> problems_;  // by prompt, which evaluate() gets in the example
  mutable std::once_flag protections_logged_;
};

}  // namespace
}  // namespace nanochat

NANOCHAT_TASK_PLUGIN(nanochat::HumanEvalTask, "humaneval")
