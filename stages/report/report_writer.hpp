// Putting report.md together (nanochat's `python -m nanochat.report generate` and `reset`):
// the header, each stage's section with its plots, the data licences and the Summary.
#pragma once

#include <filesystem>

namespace nanochat::report {

struct ReportPaths {
  std::filesystem::path base_dir;    // NANOCHAT_BASE_DIR: report/, eval/, base_data/
  std::filesystem::path out;         // report.md; the plots go beside it
  std::filesystem::path source_dir;  // the source tree, for git and code size
  std::filesystem::path data_dir;    // the shared data folder with the PROVENANCE.md files
};

// Writes `paths.out` and its SVG plots; returns the path written. Without a header.md
// (no reset before the run) the header is made now and the wall-clock time is unknown.
std::filesystem::path write_report(const ReportPaths& paths);

// Starts a run's report: deletes report/'s sections, metrics, plots and report.md, and
// writes header.md with "Run started: now". Returns header.md's path.
std::filesystem::path reset_report(const ReportPaths& paths);

}  // namespace nanochat::report
