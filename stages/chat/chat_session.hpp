// A conversation with the engine, turn by turn: the history is kept as messages (the
// assistant's python calls and their outputs as parts) and re-rendered with
// render_for_completion each turn, dropping the oldest turns when it outgrows the context.
#pragma once

#include <memory>
#include <string>

#include "nanochat/conversation.hpp"
#include "nanochat/engine.hpp"

namespace nanochat::chat {

class ChatSession {
 public:
  ChatSession(std::shared_ptr<Engine> engine, SamplingOptions options)
      : engine_(std::move(engine)), options_(options) {}

  // Streams the assistant's reply to `user_text` through `on_text` and adds both to the
  // history. Throws Error when the message alone does not fit the model's context.
  Completion reply(const std::string& user_text, const TextCallback& on_text);

  void clear() { conversation_.messages.clear(); }

 private:
  // The prompt for the assistant's next turn, oldest turns dropped until it leaves room
  // for max_tokens of reply.
  std::vector<TokenId> prompt_within_context();

  std::shared_ptr<Engine> engine_;
  SamplingOptions options_;
  Conversation conversation_;
  uint64_t turn_ = 0;
};

// The reply's tokens as message parts: text, python calls and their forced outputs.
std::vector<MessagePart> assistant_parts(const std::vector<TokenId>& tokens, const Tokenizer& tokenizer);

}  // namespace nanochat::chat
