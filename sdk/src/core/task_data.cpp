// Task data files with FILE:LINE errors (see nanochat/task_data.hpp).
#include "nanochat/task_data.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "gz_file.hpp"
#include "nanochat/conversation_json.hpp"
#include "nanochat/error.hpp"
#include "nanochat/task_formats.hpp"

namespace fs = std::filesystem;

namespace nanochat {
namespace {

// The 1-based line holding byte `offset` of `text`.
size_t line_of_byte(const std::string& text, size_t offset) {
  offset = std::min(offset, text.size());
  return 1 + static_cast<size_t>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(offset), '\n'));
}

nlohmann::json parse_json(const std::string& text, const fs::path& path, size_t first_line) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is 1-based and points just past the offending character.
    const size_t line = first_line + line_of_byte(text, e.byte == 0 ? 0 : e.byte - 1) - 1;
    throw Error(fmt::format("{}:{}: not valid JSON: {}", path.string(), line, e.what()));
  }
}

// Runs `body`, turning any exception into Error with `where` in front.
template <class Body>
void with_location(const std::string& where, Body&& body) {
  try {
    body();
  } catch (const UsageError& e) {
    throw UsageError(where + ": " + e.what());
  } catch (const std::exception& e) {
    throw Error(where + ": " + e.what());
  }
}

}  // namespace

fs::path task_data_path(const TaskOpenOptions& options, const fs::path& relative, const std::string& task_name) {
  const fs::path path = options.data_dir / relative;
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    throw Error(fmt::format("task {}: {} does not exist (the task data folder is {}; set --task-data-dir or "
                            "NANOCHAT_DATA_DIR to the folder holding {})",
                            task_name, path.string(), options.data_dir.string(), relative.begin()->string()));
  }
  return path;
}

std::string read_task_file(const fs::path& path) {
  GzFile file(path);
  std::string text;
  while (file.read(text, size_t{1} << 20)) {
  }
  return text;
}

std::vector<std::string> read_task_lines(const fs::path& path) {
  const std::string text = read_task_file(path);
  std::vector<std::string> lines;
  size_t begin = 0;
  while (begin < text.size()) {
    size_t end = text.find('\n', begin);
    const size_t next = end == std::string::npos ? text.size() : end + 1;
    if (end == std::string::npos) end = text.size();
    if (end > begin && text[end - 1] == '\r') --end;
    lines.emplace_back(text, begin, end - begin);
    begin = next;
  }
  return lines;
}

void for_each_jsonl(const fs::path& path,
                    const std::function<void(const nlohmann::json& row, size_t line, size_t index)>& row) {
  const std::vector<std::string> lines = read_task_lines(path);
  size_t index = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].find_first_not_of(" \t\r") == std::string::npos) continue;
    const nlohmann::json parsed = parse_json(lines[i], path, i + 1);
    with_location(fmt::format("{}:{}", path.string(), i + 1), [&] { row(parsed, i + 1, index); });
    ++index;
  }
}

void for_each_json_array_element(const fs::path& path,
                                 const std::function<void(const nlohmann::json& element, size_t index)>& element) {
  const nlohmann::json parsed = parse_json(read_task_file(path), path, 1);
  if (!parsed.is_array()) throw Error(fmt::format("{}: expected one JSON array", path.string()));
  for (size_t i = 0; i < parsed.size(); ++i) {
    with_location(fmt::format("{}: element {}", path.string(), i), [&] { element(parsed[i], i); });
  }
}

void for_each_csv_record(const fs::path& path, const std::vector<std::string>& header,
                         const std::function<void(const std::vector<std::string>& fields, size_t line)>& record) {
  const std::string text = read_task_file(path);
  size_t pos = 0, line = 1;
  // One record from `pos`: fields split at commas outside quotes, "" inside quotes is ".
  auto next_record = [&](std::vector<std::string>& fields) {
    fields.assign(1, std::string());
    const size_t first_line = line;
    bool quoted = false;
    while (pos < text.size()) {
      const char c = text[pos++];
      if (quoted) {
        if (c == '"') {
          if (pos < text.size() && text[pos] == '"') {
            fields.back() += '"';
            ++pos;
          } else {
            quoted = false;
          }
        } else {
          if (c == '\n') ++line;
          fields.back() += c;
        }
      } else if (c == '"') {
        quoted = true;
      } else if (c == ',') {
        fields.emplace_back();
      } else if (c == '\n') {
        ++line;
        break;
      } else if (c != '\r' || (pos < text.size() && text[pos] != '\n')) {
        fields.back() += c;
      }
    }
    if (quoted) throw Error(fmt::format("{}:{}: a quoted field is never closed", path.string(), first_line));
    return first_line;
  };
  std::vector<std::string> fields;
  if (text.empty()) throw Error(fmt::format("{}: empty file (expected a header row)", path.string()));
  next_record(fields);
  if (fields != header) {
    std::string expected, found;
    for (const auto& name : header) expected += (expected.empty() ? "" : ",") + name;
    for (const auto& name : fields) found += (found.empty() ? "" : ",") + name;
    throw Error(fmt::format("{}:1: the header is '{}', expected '{}'", path.string(), found, expected));
  }
  while (pos < text.size()) {
    const size_t first_line = next_record(fields);
    if (fields.size() == 1 && fields[0].empty()) continue;  // a blank line
    if (fields.size() != header.size()) {
      throw Error(fmt::format("{}:{}: {} fields, expected {}", path.string(), first_line, fields.size(), header.size()));
    }
    with_location(fmt::format("{}:{}", path.string(), first_line), [&] { record(fields, first_line); });
  }
}

std::vector<Conversation> read_conversation_jsonl(const fs::path& path) {
  std::vector<Conversation> conversations;
  for_each_jsonl(path, [&](const nlohmann::json& row, size_t, size_t index) {
    try {
      Conversation conversation = conversation_from_json(row);
      check_chat_roles(conversation);
      conversations.push_back(std::move(conversation));
    } catch (const std::exception& e) {
      throw Error(fmt::format("conversation {}: {}", index, e.what()));
    }
  });
  return conversations;
}

const std::string& json_string(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) throw Error("expected a JSON object");
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) throw Error(fmt::format("no string \"{}\"", key));
  return it->get_ref<const std::string&>();
}

}  // namespace nanochat
