// The JSON bodies of replies: nanochat's SSE events ({"token", "gpu"} then {"done"}) and
// OpenAI's chat.completion, chat.completion.chunk, usage, model list and error objects,
// with the field names and types OpenAI's client libraries validate.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "http_error.hpp"

namespace nanochat::serve {

// What every chunk of one OpenAI reply repeats.
struct ReplyIdentity {
  std::string id;  // "chatcmpl-..."
  int64_t created = 0;  // Unix seconds
  std::string model;
};

struct Usage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
};

ReplyIdentity new_reply_identity(const std::string& model);

nlohmann::json nanochat_token_event(const std::string& text, size_t worker);
nlohmann::json nanochat_done_event();

nlohmann::json openai_completion(const ReplyIdentity& reply, const std::string& content, const std::string& finish_reason,
                                 const Usage& usage);
// A streamed piece: delta {"role"} first, then {"content"}s, then {} with the finish reason.
nlohmann::json openai_chunk(const ReplyIdentity& reply, nlohmann::json delta, const std::string& finish_reason = "");
// stream_options.include_usage: a last chunk with no choices and the usage.
nlohmann::json openai_usage_chunk(const ReplyIdentity& reply, const Usage& usage);
nlohmann::json openai_models(const std::string& model, int64_t created);
nlohmann::json openai_error(const HttpError& error);

}  // namespace nanochat::serve
