// Base classes for task plugins whose examples are read once and kept in memory.
// StoredTask answers splits(), size() and get() from the examples a subclass adds in open();
// ChatSetTask is a StoredTask of conversations with no reference answers (chat data for SFT
// and midtraining): one list cut into `train` and the last 5% as `test`, plus `all`.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "nanochat/task.hpp"

namespace nanochat {

class StoredTask : public Task {
 public:
  std::vector<std::string> splits() const override;
  size_t size(const std::string& split) const override;
  TaskExample get(const std::string& split, size_t index) const override;

 protected:
  // Adds (or replaces) a split, in the order splits() lists them.
  void set_split(const std::string& split, std::vector<TaskExample> examples);
  const std::vector<TaskExample>& examples(const std::string& split) const;

 private:
  std::vector<std::pair<std::string, std::vector<TaskExample>>> splits_;
};

class ChatSetTask : public StoredTask {
 public:
  EvalType eval_type() const override { return EvalType::generative; }
  bool has_evaluation() const override { return false; }
  // Throws UsageError: these conversations have no reference answer to score against.
  double evaluate(const TaskExample& example, const std::string& completion) const override;

 protected:
  // train = all but the last held_out_count(n), test = those, all = every conversation.
  void set_conversations(std::vector<Conversation> conversations);
};

}  // namespace nanochat
