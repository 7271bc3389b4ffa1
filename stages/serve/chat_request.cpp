// Request checks in the order a client would fix them: the JSON itself, then the messages,
// then the sampling fields. Characters are counted in code points, as nanochat (Python) does.
#include "chat_request.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "http_error.hpp"
#include "nanochat/utf8.hpp"

using nlohmann::json;

namespace nanochat::serve {
namespace {

// nlohmann prefixes its messages with "[json.exception.parse_error.101] ": not for users.
std::string without_exception_id(const std::string& what) {
  auto end = what.find("] ");
  return what.rfind("[json.exception.", 0) == 0 && end != std::string::npos ? what.substr(end + 2) : what;
}

// A field a client may leave out or send as null.
const json* optional_field(const json& body, const char* name) {
  auto it = body.find(name);
  return it == body.end() || it->is_null() ? nullptr : &*it;
}

// OpenAI content is a string or a list of {"type": "text", "text": ...} parts.
std::string message_text(const json& content, const std::string& where) {
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array()) throw invalid_request(where + " must be a string", where);
  std::string text;
  for (const auto& part : content) {
    if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") || !part["text"].is_string()) {
      throw invalid_request(where + " parts must be {\"type\": \"text\", \"text\": \"...\"}", where);
    }
    text += part["text"].get<std::string>();
  }
  return text;
}

// System first (optional), then user and assistant taking turns, ending with the user's
// turn: the only conversations the model was trained to continue.
void check_role(const std::string& role, size_t index, const std::string& previous, const std::string& where) {
  if (role != "user" && role != "assistant" && role != "system") {
    throw invalid_request(fmt::format("{} must be 'user' or 'assistant' (or 'system' first), got '{}'", where, role), where);
  }
  if (role == "system" && index != 0) throw invalid_request(where + " 'system' is allowed only as the first message", where);
  const std::string expected = previous.empty() || previous == "system" || previous == "assistant" ? "user" : "assistant";
  if (role != "system" && role != expected) {
    throw invalid_request(fmt::format("{} must be '{}': roles alternate user, assistant, user, ...", where, expected), where);
  }
}

Conversation parse_messages(const json& body, const RequestLimits& limits) {
  const json* messages = optional_field(body, "messages");
  if (messages == nullptr) throw invalid_request("'messages' is required", "messages");
  if (!messages->is_array()) throw invalid_request("'messages' must be an array", "messages");
  if (messages->empty()) throw invalid_request("'messages' must not be empty", "messages");
  if (messages->size() > limits.max_messages) {
    throw invalid_request(fmt::format("too many messages: {} (at most {})", messages->size(), limits.max_messages), "messages");
  }
  Conversation conversation;
  uint64_t total_chars = 0;
  std::string previous;
  for (size_t i = 0; i < messages->size(); ++i) {
    const json& message = (*messages)[i];
    const std::string where = fmt::format("messages[{}]", i);
    if (!message.is_object()) throw invalid_request(where + " must be an object with 'role' and 'content'", where);
    const json* role = optional_field(message, "role");
    if (role == nullptr || !role->is_string()) throw invalid_request(where + ".role must be a string", where + ".role");
    check_role(role->get<std::string>(), i, previous, where + ".role");
    const json* content = optional_field(message, "content");
    if (content == nullptr) throw invalid_request(where + ".content is required", where + ".content");
    std::string text = message_text(*content, where + ".content");
    if (text.empty()) throw invalid_request(where + ".content must not be empty", where + ".content");
    const uint64_t chars = utf8_length(text);
    if (chars > limits.max_message_chars) {
      throw invalid_request(fmt::format("{}.content is too long: {} characters (at most {})", where, chars, limits.max_message_chars),
                            where + ".content");
    }
    total_chars += chars;
    previous = role->get<std::string>();
    conversation.messages.push_back(Message{previous, {MessagePart{MessagePart::Type::text, std::move(text)}}});
  }
  if (total_chars > limits.max_total_chars) {
    throw invalid_request(fmt::format("the conversation is too long: {} characters (at most {})", total_chars, limits.max_total_chars),
                          "messages");
  }
  if (previous != "user") throw invalid_request("the last message must be the user's", "messages");
  return conversation;
}

// An integer field in [low, high], or `fallback` when absent.
int64_t integer_in_range(const json& body, const char* name, int64_t low, int64_t high, int64_t fallback) {
  const json* value = optional_field(body, name);
  if (value == nullptr) return fallback;
  if (!value->is_number_integer()) throw invalid_request(fmt::format("'{}' must be an integer", name), name);
  // An unsigned value beyond int64 reads as negative, below every range used here.
  const int64_t v = value->get<int64_t>();
  if (v < low || v > high) {
    throw invalid_request(fmt::format("'{}' must be between {} and {}, got {}", name, low, high, value->dump()), name);
  }
  return v;
}

bool boolean(const json& body, const char* name, bool fallback) {
  const json* value = optional_field(body, name);
  if (value == nullptr) return fallback;
  if (!value->is_boolean()) throw invalid_request(fmt::format("'{}' must be true or false", name), name);
  return value->get<bool>();
}

}  // namespace

ChatRequest parse_chat_request(std::string_view body, const SamplingDefaults& defaults, const RequestLimits& limits) {
  json parsed;
  try {
    parsed = json::parse(body);
  } catch (const json::parse_error& e) {
    throw invalid_request("the body is not valid JSON: " + without_exception_id(e.what()));
  }
  if (!parsed.is_object()) throw invalid_request("the body must be a JSON object with 'messages'");

  ChatRequest request;
  request.conversation = parse_messages(parsed, limits);

  request.temperature = defaults.temperature;
  if (const json* t = optional_field(parsed, "temperature")) {
    if (!t->is_number()) throw invalid_request("'temperature' must be a number", "temperature");
    request.temperature = t->get<double>();
    if (!(request.temperature >= 0.0 && request.temperature <= limits.max_temperature)) {
      throw invalid_request(fmt::format("'temperature' must be between 0 and {}, got {}", limits.max_temperature, t->dump()),
                            "temperature");
    }
  }
  request.top_k = static_cast<int>(integer_in_range(parsed, "top_k", 1, limits.max_top_k, defaults.top_k));
  // OpenAI renamed max_tokens to max_completion_tokens; clients send either.
  const char* max_name = optional_field(parsed, "max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  request.max_tokens = static_cast<int>(integer_in_range(parsed, max_name, 1, limits.max_tokens, defaults.max_tokens));
  if (optional_field(parsed, "seed")) {
    request.seed = static_cast<uint64_t>(integer_in_range(parsed, "seed", 0, INT64_MAX, 0));
  }
  if (const json* n = optional_field(parsed, "n"); n != nullptr && *n != 1) {
    throw invalid_request("only n=1 is supported (one reply per request)", "n");
  }
  request.stream = boolean(parsed, "stream", false);
  if (const json* options = optional_field(parsed, "stream_options")) {
    if (!options->is_object()) throw invalid_request("'stream_options' must be an object", "stream_options");
    request.include_usage = boolean(*options, "include_usage", false);
  }
  return request;
}

}  // namespace nanochat::serve
