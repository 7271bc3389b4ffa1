// SpellingTask (see spelling_task.hpp).
#include "spelling_task.hpp"

#include <fmt/format.h>

#include "nanochat/error.hpp"
#include "nanochat/task_data.hpp"
#include "nanochat/task_formats.hpp"

namespace nanochat {
namespace {

// nanochat's TEST_RANDOM_SEED_OFFSET: more than the word count, so that test examples never
// share a seed with train ones.
constexpr size_t kTestSeedOffset = 10'000'000;

}  // namespace

void SpellingTask::open(const TaskOpenOptions& options) {
  if (!options.argument.empty()) {
    const std::string& n = options.argument;
    if (n.size() > 8 || n.find_first_not_of("0123456789") != std::string::npos || std::stoul(n) == 0 ||
        std::stoul(n) > kTestSeedOffset) {
      throw UsageError(fmt::format("task {}: the argument is the number of examples per split, 1 to {} ({}=N), not "
                                   "'{}'",
                                   name(), kTestSeedOffset, name(), n));
    }
    size_ = std::stoul(n);
  }
  const auto path = task_data_path(options, "midtrain_spellingbee_words/words_alpha.txt", name());
  std::vector<std::string> words = read_task_lines(path);
  for (size_t i = 0; i < words.size(); ++i) {
    // Python's line.strip() keeps an empty line as an empty word; nanochat's list has none.
    std::string& word = words[i];
    word.erase(word.find_last_not_of(" \t\r") + 1);
    if (word.empty() || word.find_first_not_of("abcdefghijklmnopqrstuvwxyz") != std::string::npos) {
      throw Error(fmt::format("{}:{}: '{}' is not a lowercase word (a-z)", path.string(), i + 1, word));
    }
  }
  if (words.empty()) throw Error(fmt::format("{}: no words", path.string()));
  set_words(std::move(words));
}

size_t SpellingTask::size(const std::string& split) const {
  if (split != "train" && split != "test") throw_unknown_split(name(), split, splits());
  return size_;
}

TaskExample SpellingTask::get(const std::string& split, size_t index) const {
  check_example_index(name(), split, index, size(split));
  PythonRandom rng(split == "train" ? index : kTestSeedOffset + index);
  return generate(rng);
}

std::string comma_spelled(const std::string& word) {
  std::string out;
  for (char c : word) {
    if (!out.empty()) out += ',';
    out += c;
  }
  return out;
}

}  // namespace nanochat
