// `nanochat run eval --kind chat`: nanochat's scripts/chat_eval.py. A chat checkpoint
// (--source mid|sft|rl) answers each task of --tasks (default nanochat's six: ARC-Easy,
// ARC-Challenge, MMLU, GSM8K, HumanEval, SpellingBee, on their test splits): categorical
// tasks by the argmax over the answer letters' logits, --device-batch-size prompts per
// forward pass; generative ones by completions from the engine (greedy, 512 new tokens, the
// calculator on; --num-samples > 1 with --temperature > 0 is pass@k). Ranks under
// `nanochat launch` split the problems and score exactly what one process scores. Rank 0
// writes $NANOCHAT_BASE_DIR/eval/<source>-chat.json, the report section "Chat evaluation
// <source>" and prints the summary table, ChatCORE included when all six ran.
#pragma once

#include <boost/program_options/options_description.hpp>

#include <cstdint>

#include "eval_options.hpp"

namespace nanochat::eval {

// nanochat's chat_eval defaults: -n 1 -t 0 -k 50 -m 512.
struct ChatEvalOptions {
  int num_samples = 1;         // completions per generative problem; it passes if any is right
  double temperature = 0.0;    // 0 = greedy
  int top_k = 50;
  int max_new_tokens = 512;
  uint64_t seed = 42;          // the engine's sampling seed, the same for every problem (nanochat's)
};

// Declares --num-samples, --temperature, --top-k, --max-new-tokens and --seed.
void add_chat_eval_options(boost::program_options::options_description& description, ChatEvalOptions& options);

// Runs the evaluation. Throws UsageError for a bad option or task list, Error when the
// checkpoint or a task's data cannot be read.
void run_chat_eval(const EvalOptions& options, const ChatEvalOptions& chat);

}  // namespace nanochat::eval
