// The sections the stages wrote under report/ (<slug>.md, and <slug>.jsonl metrics), in
// the order nanochat's report.py puts them, and the "YYYY-MM-DD HH:MM:SS" local times
// their "timestamp:" lines (and the header's "Run started:") carry.
#pragma once

#include <ctime>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace nanochat::report {

struct ReportSection {
  std::string slug;                       // the file name without .md / .jsonl
  std::string title;                      // its "## " line; the slug when it has none
  std::string text;                       // the file as the stage wrote it; "" if only metrics exist
  std::optional<std::time_t> timestamp;   // its "timestamp:" line
  bool has_metrics = false;               // report/<slug>.jsonl exists
};

// Every <slug>.md and <slug>.jsonl of `report_dir` except header.md and the names in
// `excluded` (the report itself): nanochat's order (tokenizer, base model training and
// evaluation, midtraining, chat evaluation mid, chat SFT, ..., chat RL, chat evaluation RL),
// then the rest by slug.
std::vector<ReportSection> read_report_sections(const std::filesystem::path& report_dir, const std::set<std::string>& excluded);

// RL is left out of the total wall-clock time, as in nanochat (it is experimental there).
bool is_rl_section(const std::string& slug);

// "2026-12-01 12:34:56" (local time) as written by write_report_section, and back.
std::string format_report_time(std::time_t time);
std::optional<std::time_t> parse_report_time(const std::string& text);

// The time on the first line of `markdown` starting with `prefix` ("timestamp:", "Run started:").
std::optional<std::time_t> find_report_time(const std::string& markdown, const std::string& prefix);

// The value of the first "- key: value" line of `markdown`, or "".
std::string find_report_item(const std::string& markdown, const std::string& key);

}  // namespace nanochat::report
