// Chat conversations as token ids, exactly as nanochat renders them (SPEC §2): BOS, then
// <|user_start|> text <|user_end|> and <|assistant_start|> parts <|assistant_end|> turns,
// with a mask that is 1 only on what the assistant is trained to produce (its text, its
// python calls and <|assistant_end|>), never on user text or python output.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nanochat/tokenizer.hpp"

namespace nanochat {

struct MessagePart {
  enum class Type { text, python, python_output };
  Type type = Type::text;
  std::string text;
};

// A message's content: plain text is one text part (as nanochat, a string and a list of
// one text part render the same).
struct Message {
  std::string role;  // "system" (first message only), "user" or "assistant"
  std::vector<MessagePart> parts;
};

struct Conversation {
  std::vector<Message> messages;
};

struct RenderedConversation {
  std::vector<TokenId> ids;
  std::vector<uint8_t> mask;  // 1 where the token is a training target
};

// A leading system message is merged into the first user message as
// system + "\n\n" + user. Roles must then alternate user, assistant, user, ...; user and
// system messages must be plain text. Throws Error saying which message is wrong.
// The result is cut to max_tokens.
RenderedConversation render_conversation(const Conversation& conversation, const Tokenizer& tokenizer,
                                         size_t max_tokens = 2048);

// The prompt for the assistant's next turn: the conversation without its last message
// (which must be the assistant's), rendered, then <|assistant_start|>.
std::vector<TokenId> render_for_completion(const Conversation& conversation, const Tokenizer& tokenizer,
                                           size_t max_tokens = 2048);

// nanochat's JSON shape: {"messages": [{"role": ..., "content": ...}, ...]} or the bare
// array, where content is a string or a list of {"type": "text"|"python"|"python_output",
// "text": ...}. Throws Error naming the defect.
Conversation parse_conversation(std::string_view json);

}  // namespace nanochat
