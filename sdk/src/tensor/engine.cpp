// The inference engine (see nanochat/engine.hpp): prefill once, decode step by step with a
// KV cache per row, and let each row's tool state machine override the sampled token.
#include "nanochat/engine.hpp"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <fmt/format.h>

#include <cmath>

#include "engine_row.hpp"
#include "nanochat/error.hpp"
#include "nanochat/gpt.hpp"
#include "nanochat/utf8_stream.hpp"
#include "sampler.hpp"

namespace nanochat {
namespace {

void check_request(const std::vector<TokenId>& prompt, int num_samples, const SamplingOptions& options,
                   size_t vocab_size) {
  if (prompt.empty()) throw Error("engine: the prompt is empty (it needs at least <|bos|>)");
  if (num_samples < 1) throw Error(fmt::format("engine: num_samples is {}, expected at least 1", num_samples));
  if (!(options.temperature >= 0.0) || !std::isfinite(options.temperature)) {
    throw Error(fmt::format("engine: temperature {} is not a number ≥ 0", options.temperature));
  }
  if (options.top_k < 0) throw Error(fmt::format("engine: top_k {} is negative (0 turns it off)", options.top_k));
  if (options.max_tokens < 0) throw Error(fmt::format("engine: max_tokens {} is negative", options.max_tokens));
  for (TokenId id : prompt) {
    if (id < 0 || static_cast<size_t>(id) >= vocab_size) {
      throw Error(fmt::format("engine: prompt token {} is outside the vocabulary of {}", id, vocab_size));
    }
  }
}

at::Tensor to_device_ids(const std::vector<TokenId>& ids, int64_t rows, c10::Device device) {
  const std::vector<int64_t> wide(ids.begin(), ids.end());
  return at::tensor(wide, at::kLong).view({rows, -1}).to(device);
}

}  // namespace

const char* finish_reason_name(FinishReason reason) {
  switch (reason) {
    case FinishReason::stop: return "stop";
    case FinishReason::length: return "length";
    case FinishReason::cancelled: return "cancelled";
  }
  return "stop";
}

Engine::Engine(std::shared_ptr<GPT> model, std::shared_ptr<const Tokenizer> tokenizer)
    : model_(std::move(model)), tokenizer_(std::move(tokenizer)) {
  if (!model_ || !tokenizer_) throw Error("engine: needs a model and a tokenizer");
  if (static_cast<int64_t>(tokenizer_->vocab_size()) > model_->config().vocab_size) {
    throw Error(fmt::format("engine: the tokenizer has {} tokens but the model only {}; load the tokenizer "
                            "the model was trained with",
                            tokenizer_->vocab_size(), model_->config().vocab_size));
  }
  static_cast<void>(detail::EngineTokens(*tokenizer_));  // throws naming a missing special token
}

Engine::~Engine() = default;

int64_t Engine::context_length() const { return model_->config().sequence_len; }

void Engine::generate(const std::vector<TokenId>& prompt, int num_samples, const SamplingOptions& options,
                      const StepCallback& on_step) {
  const size_t vocab = tokenizer_->vocab_size();
  check_request(prompt, num_samples, options, vocab);
  if (options.max_tokens == 0) return;
  c10::InferenceMode inference;
  const c10::Device device = model_->device();
  const int64_t prompt_length = static_cast<int64_t>(prompt.size());
  // Positions end where the model's rotary table does (10 × sequence_len).
  const int64_t max_positions = model_->named_buffers()["cos"].size(0);
  const int64_t steps = std::min<int64_t>(options.max_tokens, max_positions - prompt_length + 1);

  KVCache prompt_cache = model_->make_kv_cache(1, prompt_length);
  at::Tensor logits = model_->next_token_logits(to_device_ids(prompt, 1, device), &prompt_cache);
  KVCache cache = model_->make_kv_cache(num_samples, prompt_length + steps);
  cache.prefill(prompt_cache);
  logits = logits.narrow(-1, 0, static_cast<int64_t>(vocab)).expand({num_samples, -1});

  const detail::EngineTokens tokens(*tokenizer_);
  std::vector<detail::EngineRow> rows(num_samples, detail::EngineRow(*tokenizer_, tokens));
  at::Generator generator = detail::make_generator(device, options.seed);
  GenerationStep step;
  step.tokens.resize(num_samples);
  step.masks.resize(num_samples);
  step.live.resize(num_samples);
  for (int64_t generated = 0; generated < steps; ++generated) {
    const at::Tensor sampled = detail::sample_next_tokens(logits, options, generator).to(at::kCPU);
    const int64_t* sampled_ids = sampled.data_ptr<int64_t>();
    bool any_live = false;
    for (int row = 0; row < num_samples; ++row) {
      const auto choice = rows[row].choose(static_cast<TokenId>(sampled_ids[row]));
      step.tokens[row] = choice.token;
      step.masks[row] = choice.mask;
      step.live[row] = !rows[row].stopped();
      rows[row].advance(choice.token);
      any_live = any_live || !rows[row].stopped();
    }
    if (!on_step(step) || !any_live || generated + 1 == steps) return;
    logits = model_->next_token_logits(to_device_ids(step.tokens, num_samples, device), &cache)
                 .narrow(-1, 0, static_cast<int64_t>(vocab));
  }
}

std::vector<GeneratedSequence> Engine::generate_batch(const std::vector<TokenId>& prompt, int num_samples,
                                                      const SamplingOptions& options) {
  std::vector<GeneratedSequence> results(std::max(num_samples, 0));
  for (GeneratedSequence& result : results) {
    result.tokens = prompt;
    result.mask.assign(prompt.size(), 0);
  }
  const TokenId bos = tokenizer_->special_id(special_tokens::bos);
  const TokenId assistant_end = tokenizer_->special_id(special_tokens::assistant_end);
  generate(prompt, num_samples, options, [&](const GenerationStep& step) {
    for (size_t row = 0; row < results.size(); ++row) {
      if (!step.live[row]) continue;
      if (step.tokens[row] == bos || step.tokens[row] == assistant_end) {
        results[row].stopped = true;
        continue;
      }
      results[row].tokens.push_back(step.tokens[row]);
      results[row].mask.push_back(step.masks[row]);
    }
    return true;
  });
  return results;
}

Completion Engine::complete(const std::vector<TokenId>& prompt, const SamplingOptions& options,
                            const TextCallback& on_text) {
  Completion completion;
  completion.prompt_tokens = static_cast<int64_t>(prompt.size());
  completion.finish_reason = FinishReason::length;
  const TokenId bos = tokenizer_->special_id(special_tokens::bos);
  const TokenId assistant_end = tokenizer_->special_id(special_tokens::assistant_end);
  Utf8Stream stream;
  // Passes text on, remembering a refusal so generation ends at the next step.
  auto emit = [&](const std::string& text) {
    if (text.empty()) return true;
    completion.text += text;
    if (on_text && !on_text(text)) {
      completion.finish_reason = FinishReason::cancelled;
      return false;
    }
    return true;
  };
  generate(prompt, 1, options, [&](const GenerationStep& step) {
    const TokenId token = step.tokens[0];
    ++completion.completion_tokens;
    if (token == bos || token == assistant_end) {
      completion.finish_reason = FinishReason::stop;
      return false;
    }
    completion.tokens.push_back(token);
    return emit(stream.push(tokenizer_->token_bytes(token)));
  });
  if (completion.finish_reason != FinishReason::cancelled) emit(stream.finish());
  return completion;
}

}  // namespace nanochat
