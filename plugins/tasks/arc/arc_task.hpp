// AI2's ARC as nanochat's tasks/arc.py renders it: the question as multiple choice with the
// dataset's own labels as letters (usually A-D, sometimes 1-4, three to five choices), the
// answer key as the assistant's reply. Reads eval_arc/<subset>/<subset>-{Train,Dev,Test}.jsonl
// (AI2's schema {"question": {"stem", "choices": [{"text", "label"}]}, "answerKey"}), in file
// order (nanochat reads a Hugging Face copy shuffled with seed 42). Splits: train, dev, test.
#pragma once

#include <string>

#include "nanochat/stored_task.hpp"

namespace nanochat {

class ArcTask : public StoredTask {
 public:
  // name: the task name ("arc-easy"); subset: the data folder ("ARC-Easy").
  ArcTask(std::string name, std::string subset) : name_(std::move(name)), subset_(std::move(subset)) {}

  void open(const TaskOpenOptions& options) override;
  std::string name() const override { return name_; }
  EvalType eval_type() const override { return EvalType::categorical; }
  double evaluate(const TaskExample& example, const std::string& completion) const override;

 private:
  std::string name_;
  std::string subset_;
};

}  // namespace nanochat
