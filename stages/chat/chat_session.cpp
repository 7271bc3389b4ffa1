// Turn-by-turn chat over the engine (see chat_session.hpp).
#include "chat_session.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "nanochat/error.hpp"
#include "nanochat/utf8.hpp"

namespace nanochat::chat {

std::vector<MessagePart> assistant_parts(const std::vector<TokenId>& tokens, const Tokenizer& tokenizer) {
  using Type = MessagePart::Type;
  const TokenId python_start = tokenizer.special_id(special_tokens::python_start);
  const TokenId python_end = tokenizer.special_id(special_tokens::python_end);
  const TokenId output_start = tokenizer.special_id(special_tokens::output_start);
  const TokenId output_end = tokenizer.special_id(special_tokens::output_end);
  std::vector<MessagePart> parts;
  std::vector<TokenId> run;
  Type type = Type::text;
  // Ends the current part; a reply cut off inside a python call keeps what it has.
  auto close = [&](Type next) {
    if (!run.empty() || type != Type::text) parts.push_back({type, repair_utf8(tokenizer.decode(run))});
    run.clear();
    type = next;
  };
  for (TokenId token : tokens) {
    if (token == python_start) close(Type::python);
    else if (token == output_start) close(Type::python_output);
    else if (token == python_end || token == output_end) close(Type::text);
    else run.push_back(token);
  }
  close(Type::text);
  if (parts.empty()) parts.push_back({Type::text, ""});
  return parts;
}

std::vector<TokenId> ChatSession::prompt_within_context() {
  const int64_t context = engine_->context_length();
  // Leave room for a whole reply, but never less than half the context for the history.
  const auto budget = static_cast<size_t>(std::max<int64_t>(context - options_.max_tokens, context / 2));
  Conversation trimmed = conversation_;  // the history survives a message that cannot fit
  for (;;) {
    std::vector<TokenId> ids =
        render_for_completion(trimmed, engine_->tokenizer(), std::numeric_limits<size_t>::max());
    if (ids.size() <= budget) {
      conversation_ = std::move(trimmed);
      return ids;
    }
    if (trimmed.messages.size() <= 2) {
      throw Error(fmt::format("the message is {} tokens, more than the {} that the model's context of {} leaves "
                              "for it with --max-tokens {}; send a shorter one",
                              ids.size(), budget, context, options_.max_tokens));
    }
    trimmed.messages.erase(trimmed.messages.begin(), trimmed.messages.begin() + 2);
  }
}

Completion ChatSession::reply(const std::string& user_text, const TextCallback& on_text) {
  conversation_.messages.push_back({"user", {{MessagePart::Type::text, user_text}}});
  conversation_.messages.push_back({"assistant", {}});
  try {
    SamplingOptions options = options_;
    options.seed += turn_++;  // a fresh draw each turn, the same run after run
    Completion completion = engine_->complete(prompt_within_context(), options, on_text);
    conversation_.messages.back().parts = assistant_parts(completion.tokens, engine_->tokenizer());
    return completion;
  } catch (...) {
    conversation_.messages.resize(conversation_.messages.size() - 2);
    throw;
  }
}

}  // namespace nanochat::chat
