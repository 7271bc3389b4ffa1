// What nanochat's two spelling tasks (tasks/spellingbee.py) share: the word list
// (midtrain_spellingbee_words/words_alpha.txt, one lowercase word per line) and examples
// generated on demand, example i of `train` from random.Random(i) and of `test` from
// random.Random(10,000,000 + i), so any size costs no memory. The task argument is the number
// of examples per split: spellingbee=80000 (default 1,000, nanochat's; its midtraining uses
// 200,000 simple-spelling and 80,000 spellingbee, SFT 300 of each, chat_eval 256 test).
#pragma once

#include <string>
#include <vector>

#include "nanochat/python_random.hpp"
#include "nanochat/task.hpp"

namespace nanochat {

class SpellingTask : public Task {
 public:
  void open(const TaskOpenOptions& options) override;
  std::vector<std::string> splits() const override { return {"train", "test"}; }
  size_t size(const std::string& split) const override;
  TaskExample get(const std::string& split, size_t index) const override;
  EvalType eval_type() const override { return EvalType::generative; }

 protected:
  // The example drawn from `rng` (seeded for its index and split).
  virtual TaskExample generate(PythonRandom& rng) const = 0;
  // Called at the end of open() with the word list in file order.
  virtual void set_words(std::vector<std::string> words) = 0;

 private:
  size_t size_ = 1000;
};

// "a,p,p,l,e": Python's ",".join(list(word)).
std::string comma_spelled(const std::string& word);

}  // namespace nanochat
