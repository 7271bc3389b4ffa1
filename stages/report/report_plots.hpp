// The report's plots: each training stage's report/<slug>.jsonl (report.hpp's
// report_metrics_file) read into series and drawn as SVG line charts — training loss (raw
// and smoothed), each validation metric, tokens per second, and the RL reward where lines
// carry one.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "nanochat/svg_plot.hpp"

namespace nanochat::report {

// field ("loss", "smooth_loss", "tok_per_sec", "reward", "eval/val_bpb", ...) → (step, value)
using MetricSeries = std::map<std::string, std::vector<std::pair<double, double>>>;

// Reads the lines of a metrics file. A run that starts again from an earlier step (a resume,
// or a fresh run appending to the same file) replaces each field's points from that step on.
// A line that is not a JSON object with a numeric "step" is skipped with a warning naming
// FILE:LINE (a crash can leave the last line half written).
MetricSeries read_metrics_file(const std::filesystem::path& file);

struct Plot {
  std::string file;     // "<slug>-loss.svg"
  std::string caption;  // the image's alt text
  LineChart chart;
};

// The charts a section's metrics make, in the order they are shown; none for fields that
// have no points.
std::vector<Plot> section_plots(const std::string& slug, const std::string& title, const MetricSeries& metrics);

}  // namespace nanochat::report
