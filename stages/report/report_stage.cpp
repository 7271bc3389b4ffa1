// `nanochat run report`: nanochat's report card (nanochat/report.py). Without options it
// writes $NANOCHAT_BASE_DIR/report/report.md from the stages' sections, plots and eval
// results; `--reset` starts a run's report (run it before the first stage: the header's
// "Run started" is where the total wall-clock time counts from). Torch-free.
#include <boost/program_options.hpp>

#include <iostream>

#include "nanochat/base_dir.hpp"
#include "nanochat/build_config.hpp"
#include "nanochat/log.hpp"
#include "nanochat/plugin.hpp"
#include "nanochat/stage.hpp"
#include "nanochat/task.hpp"
#include "report_writer.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace nanochat::report {
namespace {

class ReportStage : public Stage {
 public:
  void declare_options(po::options_description& o) override {
    o.add_options()
      ("out", po::value<std::string>()->default_value(""), "the report to write (default: $NANOCHAT_BASE_DIR/report/report.md); its plots go beside it")
      ("reset", po::bool_switch(), "start a run's report instead: delete report/'s sections, metrics and plots, write header.md with 'Run started: now'")
      ("source-dir", po::value<std::string>()->default_value(NANOCHAT_SOURCE_DIR), "source tree for the git commit and code size")
      ("task-data-dir", po::value<std::string>()->default_value(""), "shared data folder with each dataset's PROVENANCE.md (default: as the task plugins find it)");
  }

  void run(const po::variables_map& v, const StageContext& context) override {
    ReportPaths paths;
    paths.base_dir = context.base_dir;
    const std::string out = v["out"].as<std::string>();
    paths.out = out.empty() ? artifact_dir(Artifact::report, context.base_dir) / "report.md" : fs::path(out);
    paths.source_dir = v["source-dir"].as<std::string>();
    const std::string data = v["task-data-dir"].as<std::string>();
    paths.data_dir = data.empty() ? default_task_data_dir() : fs::path(data);
    if (v["reset"].as<bool>()) {
      log::info("report: reset; header written to {}", reset_report(paths).string());
      return;
    }
    std::cout << write_report(paths).string() << std::endl;
  }
};

}  // namespace
}  // namespace nanochat::report

NANOCHAT_PLUGIN(NANOCHAT_KIND_STAGE, nanochat::Stage, nanochat::report::ReportStage, "report", "0.1.0",
                "the run's report card: report.md with each stage's section, plots, data licences and the summary table (nanochat report)")
