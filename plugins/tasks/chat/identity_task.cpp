// Task `identity`: nanochat's synthetic conversations about who the model is
// (sft_identity_nanochat/identity_conversations.jsonl, read as nanochat's CustomJSON reads
// it: every conversation, a few of which end on a user turn). Splits: train, the last 5% as
// test, all (nanochat trains on all of them, twice in midtraining: identity:all*2).
#include "nanochat/error.hpp"
#include "nanochat/stored_task.hpp"
#include "nanochat/task_data.hpp"
#include "nanochat/task_plugin.hpp"

namespace nanochat {
namespace {

class IdentityTask final : public ChatSetTask {
 public:
  void open(const TaskOpenOptions& options) override {
    if (!options.argument.empty()) throw UsageError("task identity takes no =argument");
    set_conversations(read_conversation_jsonl(
        task_data_path(options, "sft_identity_nanochat/identity_conversations.jsonl", "identity")));
  }
  std::string name() const override { return "identity"; }
};

}  // namespace
}  // namespace nanochat

NANOCHAT_TASK_PLUGIN(nanochat::IdentityTask, "identity")
