// Inference for chat (SPEC §10, nanochat's engine.py): one prefill of the prompt at batch 1,
// its KV cache cloned to N rows, then token-by-token decoding with seeded temperature /
// top-k sampling, rows stopping on <|assistant_end|> or <|bos|>, and the calculator tool
// (<|python_start|>expr<|python_end|> → forced <|output_start|>result<|output_end|>).
// An Engine runs one generation at a time (it is not thread-safe); a server that serves
// requests in parallel holds one Engine per worker, all sharing the same const model.
// On the CPU, call it from one long-lived thread per engine (not from a pool's threads in
// turn): each thread that runs parallel kernels gets its own OpenMP team, and once the teams
// outnumber the cores libgomp sleeps between kernels, which made decoding 1.5-2× slower
// (the serve stage's job_thread.hpp).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "nanochat/tokenizer.hpp"

namespace nanochat {

class GPT;

struct SamplingOptions {
  double temperature = 1.0;  // 0 = argmax (greedy); otherwise logits / temperature
  int top_k = 0;             // keep the k largest logits before sampling; 0 = all
  uint64_t seed = 42;        // the same seed, prompt and options give the same tokens
  int max_tokens = 256;      // tokens generated per row at most (forced tokens count too)
};

// One decoding step: a token for every row, sampled (mask 1) or forced by the tool (mask 0).
struct GenerationStep {
  std::vector<TokenId> tokens;
  std::vector<uint8_t> masks;
  // 1 while the row is generating, its stop token included; 0 once it has stopped (its
  // token is then filler that the batch computes anyway and callers ignore).
  std::vector<uint8_t> live;
};

// Return false to stop generating (e.g. the client of a stream went away).
using StepCallback = std::function<bool(const GenerationStep& step)>;

// As nanochat's generate_batch: the prompt then the row's tokens, without the stop token;
// mask 0 on the prompt and forced tokens, 1 on sampled ones.
struct GeneratedSequence {
  std::vector<TokenId> tokens;
  std::vector<uint8_t> mask;
  bool stopped = false;  // ended on a stop token (false: max_tokens or cancelled)
};

enum class FinishReason { stop, length, cancelled };
const char* finish_reason_name(FinishReason reason);  // "stop", "length", "cancelled"

// One streamed reply (batch 1), for chat front ends.
struct Completion {
  std::vector<TokenId> tokens;  // generated, without the stop token
  std::string text;             // all text passed to the callback, joined
  FinishReason finish_reason = FinishReason::stop;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;  // tokens generated, the stop token included
};

// Return false to stop generating.
using TextCallback = std::function<bool(std::string_view text)>;

class Engine {
 public:
  // The model is only read (forward passes under inference mode), so several engines may
  // share one. Throws Error when the tokenizer lacks nanochat's special tokens or its
  // vocabulary is larger than the model's.
  Engine(std::shared_ptr<GPT> model, std::shared_ptr<const Tokenizer> tokenizer);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Generates `num_samples` rows continuing `prompt` (which must not be empty), calling
  // `on_step` once per decoding step until every row has stopped, max_tokens is reached,
  // the model's position table is used up, or the callback returns false.
  void generate(const std::vector<TokenId>& prompt, int num_samples, const SamplingOptions& options,
                const StepCallback& on_step);

  // generate() collected per row.
  std::vector<GeneratedSequence> generate_batch(const std::vector<TokenId>& prompt, int num_samples,
                                                const SamplingOptions& options);

  // One row, streamed as text at whole UTF-8 characters (special tokens such as
  // <|python_start|> appear by name; the stop token does not appear). `on_text` may be empty.
  Completion complete(const std::vector<TokenId>& prompt, const SamplingOptions& options,
                      const TextCallback& on_text = {});

  const GPT& model() const { return *model_; }
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  // Positions the model can attend over (prompt + reply), its training sequence length.
  int64_t context_length() const;

 private:
  std::shared_ptr<GPT> model_;
  std::shared_ptr<const Tokenizer> tokenizer_;
};

}  // namespace nanochat
