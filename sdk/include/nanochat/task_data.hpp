// Reading a task plugin's data files (JSON Lines, one JSON array, CSV; gzip-compressed or
// not) so that every defect stops with "FILE:LINE: what is wrong". A callback that throws
// (any std::exception) is reported the same way, so a plugin checks a row by throwing.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nanochat/task.hpp"

namespace nanochat {

// options.data_dir / relative, which must exist; otherwise Error naming the path, the task
// and how to point elsewhere (--task-data-dir, NANOCHAT_DATA_DIR).
std::filesystem::path task_data_path(const TaskOpenOptions& options, const std::filesystem::path& relative,
                                     const std::string& task_name);

// A whole file, gunzipped when it is gzip data. Throws Error naming the file.
std::string read_task_file(const std::filesystem::path& path);

// The lines of a file without their '\n' (and '\r'), as Python's `for line in f` then
// rstrip('\r\n') sees them: a last line without '\n' counts, an empty file has none.
std::vector<std::string> read_task_lines(const std::filesystem::path& path);

// Each non-blank line of a JSON Lines file, parsed, with its line number (from 1) and its
// index among the non-blank lines (from 0).
void for_each_jsonl(const std::filesystem::path& path,
                    const std::function<void(const nlohmann::json& row, size_t line, size_t index)>& row);

// Each element of a file holding one JSON array, with its index (errors name "element I").
void for_each_json_array_element(const std::filesystem::path& path,
                                 const std::function<void(const nlohmann::json& element, size_t index)>& element);

// Each record of an RFC 4180 CSV file (quoted fields may hold commas, "" and line breaks)
// after its header row, which must equal `header`; with the line the record starts on.
// A record with another number of fields than the header, or an unclosed quote, stops.
void for_each_csv_record(const std::filesystem::path& path, const std::vector<std::string>& header,
                         const std::function<void(const std::vector<std::string>& fields, size_t line)>& record);

// The conversations of a JSON Lines file (nanochat's CustomJSON format): each non-blank line
// a JSON array of {"role", "content"} messages, or an object {"messages": [...]}, where
// content is a string or a list of {"type", "text"} parts. Each must pass check_chat_roles;
// the first that does not stops with "FILE:LINE: conversation I: message J ...".
std::vector<Conversation> read_conversation_jsonl(const std::filesystem::path& path);

// A string member of a JSON object, or Error "no string \"key\"".
const std::string& json_string(const nlohmann::json& object, const char* key);

}  // namespace nanochat
