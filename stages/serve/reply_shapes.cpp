// Reply bodies. OpenAI's clients expect `null` (not a missing key) for an unset
// finish_reason, param and code, so those are written explicitly.
#include "reply_shapes.hpp"

#include <chrono>
#include <random>

using nlohmann::json;

namespace nanochat::serve {
namespace {

json null_if_empty(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

json usage_json(const Usage& usage) {
  return {{"prompt_tokens", usage.prompt_tokens},
          {"completion_tokens", usage.completion_tokens},
          {"total_tokens", usage.prompt_tokens + usage.completion_tokens}};
}

json reply_header(const ReplyIdentity& reply, const char* object) {
  return {{"id", reply.id}, {"object", object}, {"created", reply.created}, {"model", reply.model}};
}

}  // namespace

ReplyIdentity new_reply_identity(const std::string& model) {
  thread_local std::mt19937_64 random{std::random_device{}()};
  static constexpr char kDigits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string id = "chatcmpl-";
  for (int i = 0; i < 24; ++i) id += kDigits[random() % 36];
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return {id, std::chrono::duration_cast<std::chrono::seconds>(now).count(), model};
}

json nanochat_token_event(const std::string& text, size_t worker) { return {{"token", text}, {"gpu", worker}}; }

json nanochat_done_event() { return {{"done", true}}; }

json openai_completion(const ReplyIdentity& reply, const std::string& content, const std::string& finish_reason,
                       const Usage& usage) {
  json body = reply_header(reply, "chat.completion");
  body["choices"] = json::array({{{"index", 0},
                                  {"message", {{"role", "assistant"}, {"content", content}}},
                                  {"logprobs", nullptr},
                                  {"finish_reason", finish_reason}}});
  body["usage"] = usage_json(usage);
  return body;
}

json openai_chunk(const ReplyIdentity& reply, json delta, const std::string& finish_reason) {
  json body = reply_header(reply, "chat.completion.chunk");
  body["choices"] = json::array(
      {{{"index", 0}, {"delta", std::move(delta)}, {"logprobs", nullptr}, {"finish_reason", null_if_empty(finish_reason)}}});
  return body;
}

json openai_usage_chunk(const ReplyIdentity& reply, const Usage& usage) {
  json body = reply_header(reply, "chat.completion.chunk");
  body["choices"] = json::array();
  body["usage"] = usage_json(usage);
  return body;
}

json openai_models(const std::string& model, int64_t created) {
  return {{"object", "list"},
          {"data", json::array({{{"id", model}, {"object", "model"}, {"created", created}, {"owned_by", "nanochat"}}})}};
}

json openai_error(const HttpError& error) {
  return {{"error",
           {{"message", error.what()}, {"type", error.type}, {"param", null_if_empty(error.param)}, {"code", null_if_empty(error.code)}}}};
}

}  // namespace nanochat::serve
