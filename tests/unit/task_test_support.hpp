// Shared by the task tests: task plugins loaded from this build's plugin folder (never a
// user's installed copies), opened on the shared data or on files a test writes.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "nanochat/task.hpp"

namespace nanochat::test {

// Points the plugin registry at this build's plugin folder only.
void use_build_plugins();

// Creates the task plugin `name` and opens it.
std::shared_ptr<Task> open_task(const std::string& name, const std::filesystem::path& data_dir,
                                const std::string& argument = "");

// Every split of every shipped task (kTaskTable) with the argument the tests open it with:
// chat-jsonl reads the identity file, the spelling tasks make 2,000 examples per split.
struct TaskSplit {
  std::string task;
  std::string argument;
  std::string split;
};
std::vector<TaskSplit> every_task_split(const std::filesystem::path& data_dir);

}  // namespace nanochat::test
