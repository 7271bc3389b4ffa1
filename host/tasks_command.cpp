// `nanochat tasks list|show`: the installed task plugins with their splits and sizes, and
// examples of a task (or of a task mixture, in its shuffled order) as conversations and, when
// a tokenizer has been trained, as the tokens training sees with the loss mask visible.
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
    "       nanochat tasks show TASKS [--split S] [-n N] [--offset K] [--seed N] [--task-data-dir DIR]\n"
    "                                 [--tokenizer PLUGIN] [--max-tokens N] [--ids]\n"
    "TASKS is a task list, comma-separated name[=argument][:split][[start:stop]][*repeat], e.g. gsm8k:test,\n"
    "chat-jsonl=my.jsonl, or gsm8k,identity:all*2 (several are shown in their shuffled mixture order).";

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

void show_example(const TaskExample& example, const Tokenizer* tokenizer, const po::variables_map& values) {
  print_conversation(example);
  if (tokenizer) {
    print_tokens(render_conversation(example.conversation, *tokenizer, values["max-tokens"].as<size_t>()), *tokenizer,
                 values["ids"].as<bool>());
  }
}

// One task: its examples in order. Several (or one *repeated): the TaskMixture a stage would
// train on, each example labelled with the part and index it comes from.
int show_task(const Args& args) {
  po::options_description options("tasks show");
  options.add_options()("task", po::value<std::string>(), "a task, or a task list (shown as its mixture)")(
      "split", po::value<std::string>()->default_value(""), "the split where the task names none (default: its first)")(
      "n,n", po::value<size_t>()->default_value(3), "how many examples")(
      "offset", po::value<size_t>()->default_value(0), "the first example")(
      "seed", po::value<uint64_t>()->default_value(42), "the mixture's shuffle seed (nanochat: 42)")(
      "task-data-dir", po::value<std::string>(), "the shared data folder")(
      "tokenizer", po::value<std::string>()->default_value("bpe"), "the tokenizer plugin")(
      "max-tokens", po::value<size_t>()->default_value(2048), "render at most this many tokens (nanochat: 2048)")(
      "ids", po::bool_switch(), "also print the token ids with their mask");
  po::positional_options_description positional;
  positional.add("task", 1);
  const auto values = parse(options, args, &positional);
  if (!values.count("task")) throw UsageError("tasks show needs a task, e.g. `nanochat tasks show gsm8k:test`");

  const std::vector<TaskSpec> specs = parse_task_list(values["task"].as<std::string>());
  const std::string split = values["split"].as<std::string>();
  const bool one_task = specs.size() == 1 && specs[0].repeat == 1;
  if (one_task && !split.empty() && !specs[0].split.empty() && split != specs[0].split) {
    throw UsageError(fmt::format("two splits given: '{}' and --split {}", specs[0].split, split));
  }
  const std::vector<TaskRef> parts = open_tasks(specs, data_dir_option(values), split);
  const TaskMixture mixture(parts, values["seed"].as<uint64_t>());
  const size_t size = one_task ? parts[0].size() : mixture.size();
  const std::string label = one_task ? parts[0].label() : "the mixture";
  const size_t offset = values["offset"].as<size_t>(), n = values["n"].as<size_t>();
  if (offset >= size) throw UsageError(fmt::format("--offset {} is past the end of {} ({} examples)", offset, label, size));

  const auto tokenizer = load_tokenizer(values["tokenizer"].as<std::string>(), artifact_dir(Artifact::tokenizer, base_dir()));
  for (size_t i = offset; i < std::min(size, offset + n); ++i) {
    if (one_task) {
      std::cout << fmt::format("=== {} #{} (of {}) ===\n", label, i, size);
      show_example(parts[0].get(i), tokenizer.get(), values);
    } else {
      const TaskLocation where = mixture.locate(i);
      std::cout << fmt::format("=== mixture #{} (of {}): {} #{} ===\n", i, size, parts[where.part].label(), where.index);
      show_example(mixture.get(i), tokenizer.get(), values);
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
