// Event order per API; OpenAI clients read the role from the first chunk, nanochat's page
// needs nothing before the first token.
#include "reply_stream.hpp"

#include "sse.hpp"

using nlohmann::json;

namespace nanochat::serve {

ReplyStream::ReplyStream(ChatApi api, ReplyIdentity reply, size_t worker, bool include_usage, Write write)
    : api_(api), reply_(std::move(reply)), worker_(worker), include_usage_(include_usage), write_(std::move(write)) {}

bool ReplyStream::start() {
  if (api_ == ChatApi::nanochat) return true;
  return write_(sse_event(openai_chunk(reply_, {{"role", "assistant"}, {"content", ""}})));
}

bool ReplyStream::text(std::string_view piece) {
  const std::string text(piece);
  if (api_ == ChatApi::nanochat) return write_(sse_event(nanochat_token_event(text, worker_)));
  return write_(sse_event(openai_chunk(reply_, {{"content", text}})));
}

bool ReplyStream::finish(const std::string& finish_reason, const Usage& usage) {
  if (api_ == ChatApi::nanochat) return write_(sse_event(nanochat_done_event()));
  std::string tail = sse_event(openai_chunk(reply_, json::object(), finish_reason));
  if (include_usage_) tail += sse_event(openai_usage_chunk(reply_, usage));
  return write_(tail + kSseDone);
}

}  // namespace nanochat::serve
