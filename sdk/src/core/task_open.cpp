// Opening task lists through the plugin registry, task slices and the default data folder (see nanochat/task.hpp).
#include <cstdlib>
#include <map>

#include <fmt/format.h>

#include "nanochat/build_config.hpp"
#include "nanochat/error.hpp"
#include "nanochat/plugin_registry.hpp"
#include "nanochat/task.hpp"

namespace fs = std::filesystem;

namespace nanochat {
namespace {

std::shared_ptr<PluginLibrary> load_task_plugin(const std::string& name) {
  try {
    return PluginRegistry::instance().load(PluginKind::task, name);
  } catch (const PluginNotFound&) {
    throw UsageError(fmt::format("no task plugin named '{}' is installed (installed: {}); `nanochat tasks list` "
                                 "shows them with their splits",
                                 name, PluginRegistry::instance().installed_names(PluginKind::task)));
  }
}

}  // namespace

const char* eval_type_name(EvalType type) {
  return type == EvalType::categorical ? "categorical" : "generative";
}

size_t TaskRef::size() const {
  const size_t total = task->size(split);
  const size_t end = std::min(stop, total);
  return end > start ? end - start : 0;
}

TaskExample TaskRef::get(size_t index) const {
  if (index >= size()) {
    throw UsageError(fmt::format("{} has {} examples; index {} is past the end", label(), size(), index));
  }
  return task->get(split, start + index);
}

std::string TaskRef::label() const {
  std::string text = task->name() + ":" + split;
  if (start != 0 || stop != kToEnd) {
    text += fmt::format("[{}:{}]", start == 0 ? "" : std::to_string(start),
                        stop == kToEnd ? "" : std::to_string(stop));
  }
  return text;
}

std::vector<TaskRef> open_tasks(const std::vector<TaskSpec>& specs, const fs::path& data_dir,
                                const std::string& default_split) {
  // Every name is checked before any data is read, so a typo fails at once.
  std::map<std::string, std::shared_ptr<PluginLibrary>> plugins;
  for (const TaskSpec& spec : specs) plugins[spec.name] = load_task_plugin(spec.name);
  std::map<std::pair<std::string, std::string>, std::shared_ptr<Task>> opened;  // by name and argument
  std::vector<TaskRef> refs;
  for (const TaskSpec& spec : specs) {
    auto& task = opened[{spec.name, spec.argument}];
    if (!task) {
      task = plugins[spec.name]->create<Task>();
      task->open(TaskOpenOptions{data_dir, spec.argument});
    }
    TaskRef ref;
    ref.task = task;
    ref.split = !spec.split.empty() ? spec.split : default_split;
    if (ref.split.empty()) {
      const auto splits = task->splits();
      if (splits.empty()) throw Error(fmt::format("task {} has no splits", spec.name));
      ref.split = splits.front();
    }
    const size_t total = task->size(ref.split);  // UsageError listing the splits
    ref.start = static_cast<size_t>(spec.start);
    ref.stop = spec.stop < 0 ? TaskRef::kToEnd : static_cast<size_t>(spec.stop);
    const size_t end = spec.stop < 0 ? total : ref.stop;
    if (end > total || ref.start > total) {
      throw UsageError(fmt::format("{} asks for examples up to {}, but {}:{} has {}", format_task_spec(spec),
                                   std::max(end, ref.start), spec.name, ref.split, total));
    }
    for (int64_t i = 0; i < spec.repeat; ++i) refs.push_back(ref);
  }
  return refs;
}

fs::path default_task_data_dir() {
  if (const char* env = std::getenv("NANOCHAT_DATA_DIR"); env != nullptr && *env != '\0') return fs::path(env);
  std::error_code ec;
  const fs::path beside_cwd = fs::current_path(ec) / ".." / "shared" / "data";
  if (fs::is_directory(beside_cwd, ec)) return fs::weakly_canonical(beside_cwd, ec);
  const fs::path beside_source = fs::path(NANOCHAT_SOURCE_DIR) / ".." / "shared" / "data";
  if (fs::is_directory(beside_source, ec)) return fs::weakly_canonical(beside_source, ec);
  return beside_cwd;
}

}  // namespace nanochat
