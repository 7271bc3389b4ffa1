// `nanochat tasks list|show`: the installed task plugins with their splits and sizes, and
// examples of one task as conversations and, when a tokenizer has been trained, as the
// tokens training sees with the loss mask visible.
#include <unistd.h>

#include <boost/program_options.hpp>

#include <algorithm>
#include <iostream>

#include <fmt/format.h>

#include "commands.hpp"
#include "nanochat/base_dir.hpp"
#include "nanochat/error.hpp"
#include "nanochat/plugin_registry.hpp"
#include "nanochat/task.hpp"
#include "nanochat/tokenizer.hpp"

namespace fs = std::filesystem;
namespace po = boost::program_options;

namespace nanochat::host {
namespace {

constexpr const char* kUsage =
    "usage: nanochat tasks list [--task-data-dir DIR]\n"
    "       nanochat tasks show TASK [--split S] [-n N] [--offset K] [--task-data-dir DIR] [--tokenizer PLUGIN]\n"
    "                               [--max-tokens N] [--ids]\n"
    "TASK is one task-list entry: name[=argument][:split][[start:stop]], e.g. gsm8k:test, chat-jsonl=my.jsonl";

po::variables_map parse(const po::options_description& options, const Args& args,
                        const po::positional_options_description* positional = nullptr) {
  po::variables_map values;
  try {
    po::command_line_parser parser(args);
    parser.options(options);
    if (positional) parser.positional(*positional);
    po::store(parser.run(), values);
    po::notify(values);
  } catch (const po::error& e) {
    throw UsageError(std::string(e.what()) + " (see `nanochat tasks --help`)");
  }
  return values;
}

fs::path data_dir_option(const po::variables_map& values) {
  return values.count("task-data-dir") ? fs::path(values["task-data-dir"].as<std::string>()) : default_task_data_dir();
}

std::string splits_text(const Task& task) {
  std::string text;
  for (const auto& split : task.splits()) text += fmt::format("{}{} {}", text.empty() ? "" : ", ", split, task.size(split));
  return text;
}

int list_tasks(const Args& args) {
  po::options_description options("tasks list");
  options.add_options()("task-data-dir", po::value<std::string>(), "the shared data folder");
  const auto values = parse(options, args);
  const fs::path data_dir = data_dir_option(values);

  std::vector<PluginEntry> entries;
  for (auto& entry : PluginRegistry::instance().scan()) {
    if (entry.kind == PluginKind::task) entries.push_back(entry);
  }
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  std::cout << "task data: " << data_dir.string() << "\n";
  std::cout << fmt::format("{:<16} {:<12} {:<36} {}\n", "NAME", "EVAL", "SPLITS (examples)", "DESCRIPTION");
  for (const auto& entry : entries) {
    std::string eval = "-", splits, description;
    try {
      auto library = PluginRegistry::instance().load(PluginKind::task, entry.name);
      description = library->info().description;
      auto task = library->create<Task>();
      eval = task->has_evaluation() ? eval_type_name(task->eval_type()) : "none";
      const TaskInfo* info = find_task_info(entry.name);
      if (info != nullptr && std::string(info->argument) == "PATH") {
        splits = "needs =PATH";
      } else {
        task->open(TaskOpenOptions{data_dir, ""});
        splits = splits_text(*task);
      }
    } catch (const std::exception& e) {
      splits = std::string("cannot open: ") + e.what();
    }
    std::cout << fmt::format("{:<16} {:<12} {:<36} {}\n", entry.name, eval, splits, description);
  }
  if (entries.empty()) std::cout << "(no task plugins on the search path; see `nanochat plugins list`)\n";
  return 0;
}

std::string part_text(const MessagePart& part) {
  switch (part.type) {
    case MessagePart::Type::python:
      return std::string(special_tokens::python_start) + part.text + special_tokens::python_end;
    case MessagePart::Type::python_output:
      return std::string(special_tokens::output_start) + part.text + special_tokens::output_end;
    case MessagePart::Type::text:
      break;
  }
  return part.text;
}

void print_conversation(const TaskExample& example) {
  for (const Message& message : example.conversation.messages) {
    std::cout << "[" << message.role << "]\n";
    for (const MessagePart& part : message.parts) std::cout << part_text(part);
    std::cout << "\n";
  }
  if (!example.letters.empty()) {
    std::string letters;
    for (const auto& letter : example.letters) letters += (letters.empty() ? "" : " ") + letter;
    std::cout << "[letters] " << letters << "\n";
  }
}

// The tokens in runs of equal mask: trained-on runs plain, the rest dim on a terminal and
// [bracketed] elsewhere (runs are decoded whole, so a character cut between tokens stays whole).
void print_tokens(const RenderedConversation& rendered, const Tokenizer& tokenizer, bool show_ids) {
  const bool terminal = isatty(STDOUT_FILENO) != 0;
  const size_t targets = static_cast<size_t>(std::count(rendered.mask.begin(), rendered.mask.end(), 1));
  std::cout << fmt::format("[tokens] {} tokens, {} trained on; {} = not trained on (mask 0)\n", rendered.ids.size(),
                           targets, terminal ? "dim" : "[bracketed]");
  for (size_t begin = 0; begin < rendered.ids.size();) {
    size_t end = begin;
    while (end < rendered.ids.size() && rendered.mask[end] == rendered.mask[begin]) ++end;
    const std::string text = tokenizer.decode({rendered.ids.begin() + static_cast<std::ptrdiff_t>(begin),
                                               rendered.ids.begin() + static_cast<std::ptrdiff_t>(end)});
    if (rendered.mask[begin]) {
      std::cout << text;
    } else {
      std::cout << (terminal ? "\033[2m" : "[") << text << (terminal ? "\033[0m" : "]");
    }
    begin = end;
  }
  std::cout << "\n";
  if (show_ids) {
    std::string ids;
    for (size_t i = 0; i < rendered.ids.size(); ++i) ids += fmt::format("{}{}/{}", i ? " " : "", rendered.ids[i], rendered.mask[i]);
    std::cout << "[ids/mask] " << ids << "\n";
  }
}

std::shared_ptr<Tokenizer> load_tokenizer(const std::string& plugin, const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    std::cout << "(no tokenizer in " << dir.string()
              << ": run `nanochat run tokenizer` to see the tokens and the loss mask)\n";
    return nullptr;
  }
  auto tokenizer = PluginRegistry::instance().create<Tokenizer>(PluginKind::tokenizer, plugin);
  tokenizer->load(dir);
  return tokenizer;
}

int show_task(const Args& args) {
  po::options_description options("tasks show");
  options.add_options()("task", po::value<std::string>(), "the task")(
      "split", po::value<std::string>()->default_value(""), "the split (default: the task's first)")(
      "n,n", po::value<size_t>()->default_value(3), "how many examples")(
      "offset", po::value<size_t>()->default_value(0), "the first example")(
      "task-data-dir", po::value<std::string>(), "the shared data folder")(
      "tokenizer", po::value<std::string>()->default_value("bpe"), "the tokenizer plugin")(
      "max-tokens", po::value<size_t>()->default_value(2048), "render at most this many tokens (nanochat: 2048)")(
      "ids", po::bool_switch(), "also print the token ids with their mask");
  po::positional_options_description positional;
  positional.add("task", 1);
  const auto values = parse(options, args, &positional);
  if (!values.count("task")) throw UsageError("tasks show needs a task, e.g. `nanochat tasks show gsm8k:test`");

  std::vector<TaskSpec> specs = parse_task_list(values["task"].as<std::string>());
  if (specs.size() != 1 || specs[0].repeat != 1) throw UsageError("tasks show takes one task, without *repeat");
  const std::string split = values["split"].as<std::string>();
  if (!split.empty() && !specs[0].split.empty() && split != specs[0].split) {
    throw UsageError(fmt::format("two splits given: '{}' and --split {}", specs[0].split, split));
  }
  const TaskRef ref = open_tasks(specs, data_dir_option(values), split).front();
  const size_t offset = values["offset"].as<size_t>(), n = values["n"].as<size_t>();
  if (offset >= ref.size()) {
    throw UsageError(fmt::format("--offset {} is past the end of {} ({} examples)", offset, ref.label(), ref.size()));
  }
  const auto tokenizer = load_tokenizer(values["tokenizer"].as<std::string>(), artifact_dir(Artifact::tokenizer, base_dir()));
  const size_t end = std::min(ref.size(), offset + n);
  for (size_t i = offset; i < end; ++i) {
    std::cout << fmt::format("=== {} #{} (of {}) ===\n", ref.label(), i, ref.size());
    const TaskExample example = ref.get(i);
    print_conversation(example);
    if (tokenizer) {
      print_tokens(render_conversation(example.conversation, *tokenizer, values["max-tokens"].as<size_t>()), *tokenizer,
                   values["ids"].as<bool>());
    }
  }
  return 0;
}

}  // namespace

int tasks_command(const Args& args) {
  if (args.empty()) {
    std::cerr << kUsage << "\n";
    return 2;
  }
  if (std::find(args.begin(), args.end(), "--help") != args.end() || std::find(args.begin(), args.end(), "-h") != args.end()) {
    std::cout << kUsage << "\n";
    return 0;
  }
  const Args rest(args.begin() + 1, args.end());
  if (args[0] == "list") return list_tasks(rest);
  if (args[0] == "show") return show_task(rest);
  throw UsageError("unknown tasks subcommand '" + args[0] + "' (list or show; see `nanochat tasks --help`)");
}

}  // namespace nanochat::host
