// The smallest real plugin: a stage that reports, for each artifact folder of
// DESIGN.md (tokenizer/, base_data/, *_checkpoints/, report/), how many files it holds,
// their size, and when it last changed.
#include <chrono>
#include <ctime>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>

#include "nanochat/base_dir.hpp"
#include "nanochat/plugin.hpp"
#include "nanochat/stage.hpp"

namespace fs = std::filesystem;
namespace po = boost::program_options;

namespace {

struct FolderSummary {
  bool exists = false;
  uint64_t files = 0;
  uint64_t bytes = 0;
  // Not a default-constructed file_time_type: that is the file clock's epoch, which for
  // libstdc++ is 2174-01-01, later than every real file, so max() never moved off it.
  std::optional<fs::file_time_type> newest;
};

FolderSummary summarize(const fs::path& folder) {
  FolderSummary summary;
  std::error_code ec;
  summary.exists = fs::is_directory(folder, ec);
  if (!summary.exists) return summary;
  for (fs::recursive_directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    ++summary.files;
    summary.bytes += it->file_size(ec);
    const fs::file_time_type written = it->last_write_time(ec);
    if (!ec && (!summary.newest || written > *summary.newest)) summary.newest = written;
  }
  return summary;
}

std::string human_size(uint64_t bytes) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  std::ostringstream out;
  out << std::fixed << std::setprecision(unit == 0 ? 0 : 1) << value << " " << units[unit];
  return out.str();
}

// C++17 has no clock_cast between the file clock and the system clock (their epochs differ),
// so the time is carried over as its distance from "now" on each clock: exact to the
// microseconds between the two now() calls.
std::string time_text(fs::file_time_type time) {
  const auto file_now = fs::file_time_type::clock::now();
  const auto system_now = std::chrono::system_clock::now();
  const auto system = system_now + std::chrono::duration_cast<std::chrono::system_clock::duration>(time - file_now);
  std::time_t t = std::chrono::system_clock::to_time_t(system);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M", std::localtime(&t));
  return text;
}

class ArtifactsStage : public nanochat::Stage {
 public:
  void declare_options(po::options_description& options) override {
    options.add_options()("all", po::bool_switch(), "also list folders that do not exist yet");
  }

  void run(const po::variables_map& options, const nanochat::StageContext& context) override {
    bool all = options["all"].as<bool>();
    std::cout << "artifacts in " << context.base_dir.string() << "\n";
    for (nanochat::Artifact artifact : nanochat::all_artifacts()) {
      FolderSummary summary = summarize(nanochat::artifact_dir(artifact, context.base_dir));
      if (!summary.exists && !all) continue;
      std::cout << "  " << std::left << std::setw(22) << nanochat::artifact_folder(artifact);
      if (!summary.exists) {
        std::cout << "(none)\n";
        continue;
      }
      std::cout << std::right << std::setw(6) << summary.files << " files " << std::setw(10)
                << human_size(summary.bytes);
      if (summary.newest) std::cout << "  last changed " << time_text(*summary.newest);
      std::cout << "\n";
    }
  }
};

}  // namespace

NANOCHAT_PLUGIN(NANOCHAT_KIND_STAGE, nanochat::Stage, ArtifactsStage, "artifacts", "0.1.0",
                "lists the artifacts (tokenizer, data, checkpoints, reports) in the base dir")
