// Reading the report folder's sections (see report_sections.hpp).
#include "report_sections.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <sstream>

#include "text_file.hpp"

namespace fs = std::filesystem;

namespace nanochat::report {
namespace {

// nanochat's EXPECTED_FILES (report.py at 10231df), with our tokenizer's one section first.
constexpr std::array<const char*, 12> kOrder = {
    "tokenizer", "tokenizer-training", "tokenizer-evaluation", "base-model-training", "base-model-loss",
    "base-model-evaluation", "midtraining", "chat-evaluation-mid", "chat-sft", "chat-evaluation-sft",
    "chat-rl", "chat-evaluation-rl"};

size_t rank_of(const std::string& slug) {
  auto it = std::find(kOrder.begin(), kOrder.end(), slug);
  return static_cast<size_t>(it - kOrder.begin());
}

std::string title_of(const std::string& text, const std::string& slug) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("## ", 0) == 0) return line.substr(3);
  }
  return slug;
}

}  // namespace

bool is_rl_section(const std::string& slug) {
  std::istringstream words(slug);
  for (std::string word; std::getline(words, word, '-');) {
    if (word == "rl") return true;
  }
  return false;
}

std::string format_report_time(std::time_t time) {
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", std::localtime(&time));
  return text;
}

std::optional<std::time_t> parse_report_time(const std::string& text) {
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%Y-%m-%d %H:%M:%S", &tm);
  if (end == nullptr) return std::nullopt;
  tm.tm_isdst = -1;  // local time, daylight saving as it was then
  return std::mktime(&tm);
}

std::optional<std::time_t> find_report_time(const std::string& markdown, const std::string& prefix) {
  std::istringstream lines(markdown);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(prefix, 0) != 0) continue;
    const size_t start = line.find_first_not_of(' ', prefix.size());
    return start == std::string::npos ? std::nullopt : parse_report_time(line.substr(start));
  }
  return std::nullopt;
}

std::string find_report_item(const std::string& markdown, const std::string& key) {
  const std::string prefix = "- " + key + ": ";
  std::istringstream lines(markdown);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(prefix, 0) == 0) return line.substr(prefix.size());
  }
  return "";
}

std::vector<ReportSection> read_report_sections(const fs::path& report_dir, const std::set<std::string>& excluded) {
  std::map<std::string, ReportSection> by_slug;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(report_dir, ec)) {
    const fs::path& file = entry.path();
    const std::string name = file.filename().string(), ext = file.extension().string();
    if (!entry.is_regular_file() || (ext != ".md" && ext != ".jsonl") || name == "header.md" || excluded.count(name)) continue;
    ReportSection& section = by_slug[file.stem().string()];
    section.slug = file.stem().string();
    if (ext == ".jsonl") {
      section.has_metrics = true;
      continue;
    }
    section.text = read_text_file(file);
    section.timestamp = find_report_time(section.text, "timestamp:");
  }
  std::vector<ReportSection> sections;
  for (auto& [slug, section] : by_slug) {
    section.title = title_of(section.text, slug);
    sections.push_back(std::move(section));
  }
  // stable: slugs outside nanochat's list keep their alphabetical order after it
  std::stable_sort(sections.begin(), sections.end(),
                   [](const ReportSection& a, const ReportSection& b) { return rank_of(a.slug) < rank_of(b.slug); });
  return sections;
}

}  // namespace nanochat::report
