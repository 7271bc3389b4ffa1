// Report sections in nanochat's markdown shape, written atomically under report/.
#include "nanochat/report.hpp"

#include <cctype>
#include <chrono>
#include <ctime>
#include <fmt/format.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "nanochat/atomic_file.hpp"
#include "nanochat/base_dir.hpp"

namespace nanochat {
namespace {

std::string with_thousands(int64_t value) {
  std::string digits = std::to_string(value < 0 ? -value : value);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return value < 0 ? "-" + out : out;
}

}  // namespace

std::string report_slug(const std::string& section) {
  std::string slug;
  for (char c : section) {
    if (std::isalnum(static_cast<unsigned char>(c))) slug += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    else if (!slug.empty() && slug.back() != '-') slug += '-';
  }
  while (!slug.empty() && slug.back() == '-') slug.pop_back();
  return slug;
}

std::string format_report_value(const ReportValue& value) {
  if (const auto* text = std::get_if<std::string>(&value)) return *text;
  if (const auto* flag = std::get_if<bool>(&value)) return *flag ? "true" : "false";
  if (const auto* number = std::get_if<int64_t>(&value)) {
    return *number >= 10000 || *number <= -10000 ? with_thousands(*number) : std::to_string(*number);
  }
  return fmt::format("{:.4f}", std::get<double>(value));
}

std::filesystem::path write_report_section(const std::filesystem::path& base_dir, const std::string& section,
                                           const ReportItems& items, const std::string& markdown) {
  std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", std::localtime(&now));
  std::string text = "## " + section + "\ntimestamp: " + stamp + "\n\n";
  for (const auto& [key, value] : items) text += "- " + key + ": " + format_report_value(value) + "\n";
  if (!markdown.empty()) text += "\n" + markdown + (markdown.back() == '\n' ? "" : "\n");
  text += "\n";
  std::filesystem::path dir = artifact_dir(Artifact::report, base_dir);
  std::filesystem::create_directories(dir);
  std::filesystem::path file = dir / (report_slug(section) + ".md");
  atomic_write_file(file, text);
  return file;
}

std::filesystem::path report_metrics_file(const std::filesystem::path& base_dir, const std::string& section) {
  return artifact_dir(Artifact::report, base_dir) / (report_slug(section) + ".jsonl");
}

void append_json_line(const std::filesystem::path& file, const nlohmann::json& line) {
  if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path());
  std::ofstream(file, std::ios::app) << line.dump() << "\n";
}

}  // namespace nanochat
