// Which datasets a run used, and their licences as each dataset's PROVENANCE.md (in the
// shared data folder) states them. Uses come from what the stages recorded: the corpora of
// base_data/index.json, the task mixtures in the report sections ("- mixture:", "- val
// mixture:"), and the tasks of the eval results.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "eval_results.hpp"
#include "report_sections.hpp"

namespace nanochat::report {

// How the run used a dataset: use ("Midtraining", "sft chat evaluation") → the tasks that
// read it there ("alpaca", "identity"; none for a corpus).
using DatasetUses = std::map<std::string, std::set<std::string>>;

struct DataUses {
  std::map<std::filesystem::path, DatasetUses> datasets;  // by dataset folder (holding PROVENANCE.md)
  std::map<std::string, DatasetUses> unknown;             // a path or task without a PROVENANCE.md to be found
};

// The nearest of `path` and its parent folders that holds a PROVENANCE.md, looked for where
// the path points and, by folder name, under `data_dir` (a corpus recorded as
// "../shared/data/pretrain_gutenberg" from another working folder is still found).
std::optional<std::filesystem::path> dataset_of_path(const std::filesystem::path& path, const std::filesystem::path& data_dir);

// The shared data folder a shipped task reads ("alpaca" → "sft_alpaca_cleaned_1000"), as in
// plugins/tasks/README.md; nullopt for other tasks.
std::optional<std::string> dataset_of_task(const std::string& task);

DataUses collect_data_uses(const std::filesystem::path& base_dir, const std::vector<ReportSection>& sections,
                           const std::vector<EvalResult>& evals, const std::filesystem::path& data_dir);

// The licence a PROVENANCE.md states: its "| license | ... |" row, a "- License: ..." line,
// or the cells of a table's "license" column, each after its row's first cell; "" if none.
std::string provenance_licence(const std::string& provenance_markdown);

// Whether a licence text forbids commercial use (CC BY-NC and the like).
bool is_non_commercial(const std::string& licence);

// "## Data licences": a warning first when any dataset is non-commercial, then one line per
// dataset with its uses and licence.
std::string licences_section(const DataUses& uses);

}  // namespace nanochat::report
