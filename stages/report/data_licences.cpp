// Datasets used and their licences (see data_licences.hpp).
#include "data_licences.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <nlohmann/json.hpp>
#include <sstream>
#include <utility>

#include "nanochat/base_dir.hpp"
#include "nanochat/error.hpp"
#include "nanochat/log.hpp"
#include "nanochat/task.hpp"
#include "text_file.hpp"

namespace fs = std::filesystem;

namespace nanochat::report {
namespace {

// Where the shipped task plugins read their data (plugins/tasks/README.md's table); the
// chat evaluation's HumanEval reads eval_humaneval.
constexpr std::array<std::pair<const char*, const char*>, 11> kTaskData = {{
    {"gsm8k", "eval_gsm8k"},
    {"arc-easy", "eval_arc"},
    {"arc-challenge", "eval_arc"},
    {"mmlu", "eval_mmlu"},
    {"identity", "sft_identity_nanochat"},
    {"oasst", "sft_oasst_en100"},
    {"hh-rlhf", "sft_hh_rlhf"},
    {"alpaca", "sft_alpaca_cleaned_1000"},
    {"spellingbee", "midtrain_spellingbee_words"},
    {"simple-spelling", "midtrain_spellingbee_words"},
    {"humaneval", "eval_humaneval"},
}};
// CORE reads llm-foundry's files and HellaSwag from a folder of its own.
constexpr std::array<const char*, 2> kCoreData = {"eval_core", "eval_hellaswag"};

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::string trim(const std::string& text) {
  const size_t start = text.find_first_not_of(" \t\r");
  return start == std::string::npos ? "" : text.substr(start, text.find_last_not_of(" \t\r") - start + 1);
}

// The cells of a markdown table row "| a | b |", or none for another line.
std::vector<std::string> table_cells(const std::string& line) {
  const std::string row = trim(line);
  if (row.size() < 2 || row.front() != '|' || row.back() != '|') return {};
  std::vector<std::string> cells;
  std::istringstream parts(row.substr(1, row.size() - 2));
  for (std::string cell; std::getline(parts, cell, '|');) cells.push_back(trim(cell));
  return cells;
}

bool is_separator_row(const std::vector<std::string>& cells) {
  return !cells.empty() && std::all_of(cells.begin(), cells.end(), [](const std::string& c) {
    return !c.empty() && c.find_first_not_of("-: ") == std::string::npos;
  });
}

bool names_licence(const std::string& cell) {
  const std::string text = lower(cell);
  return text.rfind("license", 0) == 0 || text.rfind("licence", 0) == 0;
}

class UseCollector {
 public:
  UseCollector(DataUses& uses, const fs::path& data_dir) : uses_(uses), data_dir_(data_dir) {}

  void dataset(const fs::path& folder, const std::string& use, const std::string& task = "") {
    add(uses_.datasets[fs::weakly_canonical(folder)], use, task);
  }

  void path(const fs::path& path, const std::string& use, const std::string& task = "") {
    if (auto folder = dataset_of_path(path, data_dir_)) return dataset(*folder, use, task);
    add(uses_.unknown["`" + path.string() + "`"], use, task);
  }

  void task(const TaskSpec& spec, const std::string& use) {
    if (spec.name == "chat-jsonl" && !spec.argument.empty()) return path(spec.argument, use, spec.name);
    if (auto folder = dataset_of_task(spec.name)) return dataset(data_dir_ / *folder, use, spec.name);
    add(uses_.unknown["task `" + spec.name + "`"], use, spec.name);
  }

  void mixture(const std::string& list, const std::string& use) {
    if (list.empty()) return;
    try {
      for (const TaskSpec& spec : parse_task_list(list)) task(spec, use);
    } catch (const Error& e) {
      log::warn("report: {}: cannot read the mixture '{}': {}", use, list, e.what());
      add(uses_.unknown["mixture `" + list + "`"], use, "");
    }
  }

 private:
  static void add(DatasetUses& uses, const std::string& use, const std::string& task) {
    std::set<std::string>& tasks = uses[use];
    if (!task.empty()) tasks.insert(task);
  }

  DataUses& uses_;
  const fs::path& data_dir_;
};

void add_corpora(UseCollector& collect, const fs::path& base_dir) {
  const fs::path index = artifact_dir(Artifact::base_data, base_dir) / "index.json";
  if (!fs::exists(index)) return;
  const nlohmann::json j = nlohmann::json::parse(read_text_file(index), nullptr, false);
  if (j.is_discarded() || !j.contains("sources") || !j["sources"].is_array()) {
    log::warn("report: {} has no \"sources\" list: its corpora are left out of the licences", index.string());
    return;
  }
  for (const auto& source : j["sources"]) {
    if (source.is_string()) collect.path(source.get<std::string>(), "pretraining corpus");
  }
}

}  // namespace

std::optional<fs::path> dataset_of_path(const fs::path& path, const fs::path& data_dir) {
  std::error_code ec;
  for (fs::path p = path.lexically_normal(); !p.empty() && p.has_filename(); p = p.parent_path()) {
    if (fs::exists(p / "PROVENANCE.md", ec)) return p;
    const fs::path named = data_dir / p.filename();
    if (p.filename() != ".." && fs::exists(named / "PROVENANCE.md", ec)) return named;
  }
  return std::nullopt;
}

std::optional<std::string> dataset_of_task(const std::string& task) {
  for (const auto& [name, folder] : kTaskData) {
    if (task == name) return std::string(folder);
  }
  return std::nullopt;
}

DataUses collect_data_uses(const fs::path& base_dir, const std::vector<ReportSection>& sections,
                           const std::vector<EvalResult>& evals, const fs::path& data_dir) {
  DataUses uses;
  UseCollector collect(uses, data_dir);
  add_corpora(collect, base_dir);
  for (const ReportSection& section : sections) {
    collect.mixture(find_report_item(section.text, "mixture"), section.title);
    collect.mixture(find_report_item(section.text, "val mixture"), section.title + " validation");
  }
  for (const EvalResult& eval : evals) {
    const std::string use = fmt::format("{} {} evaluation", eval.source, eval.kind);
    if (eval.kind == "core") {
      for (const char* folder : kCoreData) collect.dataset(data_dir / folder, use);
    } else if (eval.kind == "chat") {
      for (const std::string& name : eval.task_names) collect.task(TaskSpec{lower(name)}, use);
    }
  }
  return uses;
}

std::string provenance_licence(const std::string& markdown) {
  std::istringstream lines(markdown);
  std::vector<std::string> column_values;
  int column = -1;  // the "license" column of the table being read
  for (std::string line; std::getline(lines, line);) {
    const std::vector<std::string> cells = table_cells(line);
    if (cells.size() >= 2 && names_licence(cells[0])) return cells[1];
    const std::string text = trim(line);
    if (lower(text).rfind("- license:", 0) == 0) return trim(text.substr(10));
    if (cells.empty()) {
      column = -1;
    } else if (column < 0) {
      auto it = std::find_if(cells.begin() + 1, cells.end(), names_licence);
      if (it != cells.end()) column = static_cast<int>(it - cells.begin());
    } else if (!is_separator_row(cells) && column < static_cast<int>(cells.size())) {
      column_values.push_back(cells[0] + ": " + cells[static_cast<size_t>(column)]);
    }
  }
  std::string joined;
  for (const std::string& value : column_values) joined += (joined.empty() ? "" : "; ") + value;
  return joined;
}

bool is_non_commercial(const std::string& licence) {
  const std::string text = lower(licence);
  return text.find("by-nc") != std::string::npos || text.find("non-commercial") != std::string::npos;
}

std::string licences_section(const DataUses& uses) {
  std::string out = "## Data licences\n\nAs each dataset's PROVENANCE.md states them.\n\n";
  std::string lines, restricted;
  auto joined = [](const DatasetUses& uses) {  // "Chat SFT: alpaca, oasst; pretraining corpus"
    std::string text;
    for (const auto& [use, tasks] : uses) {
      text += (text.empty() ? "" : "; ") + use;
      for (const std::string& task : tasks) text += (task == *tasks.begin() ? ": " : ", ") + task;
    }
    return text;
  };
  for (const auto& [folder, used_for] : uses.datasets) {
    const fs::path provenance = folder / "PROVENANCE.md";
    std::string licence = fs::exists(provenance) ? provenance_licence(read_text_file(provenance)) : "";
    if (licence.empty()) licence = fs::exists(provenance) ? "not stated in " + provenance.string() : "no " + provenance.string();
    const std::string name = "`" + folder.filename().string() + "`";
    if (is_non_commercial(licence)) restricted += (restricted.empty() ? "" : ", ") + name;
    lines += fmt::format("- {} ({}): {}\n", name, joined(used_for), licence);
  }
  for (const auto& [what, used_for] : uses.unknown) {
    lines += fmt::format("- {} ({}): no PROVENANCE.md found, licence unknown\n", what, joined(used_for));
  }
  if (lines.empty()) return out + "No dataset use was recorded (no base_data/index.json, task mixtures or eval results).\n\n";
  if (!restricted.empty()) {
    out += "**Non-commercial use only**: " + restricted +
           " is licensed for non-commercial use (CC BY-NC), and so is a model trained on it.\n\n";
  }
  return out + lines + "\n";
}

}  // namespace nanochat::report
