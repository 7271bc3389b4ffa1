// Opening the tasks of a chat evaluation (see chat_eval_tasks.hpp).
#include "chat_eval_tasks.hpp"

#include <fmt/format.h>

#include <set>

#include "nanochat/chat_metrics.hpp"
#include "nanochat/error.hpp"
#include "nanochat/log.hpp"
#include "nanochat/plugin_registry.hpp"

namespace nanochat::eval {
namespace {

bool installed(const std::string& task) { return PluginRegistry::instance().find(PluginKind::task, task) != nullptr; }

// nanochat's six, without those not installed.
std::vector<TaskSpec> default_specs(bool announce) {
  std::vector<TaskSpec> specs;
  for (const TaskSpec& spec : parse_task_list(kDefaultChatEvalTasks)) {
    if (installed(spec.name)) {
      specs.push_back(spec);
    } else if (announce) {
      log::warn("chat eval: task {} is not installed; evaluating without it (and without ChatCORE)", spec.name);
    }
  }
  if (specs.empty()) throw UsageError("none of nanochat's chat eval tasks is installed: `nanochat tasks list` shows what is");
  return specs;
}

}  // namespace

std::vector<ChatEvalTask> open_chat_eval_tasks(const std::string& tasks, const std::string& data_dir,
                                               bool announce) {
  const std::vector<TaskSpec> specs = tasks.empty() ? default_specs(announce) : parse_task_list(tasks);
  for (const TaskSpec& spec : specs) {
    if (spec.repeat != 1) {
      throw UsageError(fmt::format("--tasks: '{}' repeats a task; an evaluation scores each task once",
                                   format_task_spec(spec)));
    }
  }
    std::vector<ChatEvalTask> opened;
  std::set<std::string> labels;
  for (TaskRef& ref : open_tasks(specs, data_dir.empty() ? default_task_data_dir() : std::filesystem::path(data_dir), kChatMetricSplit)) {
    if (!ref.task->has_evaluation()) {
      throw UsageError(fmt::format("--tasks: task {} has no evaluation (it is a chat set for training)", ref.task->name()));
    }
    std::string label = chat_metric_label(ref.task->name(), ref.split, ref.label());
    if (!labels.insert(label).second) throw UsageError(fmt::format("--tasks: {} is listed twice", label));
    opened.push_back(ChatEvalTask{std::move(ref), std::move(label)});
  }
  return opened;
}

}  // namespace nanochat::eval
