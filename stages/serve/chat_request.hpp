// The body of POST /chat/completions (nanochat) and /v1/chat/completions (OpenAI), parsed
// and checked against SPEC §10's limits before any work is queued: every rule it breaks
// is a 400 naming the field.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "nanochat/conversation.hpp"

namespace nanochat::serve {

// SPEC §10's limits (nanochat chat_web).
struct RequestLimits {
  size_t max_messages = 500;
  uint64_t max_message_chars = 8000;
  uint64_t max_total_chars = 32000;
  double max_temperature = 2.0;
  int max_top_k = 200;
  int max_tokens = 4096;
};

// Used where the request leaves a field out (the stage's --temperature, --top-k, --max-tokens).
struct SamplingDefaults {
  double temperature = 0.8;
  int top_k = 50;
  int max_tokens = 512;
};

struct ChatRequest {
  Conversation conversation;  // ends with a user message
  double temperature = 0.8;
  int top_k = 50;
  int max_tokens = 512;
  std::optional<uint64_t> seed;  // none: a fresh random seed per request
  bool stream = false;           // OpenAI route only; nanochat's route always streams
  bool include_usage = false;    // OpenAI stream_options.include_usage
};

// Throws HttpError (400) on malformed JSON, a wrong type, an unknown role, an empty or too
// long message, roles out of turn, or sampling values out of range.
ChatRequest parse_chat_request(std::string_view body, const SamplingDefaults& defaults,
                               const RequestLimits& limits = {});

}  // namespace nanochat::serve
