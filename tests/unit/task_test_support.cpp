// Task test helpers (see task_test_support.hpp).
#include "task_test_support.hpp"

#include "nanochat/build_config.hpp"
#include "nanochat/plugin_registry.hpp"

namespace fs = std::filesystem;

namespace nanochat::test {

void use_build_plugins() { PluginRegistry::instance().set_search_dirs({fs::path(NANOCHAT_BUILD_PLUGIN_DIR)}); }

std::shared_ptr<Task> open_task(const std::string& name, const fs::path& data_dir, const std::string& argument) {
  use_build_plugins();
  auto task = PluginRegistry::instance().create<Task>(PluginKind::task, name);
  task->open(TaskOpenOptions{data_dir, argument});
  return task;
}

std::vector<TaskSplit> every_task_split(const fs::path& data_dir) {
  std::vector<TaskSplit> splits;
  for (const TaskInfo& info : kTaskTable) {
    std::string argument;
    if (std::string(info.name) == "chat-jsonl") {
      argument = (data_dir / "sft_identity_nanochat/identity_conversations.jsonl").string();
    } else if (std::string(info.argument) == "N") {
      argument = "2000";
    }
    for (const std::string& split : open_task(info.name, data_dir, argument)->splits()) {
      splits.push_back({info.name, argument, split});
    }
  }
  return splits;
}

}  // namespace nanochat::test
