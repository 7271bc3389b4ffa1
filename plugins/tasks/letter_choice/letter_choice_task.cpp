// Task `letter-choice`: a synthetic multiple-choice question a tiny model can learn, so that RL
// has a reward to climb on the CPU (a tiny model scores ~0 on GSM8K). Each example asks
// `Which of these is the word "sun"?` over four distinct words from a fixed list, rendered
// as ARC and MMLU are (render_multiple_choice, letters A-D), so a model SFT-trained on ARC
// answers with a letter. Example i of `train` is drawn from random.Random(i), of `test` from
// random.Random(1,000,000 + i): the same on every machine, and the Python oracle restates it.
// Argument: none = the target at a uniformly random letter; A, B, C or D = always there.
// evaluate() = reward() = 1 when the completion's first non-whitespace character is the
// answer letter (uppercase), else 0.
#include <fmt/format.h>

#include <string_view>

#include "nanochat/error.hpp"
#include "nanochat/python_random.hpp"
#include "nanochat/task_formats.hpp"
#include "nanochat/task_plugin.hpp"

namespace nanochat {
namespace {

constexpr size_t kTrainSize = 10'000;
constexpr size_t kTestSize = 1'000;
// More than the train size, so that no test example shares a seed with a train one.
constexpr uint64_t kTestSeedOffset = 1'000'000;
constexpr std::string_view kLetters = "ABCD";
constexpr std::string_view kWhitespace = " \t\r\n";

// Short common words (one token each in most vocabularies); the sampler picks by index.
const std::vector<std::string> kWords = {
    "sun",  "moon", "star", "sky",   "tree", "leaf", "rock", "sand", "rain", "snow", "wind",
    "fire", "lake", "fish", "bird",  "cat",  "dog",  "cow",  "egg",  "milk", "bread", "cake",
    "cup",  "book", "door", "bed",   "hat",  "shoe", "ball", "box",  "car",  "ship",
};

class LetterChoiceTask final : public Task {
 public:
  std::string name() const override { return "letter-choice"; }
  std::vector<std::string> splits() const override { return {"train", "test"}; }
  EvalType eval_type() const override { return EvalType::categorical; }

  void open(const TaskOpenOptions& options) override {
    const std::string& letter = options.argument;
    if (letter.empty()) return;
    if (letter.size() != 1 || kLetters.find(letter[0]) == std::string_view::npos) {
      throw UsageError(fmt::format("task letter-choice: the argument is the letter the answer is always at, A, B, C or "
                                   "D (letter-choice=C), or none for a random letter; not '{}'",
                                   letter));
    }
    fixed_position_ = static_cast<int>(kLetters.find(letter[0]));
  }

  size_t size(const std::string& split) const override {
    if (split == "train") return kTrainSize;
    if (split == "test") return kTestSize;
    throw_unknown_split(name(), split, splits());
  }

  // Draws, in this order: four distinct words (the first is the target), then its position,
  // drawn even when the argument fixes it, so that letter-choice=C asks the same questions
  // with only the target moved.
  TaskExample get(const std::string& split, size_t index) const override {
    check_example_index(name(), split, index, size(split));
    PythonRandom rng(split == "train" ? index : kTestSeedOffset + index);
    const std::vector<std::string> picked = rng.sample(kWords, kLetters.size());
    const auto drawn = static_cast<size_t>(rng.randbelow(kLetters.size()));
    const size_t position = fixed_position_ >= 0 ? static_cast<size_t>(fixed_position_) : drawn;
    std::vector<std::string> choices(picked.begin() + 1, picked.end());
    choices.insert(choices.begin() + static_cast<std::ptrdiff_t>(position), picked[0]);
    std::vector<std::string> letters;
    for (char letter : kLetters) letters.emplace_back(1, letter);
    const std::string answer = letters[position];
    return multiple_choice_example(fmt::format("Which of these is the word \"{}\"?", picked[0]), std::move(letters),
                                   choices, answer);
  }

  // Lenient on what follows the letter (" C", "C.", "C) sun" all pass), strict on the letter
  // itself: uppercase, and first. The categorical evaluation passes the chosen letter alone.
  double evaluate(const TaskExample& example, const std::string& completion) const override {
    const size_t first = completion.find_first_not_of(kWhitespace);
    if (first == std::string::npos) return 0.0;
    const std::string& answer = last_part_text(example);
    return answer.size() == 1 && completion[first] == answer[0] ? 1.0 : 0.0;
  }

 private:
  int fixed_position_ = -1;  // 0-3 when the argument fixes the answer's letter
};

}  // namespace
}  // namespace nanochat

NANOCHAT_TASK_PLUGIN(nanochat::LetterChoiceTask, "letter-choice")
