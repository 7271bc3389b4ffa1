// Multiple-choice scoring from the logits over the answer letters, a batch of prompts per
// forward pass (see nanochat/task_eval.hpp).
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "nanochat/conversation.hpp"
#include "nanochat/error.hpp"
#include "nanochat/gpt.hpp"
#include "nanochat/task_eval.hpp"

namespace nanochat {
namespace {

// nanochat's render cut: render_conversation keeps at most 2,048 tokens.
constexpr size_t kRenderLimit = 2048;

// Letter → token, checked once per letter.
class LetterTokens {
 public:
  explicit LetterTokens(const Tokenizer& tokenizer) : tokenizer_(tokenizer) {}

  TokenId operator()(const std::string& letter) {
    auto found = ids_.find(letter);
    if (found != ids_.end()) return found->second;
    const std::vector<TokenId> ids = tokenizer_.encode(letter);
    if (ids.size() != 1) {
      throw Error(fmt::format("answer letter '{}' is {} tokens; the categorical evaluation needs one token per letter",
                              letter, ids.size()));
    }
    return ids_.emplace(letter, ids[0]).first->second;
  }

 private:
  const Tokenizer& tokenizer_;
  std::map<std::string, TokenId> ids_;
};

}  // namespace

size_t prompt_token_limit(const GPT& model) {
  // The prompt's last token sits at position max_positions - 1 at the latest.
  return std::min<size_t>(kRenderLimit, static_cast<size_t>(std::max<int64_t>(1, model.max_positions() - 1)));
}

std::vector<size_t> choose_letters(GPT& model, const std::vector<LetterQuestion>& questions, TokenId pad) {
  if (questions.empty()) return {};
  size_t longest = 0;
  for (const LetterQuestion& question : questions) {
    if (question.prompt.empty() || question.letters.empty()) {
      throw Error("choose_letters: every question needs a prompt and at least one answer letter");
    }
    longest = std::max(longest, question.prompt.size());
  }
  const int64_t rows = static_cast<int64_t>(questions.size());
  std::vector<int64_t> ids(questions.size() * longest, pad);
  std::vector<int64_t> last(questions.size());
  for (size_t row = 0; row < questions.size(); ++row) {
    std::copy(questions[row].prompt.begin(), questions[row].prompt.end(), ids.begin() + row * longest);
    last[row] = static_cast<int64_t>(questions[row].prompt.size()) - 1;
  }
  c10::InferenceMode inference;
  const at::Tensor idx = at::tensor(ids, at::kLong).view({rows, static_cast<int64_t>(longest)}).to(model.device());
  const at::Tensor logits = model.logits_at(idx, at::tensor(last, at::kLong)).to(at::kCPU, at::kFloat).contiguous();
  const auto table = logits.accessor<float, 2>();
  std::vector<size_t> chosen(questions.size(), 0);
  for (size_t row = 0; row < questions.size(); ++row) {
    const std::vector<TokenId>& letters = questions[row].letters;
    for (size_t i = 1; i < letters.size(); ++i) {
      if (table[row][letters[i]] > table[row][letters[chosen[row]]]) chosen[row] = i;  // first maximum wins
    }
  }
  return chosen;
}

TaskScore evaluate_categorical(GPT& model, const Tokenizer& tokenizer, const TaskRef& task, size_t problems,
                               int64_t batch_size, const RankShare& share, const ScoreProgress& progress) {
  if (batch_size < 1) throw UsageError(fmt::format("the batch size is {}; it must be at least 1", batch_size));
  const TokenId bos = tokenizer.special_id(special_tokens::bos);
  const size_t batch = static_cast<size_t>(batch_size);
  const size_t max_prompt = prompt_token_limit(model);
  LetterTokens letter_token(tokenizer);
  TaskScore score;
  for (size_t begin = share.rank * batch; begin < problems; begin += batch * share.world_size) {
    std::vector<TaskExample> examples;
    std::vector<LetterQuestion> questions;
    for (size_t i = begin; i < std::min(problems, begin + batch); ++i) {
      examples.push_back(task.get(i));
      const TaskExample& example = examples.back();
      if (example.letters.empty()) {
        throw Error(fmt::format("{} example {} has no answer letters: {} is not a categorical task", task.label(), i,
                                task.task->name()));
      }
      LetterQuestion question{render_for_completion(example.conversation, tokenizer, max_prompt), {}};
      for (const std::string& letter : example.letters) question.letters.push_back(letter_token(letter));
      questions.push_back(std::move(question));
    }
    const std::vector<size_t> chosen = choose_letters(model, questions, bos);
    for (size_t k = 0; k < examples.size(); ++k) {
      score.passed += task.task->evaluate(examples[k], examples[k].letters[chosen[k]]) != 0.0 ? 1 : 0;
      ++score.total;
    }
    if (progress) progress(score);
  }
  return score;
}

}  // namespace nanochat
