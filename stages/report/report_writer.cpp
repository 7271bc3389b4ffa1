// report.md from its parts (see report_writer.hpp).
#include "report_writer.hpp"

#include <fmt/format.h>

#include <ctime>
#include <optional>
#include <set>
#include <string>

#include "data_licences.hpp"
#include "eval_results.hpp"
#include "nanochat/atomic_file.hpp"
#include "nanochat/base_dir.hpp"
#include "nanochat/log.hpp"
#include "nanochat/svg_plot.hpp"
#include "report_header.hpp"
#include "report_plots.hpp"
#include "report_sections.hpp"
#include "summary_table.hpp"
#include "text_file.hpp"

namespace fs = std::filesystem;

namespace nanochat::report {
namespace {

constexpr const char* kNoReset = "run `nanochat run report --reset` before the first stage to time the run";

std::string make_header(const ReportPaths& paths) {
  HeaderInputs in;
  in.generated = std::time(nullptr);
  in.git = read_git_info(paths.source_dir);
  in.hardware = read_hardware();
  in.code_size = measure_code_size(paths.source_dir);
  in.source_dir = paths.source_dir.string();
  return header_markdown(in);
}

// A section as the stage wrote it, then its plots (written beside report.md) on one line,
// ending with a blank line whatever the stage ended its file with.
std::string section_with_plots(const ReportSection& section, const fs::path& report_dir, const fs::path& out_dir) {
  std::string text = section.text.empty()
                         ? "## " + section.title + "\n\nNo section yet: the stage has not finished (its metrics so far below)."
                         : section.text;
  while (!text.empty() && text.back() == '\n') text.pop_back();
  text += "\n\n";
  if (!section.has_metrics) return text;
  const MetricSeries metrics = read_metrics_file(report_dir / (section.slug + ".jsonl"));
  std::string images;
  for (const Plot& plot : section_plots(section.slug, section.title, metrics)) {
    atomic_write_file(out_dir / plot.file, render_line_chart_svg(plot.chart));
    images += fmt::format("{}![{}]({})", images.empty() ? "" : " ", plot.caption, plot.file);
  }
  return images.empty() ? text : text + images + "\n\n";
}

// The latest timestamp of the sections that count for the wall-clock time (all but RL's).
std::optional<std::time_t> run_end(const std::vector<ReportSection>& sections) {
  std::optional<std::time_t> end;
  for (const ReportSection& s : sections) {
    if (s.timestamp && !is_rl_section(s.slug) && (!end || *s.timestamp > *end)) end = s.timestamp;
  }
  return end;
}

std::string summary(const HeaderFacts& header, const EvalResults& evals, const std::vector<ReportSection>& sections) {
  std::string out = "## Summary\n\n" + (header.bloat.empty() ? "[bloat data missing]\n" : header.bloat) + "\n";
  const SummaryValues values = summary_values(evals.results);
  out += summary_table(values) + "\n";
  if (values.empty()) out += "No eval results yet (the eval stage writes them to eval/<source>-<kind>.json).\n\n";
  if (!evals.skipped.empty()) {
    out += "Eval results left out:\n";
    for (const std::string& why : evals.skipped) out += "- " + why + "\n";
    out += "\n";
  }
  const std::optional<std::time_t> end = run_end(sections);
  if (!header.run_started) return out + "Total wall clock time: unknown (" + kNoReset + ")\n";
  if (!end) return out + "Total wall clock time: unknown (no stage has finished since the run started)\n";
  const double seconds = std::difftime(*end, *header.run_started);
  out += "Total wall clock time: " + format_wall_clock(seconds) + "\n";
  if (header.hourly_rate) {
    out += fmt::format("Estimated cost: ${:.2f} (at ${:.2f}/hour)\n", *header.hourly_rate * seconds / 3600.0, *header.hourly_rate);
  }
  return out;
}

}  // namespace

fs::path write_report(const ReportPaths& paths) {
  const fs::path report_dir = artifact_dir(Artifact::report, paths.base_dir);
  const fs::path header_file = report_dir / "header.md";
  std::string header;
  if (fs::exists(header_file)) {
    header = read_text_file(header_file);
  } else {
    log::warn("report: no {}: the header is made now and the wall-clock time is unknown; {}", header_file.string(), kNoReset);
    header = make_header(paths);
  }
  const HeaderFacts facts = parse_header(header);
  std::set<std::string> not_sections = {"report.md"};  // an earlier report, when this one goes elsewhere
  if (fs::weakly_canonical(fs::absolute(paths.out).parent_path()) == fs::weakly_canonical(report_dir)) {
    not_sections.insert(paths.out.filename().string());
  }
  const std::vector<ReportSection> sections = read_report_sections(report_dir, not_sections);
  const EvalResults evals = read_eval_results(paths.base_dir / "eval");

  const fs::path out_dir = paths.out.has_parent_path() ? paths.out.parent_path() : fs::path(".");
  fs::create_directories(out_dir);
  std::string report = header;
  for (const ReportSection& section : sections) report += section_with_plots(section, report_dir, out_dir);
  report += licences_section(collect_data_uses(paths.base_dir, sections, evals.results, paths.data_dir));
  report += summary(facts, evals, sections);
  atomic_write_file(paths.out, report);
  return paths.out;
}

fs::path reset_report(const ReportPaths& paths) {
  const fs::path report_dir = artifact_dir(Artifact::report, paths.base_dir);
  fs::create_directories(report_dir);
  for (const auto& entry : fs::directory_iterator(report_dir)) {
    const std::string ext = entry.path().extension().string();
    if (entry.is_regular_file() && (ext == ".md" || ext == ".jsonl" || ext == ".svg")) fs::remove(entry.path());
  }
  const fs::path header_file = report_dir / "header.md";
  atomic_write_file(header_file, make_header(paths) + "Run started: " + format_report_time(std::time(nullptr)) + "\n\n---\n\n");
  return header_file;
}

}  // namespace nanochat::report
