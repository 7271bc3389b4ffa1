// Task `oasst`: OpenAssistant conversations (sft_oasst_en100/en_100_tree.jsonl, 100 English
// message trees). Each tree gives one conversation: from the root prompt, always the reply
// ranked 0 (the reviewers' best), or the first reply where none is ranked, until a message
// has no reply; a path that ends on a prompt drops it, so the assistant speaks last.
// Prompter turns are the user's. Splits: train, the last 5% as test, all.
#include <fmt/format.h>

#include "nanochat/error.hpp"
#include "nanochat/stored_task.hpp"
#include "nanochat/task_data.hpp"
#include "nanochat/task_formats.hpp"
#include "nanochat/task_plugin.hpp"

namespace nanochat {
namespace {

// The reply to follow, or nullptr when there is none.
const nlohmann::json* best_reply(const nlohmann::json& message) {
  auto replies = message.find("replies");
  if (replies == message.end() || !replies->is_array() || replies->empty()) return nullptr;
  for (const nlohmann::json& reply : *replies) {
    auto rank = reply.find("rank");
    if (rank != reply.end() && rank->is_number_integer() && rank->get<int64_t>() == 0) return &reply;
  }
  return &replies->front();
}

Conversation best_path(const nlohmann::json& tree) {
  if (!tree.is_object() || !tree.contains("prompt")) throw Error("no \"prompt\" message");
  Conversation conversation;
  for (const nlohmann::json* message = &tree["prompt"]; message != nullptr; message = best_reply(*message)) {
    const std::string& role = json_string(*message, "role");
    if (role != "prompter" && role != "assistant") {
      throw Error(fmt::format("a message has role '{}' (expected prompter or assistant)", role));
    }
    conversation.messages.push_back(
        {role == "prompter" ? "user" : "assistant", {{MessagePart::Type::text, json_string(*message, "text")}}});
  }
  if (conversation.messages.back().role == "user") conversation.messages.pop_back();
  check_chat_roles(conversation);
  return conversation;
}

class OasstTask final : public ChatSetTask {
 public:
  void open(const TaskOpenOptions& options) override {
    if (!options.argument.empty()) throw UsageError("task oasst takes no =argument");
    std::vector<Conversation> conversations;
    for_each_jsonl(task_data_path(options, "sft_oasst_en100/en_100_tree.jsonl", "oasst"),
                   [&](const nlohmann::json& tree, size_t, size_t) { conversations.push_back(best_path(tree)); });
    set_conversations(std::move(conversations));
  }
  std::string name() const override { return "oasst"; }
};

}  // namespace
}  // namespace nanochat

NANOCHAT_TASK_PLUGIN(nanochat::OasstTask, "oasst")
