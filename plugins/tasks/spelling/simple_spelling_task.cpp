// Task `simple-spelling`: nanochat's SimpleSpelling, "Spell the word: apple" answered
// "apple:a,p,p,l,e", the word drawn from the list shuffled by random.Random(42) (another
// order than spellingbee's). nanochat has no metric for it; ours is an exact match of the
// completion with that answer.
#include "nanochat/task_formats.hpp"
#include "nanochat/task_plugin.hpp"
#include "spelling_task.hpp"

namespace nanochat {
namespace {

class SimpleSpellingTask final : public SpellingTask {
 public:
  std::string name() const override { return "simple-spelling"; }
  double evaluate(const TaskExample& example, const std::string& completion) const override {
    return completion == last_part_text(example) ? 1.0 : 0.0;
  }

 protected:
  void set_words(std::vector<std::string> words) override {
    PythonRandom(42).shuffle(words);
    words_ = std::move(words);
  }
  TaskExample generate(PythonRandom& rng) const override {
    const std::string& word = rng.choice(words_);
    return TaskExample{user_assistant("Spell the word: " + word, word + ":" + comma_spelled(word)), {}};
  }

 private:
  std::vector<std::string> words_;
};

}  // namespace
}  // namespace nanochat

NANOCHAT_TASK_PLUGIN(nanochat::SimpleSpellingTask, "simple-spelling")
