// Generative scoring: completions of each prompt checked by the task, pass@k over the
// samples (see nanochat/task_eval.hpp).
#include <algorithm>

#include "nanochat/conversation.hpp"
#include "nanochat/task_eval.hpp"

namespace nanochat {

TaskScore evaluate_generative(const TaskRef& task, size_t problems, const Tokenizer& tokenizer,
                              const CompletionSource& complete, size_t max_prompt_tokens, const RankShare& share,
                              const ScoreProgress& progress) {
  TaskScore score;
  for (size_t i = share.rank; i < problems; i += share.world_size) {
    const TaskExample example = task.get(i);
    const std::vector<std::string> completions =
        complete(render_for_completion(example.conversation, tokenizer, max_prompt_tokens));
    const bool passed = std::any_of(completions.begin(), completions.end(), [&](const std::string& completion) {
      return task.task->evaluate(example, completion) != 0.0;
    });
    score.passed += passed ? 1 : 0;
    ++score.total;
    if (progress) progress(score);
  }
  return score;
}

CompletionSource engine_completions(Engine& engine, int num_samples, const SamplingOptions& sampling) {
  return [&engine, num_samples, sampling](const std::vector<TokenId>& prompt) {
    std::vector<std::string> texts;
    for (const GeneratedSequence& row : engine.generate_batch(prompt, num_samples, sampling)) {
      texts.push_back(engine.tokenizer().decode(
          std::vector<TokenId>(row.tokens.begin() + static_cast<std::ptrdiff_t>(prompt.size()), row.tokens.end())));
    }
    return texts;
  };
}

}  // namespace nanochat
