// Task `alpaca`: single-turn instructions (sft_alpaca_cleaned_1000/alpaca_data_cleaned_1000.json,
// one JSON array of {"instruction", "input", "output"}). The user turn is the instruction, or
// instruction + "\n\n" + input when there is an input; the assistant's is the output.
// Splits: train, the last 5% as test, all. The data is CC BY-NC 4.0 (non-commercial).
#include "nanochat/error.hpp"
#include "nanochat/stored_task.hpp"
#include "nanochat/task_data.hpp"
#include "nanochat/task_formats.hpp"
#include "nanochat/task_plugin.hpp"

namespace nanochat {
namespace {

class AlpacaTask final : public ChatSetTask {
 public:
  void open(const TaskOpenOptions& options) override {
    if (!options.argument.empty()) throw UsageError("task alpaca takes no =argument");
    std::vector<Conversation> conversations;
    for_each_json_array_element(
        task_data_path(options, "sft_alpaca_cleaned_1000/alpaca_data_cleaned_1000.json", "alpaca"),
        [&](const nlohmann::json& row, size_t) {
          const std::string& input = json_string(row, "input");
          std::string user = json_string(row, "instruction");
          if (!input.empty()) user += "\n\n" + input;
          conversations.push_back(user_assistant(std::move(user), json_string(row, "output")));
        });
    set_conversations(std::move(conversations));
  }
  std::string name() const override { return "alpaca"; }
};

}  // namespace
}  // namespace nanochat

NANOCHAT_TASK_PLUGIN(nanochat::AlpacaTask, "alpaca")
