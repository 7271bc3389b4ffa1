// Task `hh-rlhf`: Anthropic's HH-RLHF helpful transcripts (sft_hh_rlhf/helpful-base,
// helpful-online, helpful-rejection-sampled: test.jsonl.gz, {"chosen", "rejected"}), the
// chosen side. A transcript "\n\nHuman: ...\n\nAssistant: ..." is cut at those markers into
// user and assistant turns, each stripped of surrounding whitespace. Transcripts whose turns
// do not alternate (a few have two assistant turns in a row) or hold an empty turn are left
// out, and a last human turn is dropped. harmless-base (red-teaming prompts) is not used.
// Splits: train, the last 5% as test, all.
#include <optional>

#include "nanochat/error.hpp"
#include "nanochat/stored_task.hpp"
#include "nanochat/task_data.hpp"
#include "nanochat/task_formats.hpp"
#include "nanochat/task_plugin.hpp"

namespace nanochat {
namespace {

constexpr std::string_view kHuman = "\n\nHuman: ";
constexpr std::string_view kAssistant = "\n\nAssistant: ";

std::string strip(std::string_view text) {
  const char* space = " \t\n\r\f\v";
  const size_t begin = text.find_first_not_of(space);
  if (begin == std::string_view::npos) return "";
  return std::string(text.substr(begin, text.find_last_not_of(space) - begin + 1));
}

// The transcript as a conversation, or nothing when it is not a clean alternation.
std::optional<Conversation> parse_transcript(std::string_view text) {
  Conversation conversation;
  size_t at = 0;
  while (at < text.size()) {
    const bool human = text.compare(at, kHuman.size(), kHuman) == 0;
    if (!human && text.compare(at, kAssistant.size(), kAssistant) != 0) return std::nullopt;
    const size_t begin = at + (human ? kHuman.size() : kAssistant.size());
    const size_t next = std::min(text.find(kHuman, begin), text.find(kAssistant, begin));
    at = next == std::string_view::npos ? text.size() : next;
    std::string turn = strip(text.substr(begin, at - begin));
    if (turn.empty()) return std::nullopt;
    const char* role = human ? "user" : "assistant";
    if (conversation.messages.size() % 2 != (human ? 0u : 1u)) return std::nullopt;
    conversation.messages.push_back({role, {{MessagePart::Type::text, std::move(turn)}}});
  }
  if (!conversation.messages.empty() && conversation.messages.back().role == "user") conversation.messages.pop_back();
  if (conversation.messages.size() < 2) return std::nullopt;
  return conversation;
}

class HhRlhfTask final : public ChatSetTask {
 public:
  void open(const TaskOpenOptions& options) override {
    if (!options.argument.empty()) throw UsageError("task hh-rlhf takes no =argument");
    std::vector<Conversation> conversations;
    for (const char* part : {"helpful-base", "helpful-online", "helpful-rejection-sampled"}) {
      const auto path = task_data_path(options, std::string("sft_hh_rlhf/") + part + "/test.jsonl.gz", "hh-rlhf");
      for_each_jsonl(path, [&](const nlohmann::json& row, size_t, size_t) {
        if (auto conversation = parse_transcript(json_string(row, "chosen"))) {
          conversations.push_back(std::move(*conversation));
        }
      });
    }
    set_conversations(std::move(conversations));
  }
  std::string name() const override { return "hh-rlhf"; }
};

}  // namespace
}  // namespace nanochat

NANOCHAT_TASK_PLUGIN(nanochat::HhRlhfTask, "hh-rlhf")
