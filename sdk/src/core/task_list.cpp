// The task-list grammar: "name[=argument][:split][[start:stop]][*repeat]", comma-separated
// (see nanochat/task.hpp).
#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "nanochat/error.hpp"
#include "nanochat/task.hpp"

namespace nanochat {
namespace {

constexpr const char* kGrammar = "name[=argument][:split][[start:stop]][*repeat]";

std::string trim(const std::string& text) {
  const size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(" \t") - begin + 1);
}

bool is_identifier(const std::string& text, bool allow_upper) {
  if (text.empty()) return false;
  for (unsigned char c : text) {
    const bool ok = std::islower(c) || std::isdigit(c) || c == '-' || c == '_' || (allow_upper && std::isupper(c));
    if (!ok) return false;
  }
  return true;
}

[[noreturn]] void bad(const std::string& item, const std::string& why) {
  throw UsageError(fmt::format("bad task '{}': {} (a task list is comma-separated {})", item, why, kGrammar));
}

// A non-negative integer, or -1 for "".
int64_t parse_count(const std::string& item, const std::string& text, const char* what) {
  if (text.empty()) return -1;
  if (text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos) {
    bad(item, fmt::format("{} '{}' is not a non-negative integer", what, text));
  }
  return std::stoll(text);
}

TaskSpec parse_one(const std::string& item) {
  TaskSpec spec;
  std::string rest = item;
  if (const size_t star = rest.rfind('*'); star != std::string::npos) {
    const int64_t repeat = parse_count(item, rest.substr(star + 1), "the repeat count");
    if (repeat < 1) bad(item, "the repeat count after '*' must be 1 or more");
    spec.repeat = repeat;
    rest.resize(star);
  }
  if (!rest.empty() && rest.back() == ']') {
    const size_t open = rest.rfind('[');
    const size_t colon = open == std::string::npos ? std::string::npos : rest.find(':', open);
    if (colon == std::string::npos || colon > rest.size() - 1) bad(item, "a slice is written [start:stop]");
    spec.start = std::max<int64_t>(0, parse_count(item, rest.substr(open + 1, colon - open - 1), "the slice start"));
    spec.stop = parse_count(item, rest.substr(colon + 1, rest.size() - 1 - colon - 1), "the slice stop");
    if (spec.stop >= 0 && spec.stop < spec.start) bad(item, "the slice stop is before its start");
    rest.resize(open);
  }
  if (const size_t colon = rest.rfind(':'); colon != std::string::npos) {
    spec.split = rest.substr(colon + 1);
    if (!is_identifier(spec.split, true)) {
      bad(item, fmt::format("'{}' is not a split name (a path holding ':' needs an explicit :split after it)",
                            spec.split));
    }
    rest.resize(colon);
  }
  if (const size_t equals = rest.find('='); equals != std::string::npos) {
    spec.argument = rest.substr(equals + 1);
    if (spec.argument.empty()) bad(item, "nothing after '='");
    rest.resize(equals);
  }
  spec.name = rest;
  if (!is_identifier(spec.name, false)) bad(item, fmt::format("'{}' is not a task name ([a-z0-9_-]+)", spec.name));
  return spec;
}

}  // namespace

std::vector<TaskSpec> parse_task_list(const std::string& text) {
  std::vector<TaskSpec> specs;
  size_t begin = 0;
  while (true) {
    const size_t comma = text.find(',', begin);
    const std::string item = trim(text.substr(begin, comma == std::string::npos ? std::string::npos : comma - begin));
    if (item.empty()) {
      throw UsageError(fmt::format("empty task in the task list '{}' (a task list is comma-separated {})", text,
                                   kGrammar));
    }
    specs.push_back(parse_one(item));
    if (comma == std::string::npos) break;
    begin = comma + 1;
  }
  return specs;
}

std::string format_task_spec(const TaskSpec& spec) {
  std::string text = spec.name;
  if (!spec.argument.empty()) text += "=" + spec.argument;
  if (!spec.split.empty()) text += ":" + spec.split;
  if (spec.start != 0 || spec.stop >= 0) {
    text += fmt::format("[{}:{}]", spec.start == 0 ? "" : std::to_string(spec.start),
                        spec.stop < 0 ? "" : std::to_string(spec.stop));
  }
  if (spec.repeat != 1) text += fmt::format("*{}", spec.repeat);
  return text;
}

}  // namespace nanochat
