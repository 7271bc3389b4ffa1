// Scoring a chat model on an evaluation task, as nanochat's scripts/chat_eval.py does (the
// eval stage runs it over a task list; a training stage can run it on the side):
//   categorical — the prompts of a batch right-padded into one forward pass, each answered
//     by the argmax of its logits over its answer letters (choose_letters);
//   generative — each prompt completed (greedy by default, the calculator on), a problem
//     passing when any of its completions evaluates to 1 (pass@k with k samples).
// Problems are split between data-parallel ranks as nanochat splits them (categorical:
// batch i to rank i mod world; generative: problem i to rank i mod world), so every problem
// is scored exactly as in one process; sum_over_ranks() adds the ranks' scores.
#pragma once

#include <c10/core/Device.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "nanochat/distributed.hpp"
#include "nanochat/engine.hpp"
#include "nanochat/task.hpp"
#include "nanochat/tokenizer.hpp"

namespace nanochat {

class GPT;

struct TaskScore {
  int64_t passed = 0;
  int64_t total = 0;
  double accuracy() const { return total > 0 ? static_cast<double>(passed) / static_cast<double>(total) : 0.0; }
};

// This process's share of the problems.
struct RankShare {
  int rank = 0;
  int world_size = 1;
};

// Called after each batch (categorical) or problem (generative) with this rank's score so far.
using ScoreProgress = std::function<void(const TaskScore& so_far)>;

// One multiple-choice question for choose_letters.
struct LetterQuestion {
  std::vector<TokenId> prompt;   // render_for_completion: it ends with <|assistant_start|>
  std::vector<TokenId> letters;  // the token of each answer letter, in the task's order
};

// The index into `letters` of each question's answer: the largest of the logits at the
// prompt's last position over its letters (the first on a tie, as torch.argmax). The
// prompts go through the model as one batch, right-padded with `pad`. Throws Error for a
// question without letters.
std::vector<size_t> choose_letters(GPT& model, const std::vector<LetterQuestion>& questions, TokenId pad);

// The longest prompt render_for_completion should make for `model`: nanochat's 2,048
// tokens, or fewer when the model's positions end sooner (the prompt, <|assistant_start|>
// and at least one generated token must fit).
size_t prompt_token_limit(const GPT& model);

// Problems 0 .. problems-1 of a categorical task, `batch_size` per forward pass, padded
// with <|bos|>; the chosen letter is scored by task.evaluate. This rank's share only.
// Throws Error when an answer letter is not one token.
TaskScore evaluate_categorical(GPT& model, const Tokenizer& tokenizer, const TaskRef& task, size_t problems,
                               int64_t batch_size, const RankShare& share, const ScoreProgress& progress = {});

// The assistant's completions of a prompt (render_for_completion's tokens).
using CompletionSource = std::function<std::vector<std::string>(const std::vector<TokenId>& prompt)>;

// Problems 0 .. problems-1 of a task, each completed by `complete` and passing when
// task.evaluate gives any completion a nonzero score. This rank's share only.
// Prompts are cut to max_prompt_tokens (prompt_token_limit of the model that completes them).
TaskScore evaluate_generative(const TaskRef& task, size_t problems, const Tokenizer& tokenizer,
                              const CompletionSource& complete, size_t max_prompt_tokens, const RankShare& share,
                              const ScoreProgress& progress = {});

// `num_samples` rows of the engine (its calculator tool on), each decoded after the prompt
// up to its stop token, special tokens written by name as nanochat's decode writes them.
CompletionSource engine_completions(Engine& engine, int num_samples, const SamplingOptions& sampling);

// The ranks' scores added up (a collective; `device` is the process group's device).
TaskScore sum_over_ranks(const TaskScore& mine, Distributed& dist, c10::Device device);

}  // namespace nanochat
