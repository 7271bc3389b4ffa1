// Which tasks a chat evaluation scores: --tasks as given (a task that is not installed is an
// error listing the installed ones), or nanochat's six, where one not installed is skipped
// with a line saying so (ChatCORE then is not computed). Every task is read on its test
// split unless the list names another; each must have an evaluation and appear once.
#pragma once

#include <string>
#include <vector>

#include "nanochat/task.hpp"

namespace nanochat::eval {

struct ChatEvalTask {
  TaskRef ref;
  std::string label;  // nanochat's metric name ("ARC-Easy") or the task list label ("mmlu:dev")
};

// `tasks` is --tasks ("" = nanochat's six). `announce`: log the skipped default tasks (rank 0).
std::vector<ChatEvalTask> open_chat_eval_tasks(const std::string& tasks, const std::string& data_dir,
                                               bool announce);

}  // namespace nanochat::eval
