// Rendering conversations to ids and masks (see nanochat/conversation.hpp), mirroring
// nanochat's Tokenizer.render_conversation / render_for_completion line for line.
#include "nanochat/conversation.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "nanochat/error.hpp"

namespace nanochat {
namespace {

const std::string& plain_text(const Message& message, size_t index) {
  if (message.parts.size() != 1 || message.parts[0].type != MessagePart::Type::text) {
    throw Error(fmt::format("message {} ({}) must be plain text, not a list of parts", index, message.role));
  }
  return message.parts[0].text;
}

class Renderer {
 public:
  explicit Renderer(const Tokenizer& tokenizer) : tokenizer_(tokenizer) {}

  void add(TokenId id, uint8_t mask) {
    out.ids.push_back(id);
    out.mask.push_back(mask);
  }
  void add_special(const char* name, uint8_t mask) { add(tokenizer_.special_id(name), mask); }
  void add_text(const std::string& text, uint8_t mask) {
    for (TokenId id : tokenizer_.encode(text)) add(id, mask);
  }

  RenderedConversation out;

 private:
  const Tokenizer& tokenizer_;
};

}  // namespace

RenderedConversation render_conversation(const Conversation& conversation, const Tokenizer& tokenizer,
                                         size_t max_tokens) {
  namespace st = special_tokens;
  std::vector<Message> messages = conversation.messages;
  if (!messages.empty() && messages[0].role == "system") {
    if (messages.size() < 2 || messages[1].role != "user") {
      throw Error("a system message must be followed by a user message");
    }
    const std::string merged = plain_text(messages[0], 0) + "\n\n" + plain_text(messages[1], 1);
    messages.erase(messages.begin());
    messages[0].parts = {MessagePart{MessagePart::Type::text, merged}};
  }
  if (messages.empty()) throw Error("a conversation needs at least one message");

  Renderer r(tokenizer);
  r.add_special(st::bos, 0);
  for (size_t i = 0; i < messages.size(); ++i) {
    const Message& message = messages[i];
    const char* expected = i % 2 == 0 ? "user" : "assistant";
    if (message.role != expected) {
      throw Error(fmt::format("message {} is from '{}' but should be from '{}' (roles must alternate)", i, message.role,
                              expected));
    }
    if (message.role == "user") {
      r.add_special(st::user_start, 0);
      r.add_text(plain_text(message, i), 0);
      r.add_special(st::user_end, 0);
      continue;
    }
    r.add_special(st::assistant_start, 0);
    for (const MessagePart& part : message.parts) {
      switch (part.type) {
        case MessagePart::Type::text:
          r.add_text(part.text, 1);
          break;
        case MessagePart::Type::python:
          r.add_special(st::python_start, 1);
          r.add_text(part.text, 1);
          r.add_special(st::python_end, 1);
          break;
        case MessagePart::Type::python_output:
          // Python's output comes from the tool at inference time: never a target.
          r.add_special(st::output_start, 0);
          r.add_text(part.text, 0);
          r.add_special(st::output_end, 0);
          break;
      }
    }
    r.add_special(st::assistant_end, 1);
  }
  if (r.out.ids.size() > max_tokens) {
    r.out.ids.resize(max_tokens);
    r.out.mask.resize(max_tokens);
  }
  return std::move(r.out);
}

std::vector<TokenId> render_for_completion(const Conversation& conversation, const Tokenizer& tokenizer,
                                           size_t max_tokens) {
  if (conversation.messages.empty() || conversation.messages.back().role != "assistant") {
    throw Error("render_for_completion: the last message must be from the assistant");
  }
  Conversation prompt{{conversation.messages.begin(), conversation.messages.end() - 1}};
  std::vector<TokenId> ids = render_conversation(prompt, tokenizer, max_tokens).ids;
  ids.push_back(tokenizer.special_id(special_tokens::assistant_start));
  return ids;
}

Conversation parse_conversation(std::string_view json_text) {
  using Json = nlohmann::json;
  Json json;
  try {
    json = Json::parse(json_text);
  } catch (const Json::exception& e) {
    throw Error(std::string("conversation is not valid JSON: ") + e.what());
  }
  const Json* messages = &json;
  if (json.is_object()) {
    if (!json.contains("messages")) throw Error("conversation object has no \"messages\" array");
    messages = &json["messages"];
  }
  if (!messages->is_array()) throw Error("conversation \"messages\" must be an array");

  Conversation conversation;
  for (size_t i = 0; i < messages->size(); ++i) {
    const Json& m = (*messages)[i];
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string() || !m.contains("content")) {
      throw Error(fmt::format("conversation message {} needs a string \"role\" and a \"content\"", i));
    }
    Message message;
    message.role = m["role"].get<std::string>();
    const Json& content = m["content"];
    if (content.is_string()) {
      message.parts.push_back({MessagePart::Type::text, content.get<std::string>()});
    } else if (content.is_array()) {
      for (const Json& part : content) {
        if (!part.is_object() || !part.contains("type") || !part.contains("text") || !part["type"].is_string() ||
            !part["text"].is_string()) {
          throw Error(fmt::format("conversation message {}: each part needs string \"type\" and \"text\"", i));
        }
        const std::string type = part["type"].get<std::string>();
        MessagePart::Type parsed;
        if (type == "text") {
          parsed = MessagePart::Type::text;
        } else if (type == "python") {
          parsed = MessagePart::Type::python;
        } else if (type == "python_output") {
          parsed = MessagePart::Type::python_output;
        } else {
          throw Error(
              fmt::format("conversation message {}: unknown part type '{}' (text, python, python_output)", i, type));
        }
        message.parts.push_back({parsed, part["text"].get<std::string>()});
      }
    } else {
      throw Error(fmt::format("conversation message {}: content must be a string or a list of parts", i));
    }
    conversation.messages.push_back(std::move(message));
  }
  return conversation;
}

}  // namespace nanochat
