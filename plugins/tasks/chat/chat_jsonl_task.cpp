// Task `chat-jsonl=PATH`: your own conversations, in nanochat's CustomJSON format (each line
// a JSON array of {"role", "content"} messages, or {"messages": [...]}; see
// read_conversation_jsonl). PATH is a file (splits: train, the last 5% as test, all) or a
// folder whose <split>.jsonl (or .jsonl.gz) files are the splits. A relative PATH is looked
// up from the current folder, then in the task data folder.
#include <algorithm>

#include <fmt/format.h>

#include "nanochat/error.hpp"
#include "nanochat/stored_task.hpp"
#include "nanochat/task_data.hpp"
#include "nanochat/task_plugin.hpp"

namespace fs = std::filesystem;

namespace nanochat {
namespace {

// A file's split name: its name without .jsonl or .jsonl.gz; "" when it is neither.
std::string split_of(const fs::path& file) {
  const std::string name = file.filename().string();
  for (const std::string suffix : {".jsonl", ".jsonl.gz"}) {
    if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      return name.substr(0, name.size() - suffix.size());
    }
  }
  return "";
}

fs::path resolve(const TaskOpenOptions& options) {
  const fs::path given(options.argument);
  std::error_code ec;
  if (given.is_absolute() || fs::exists(given, ec)) {
    if (!fs::exists(given, ec)) throw Error(fmt::format("task chat-jsonl: {} does not exist", given.string()));
    return given;
  }
  const fs::path in_data = options.data_dir / given;
  if (fs::exists(in_data, ec)) return in_data;
  throw Error(fmt::format("task chat-jsonl: {} does not exist here nor in the task data folder {}", given.string(),
                          options.data_dir.string()));
}

class ChatJsonlTask final : public ChatSetTask {
 public:
  void open(const TaskOpenOptions& options) override {
    if (options.argument.empty()) {
      throw UsageError("task chat-jsonl needs a file or folder: chat-jsonl=PATH (JSONL conversations)");
    }
    const fs::path path = resolve(options);
    if (!fs::is_directory(path)) {
      set_conversations(read_conversation_jsonl(path));
      return;
    }
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(path)) {
      if (entry.is_regular_file() && !split_of(entry.path()).empty()) files.push_back(entry.path());
    }
    if (files.empty()) {
      throw Error(fmt::format("task chat-jsonl: the folder {} holds no <split>.jsonl file", path.string()));
    }
    std::sort(files.begin(), files.end());
    for (const fs::path& file : files) {
      const auto known = splits();
      if (std::find(known.begin(), known.end(), split_of(file)) != known.end()) {
        throw Error(fmt::format("task chat-jsonl: two files in {} hold split '{}'", path.string(), split_of(file)));
      }
      std::vector<TaskExample> examples;
      for (Conversation& conversation : read_conversation_jsonl(file)) {
        examples.push_back(TaskExample{std::move(conversation), {}});
      }
      set_split(split_of(file), std::move(examples));
    }
  }
  std::string name() const override { return "chat-jsonl"; }
};

}  // namespace
}  // namespace nanochat

NANOCHAT_TASK_PLUGIN(nanochat::ChatJsonlTask, "chat-jsonl")
