// StoredTask and ChatSetTask (see nanochat/stored_task.hpp).
#include "nanochat/stored_task.hpp"

#include <fmt/format.h>

#include "nanochat/error.hpp"
#include "nanochat/task_formats.hpp"

namespace nanochat {

std::vector<std::string> StoredTask::splits() const {
  std::vector<std::string> names;
  for (const auto& split : splits_) names.push_back(split.first);
  return names;
}

const std::vector<TaskExample>& StoredTask::examples(const std::string& split) const {
  for (const auto& entry : splits_) {
    if (entry.first == split) return entry.second;
  }
  throw_unknown_split(name(), split, splits());
}

size_t StoredTask::size(const std::string& split) const { return examples(split).size(); }

TaskExample StoredTask::get(const std::string& split, size_t index) const {
  const auto& rows = examples(split);
  check_example_index(name(), split, index, rows.size());
  return rows[index];
}

void StoredTask::set_split(const std::string& split, std::vector<TaskExample> examples) {
  for (auto& entry : splits_) {
    if (entry.first == split) {
      entry.second = std::move(examples);
      return;
    }
  }
  splits_.emplace_back(split, std::move(examples));
}

double ChatSetTask::evaluate(const TaskExample&, const std::string&) const {
  throw UsageError(fmt::format("task {} has no evaluation: its conversations have no reference answer to score "
                               "(use it for training; evaluate on gsm8k, arc-*, mmlu or spellingbee)",
                               name()));
}

void ChatSetTask::set_conversations(std::vector<Conversation> conversations) {
  const size_t test = held_out_count(conversations.size());
  std::vector<TaskExample> all;
  all.reserve(conversations.size());
  for (auto& conversation : conversations) all.push_back(TaskExample{std::move(conversation), {}});
  const auto cut = all.begin() + static_cast<std::ptrdiff_t>(all.size() - test);
  set_split("train", std::vector<TaskExample>(all.begin(), cut));
  set_split("test", std::vector<TaskExample>(cut, all.end()));
  set_split("all", std::move(all));
}

}  // namespace nanochat
