// The run report (SPEC §11): each stage writes one markdown section to
// $NANOCHAT_BASE_DIR/report/<slug>.md — "## Section", a timestamp line, then "- key: value"
// lines (floats with 4 decimals, integers ≥ 10,000 with thousands separators). A training
// stage also appends its step and evaluation metrics to report/<slug>.jsonl, which
// `nanochat run report` plots; stages/report/README.md has the whole report's shape.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace nanochat {

using ReportValue = std::variant<std::string, int64_t, double, bool>;
using ReportItems = std::vector<std::pair<std::string, ReportValue>>;

// "Base model training" -> "base-model-training".
std::string report_slug(const std::string& section);

// How a value is written: 0.1234 / 12,345 / true / text.
std::string format_report_value(const ReportValue& value);

// Writes report/<slug>.md atomically and returns its path; `markdown` (a table, say) is
// appended after the key/value lines.
std::filesystem::path write_report_section(const std::filesystem::path& base_dir, const std::string& section,
                                           const ReportItems& items, const std::string& markdown = "");

// report/<slug>.jsonl: one JSON object per line, {"stage", "step", ...}: a training step's
// "loss", "smooth_loss", "lrm", "dt", "tok_per_sec", "mfu" (RL adds "reward"), or an
// evaluation's {"eval": {"val_bpb": ...}} (--log-file gets the step lines alone). A resumed
// or repeated run appends; a reader keeps, per field, the latest run's points from each step on.
std::filesystem::path report_metrics_file(const std::filesystem::path& base_dir, const std::string& section);

// Appends `line` as one JSON line to `file` (a metrics file or a --log-file), making its folder.
void append_json_line(const std::filesystem::path& file, const nlohmann::json& line);

}  // namespace nanochat
