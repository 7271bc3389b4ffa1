// `nanochat chain FILE.ini` and `nanochat speedrun`: run a list of stages in order, each
// as a child `nanochat run` process (behind `nanochat launch` for several ranks). A finished
// step leaves a done marker in the run folder, so running the same chain again resumes at
// the first step not done (and the stages resume inside a step from their newest
// checkpoint). A chain run to its end prints its report card's path and the command that
// serves its model. The chain file's format is in chain_file.hpp; --dry-run is chain_plan.hpp.
#include <boost/program_options.hpp>

#include <fmt/format.h>

#include <chrono>
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>

#include "chain_file.hpp"
#include "chain_plan.hpp"
#include "commands.hpp"
#include "nanochat/atomic_file.hpp"
#include "nanochat/base_dir.hpp"
#include "nanochat/build_config.hpp"
#include "nanochat/error.hpp"
#include "nanochat/log.hpp"
#include "nanochat/subprocess.hpp"

namespace fs = std::filesystem;
namespace po = boost::program_options;

namespace nanochat::host {
namespace {

std::string now_text() {
  std::time_t now = std::time(nullptr);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", std::localtime(&now));
  return text;
}

struct ChainRun {
  fs::path run_dir;  // "" = $NANOCHAT_BASE_DIR/runs/<chain name>
  bool restart = false;
  bool smoke = false;
  bool dry_run = false;
  std::string from, only;
  PlanOptions plan;
};

std::string minutes_text(double minutes) {
  const auto whole = static_cast<int64_t>(minutes + 0.5);
  return whole >= 60 ? fmt::format("{}h{:02d}m", whole / 60, whole % 60) : fmt::format("{}m", whole);
}

// The source `serve` reads for a chat-training stage's checkpoints; "" for other stages.
std::string chat_source_of(const std::string& stage) {
  if (stage == "midtrain") return "mid";
  if (stage == "sft" || stage == "rl") return stage;
  return "";
}

// The last lines of a finished chain: its report card, when a step writes one, and the
// command that serves the model of its last chat-training step, when it has one.
void print_what_the_chain_made(const Chain& chain) {
  std::string source;
  bool writes_report = false;
  for (const ChainStep& step : chain.steps) {
    writes_report |= step.stage == "report";
    if (const std::string chat = chat_source_of(step.stage); !chat.empty()) source = chat;
  }
  if (writes_report) {
    const fs::path report = artifact_dir(Artifact::report, base_dir()) / "report.md";
    if (fs::exists(report)) std::cout << "report card: " << report.string() << "\n";
  }
  if (!source.empty()) std::cout << "serve the model: nanochat serve --source " << source << "\n";
}

int run_chain(const fs::path& file, const ChainRun& how) {
  const Chain chain = read_chain(file);
  const std::vector<ChainStep> steps = select_steps(chain, how.from, how.only);
  if (how.dry_run) {
    PlanOptions plan = how.plan;
    plan.smoke = how.smoke;
    print_chain_plan(chain, steps, plan, std::cout);
    return 0;
  }
  fs::path run_dir = how.run_dir.empty() ? artifact_dir(Artifact::runs, base_dir()) / chain.name : how.run_dir;
  fs::create_directories(run_dir);
  const auto chain_start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < steps.size(); ++i) {
    const ChainStep& step = steps[i];
    fs::path marker = run_dir / (step.label + ".done");
    std::string position = std::to_string(i + 1) + "/" + std::to_string(steps.size());
    if (!how.restart && fs::exists(marker)) {
      log::info("chain {}: step {} {} already done ({}), skipping", chain.name, position, step.label, marker.string());
      continue;
    }
    double budget_left = 0;  // the budgets of this step and the ones after it
    for (size_t j = i; j < steps.size(); ++j) budget_left += steps[j].minutes;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - chain_start).count();
    log::info("chain {}: step {} {} (stage {}{}) | elapsed {}{}", chain.name, position, step.label, step.stage,
              step.nproc > 1 ? fmt::format(", {} ranks", step.nproc) : "", minutes_text(elapsed / 60),
              budget_left > 0 ? " | ETA " + minutes_text(budget_left) + " by the budgets" : "");
    auto start = std::chrono::steady_clock::now();
    std::vector<std::string> argv = {self_executable().string()};
    for (std::string& arg : step_command(chain, step, how.smoke)) argv.push_back(std::move(arg));
    int code = run_process(argv);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (code != 0) {
      throw Error("chain " + chain.name + " stopped: step " + position + " '" + step.label + "' (stage " +
                  step.stage + ") failed with exit code " + std::to_string(code) +
                  "; fix it and run the same command again to resume from this step");
    }
    nlohmann::json done = {{"step", step.label}, {"stage", step.stage}, {"seconds", seconds},
                           {"finished", now_text()}, {"config", fs::absolute(file).string()}, {"smoke", how.smoke}};
    atomic_write_file(marker, done.dump(2) + "\n");
    log::info("chain {}: step {} {} done in {:.1f}s{}", chain.name, position, step.label, seconds,
              step.minutes > 0 ? fmt::format(" (budget {} min{})", step.minutes,
                                             seconds > 60 * step.minutes ? ", over" : "")
                               : "");
  }
  log::info("chain {}: all {} steps done (run folder {})", chain.name, steps.size(), run_dir.string());
  if (steps.back().label == chain.steps.back().label) print_what_the_chain_made(chain);
  return 0;
}

// Parses the chain options shared by `chain` and `speedrun` into `how`; returns the
// remaining positionals.
std::vector<std::string> parse_chain_options(const Args& args, po::options_description& options,
                                             po::variables_map& vm, const char* usage, ChainRun& how) {
  std::string run_dir;
  options.add_options()("restart", po::bool_switch(&how.restart), "run every step again, ignoring done markers")(
      "run-dir", po::value(&run_dir)->default_value(""),
      "folder for done markers (default: $NANOCHAT_BASE_DIR/runs/<chain name>)")(
      "from", po::value(&how.from)->default_value(""), "start at this step label (the steps before count as done)")(
      "only", po::value(&how.only)->default_value(""), "run only this step label")(
      "smoke", po::bool_switch(&how.smoke), "apply each step's [LABEL.smoke] section (tiny sizes, for tests)")(
      "dry-run", po::bool_switch(&how.dry_run),
      "print each step's command line, options, and pretraining's size, hours and cost; run nothing")(
      "gpus", po::value(&how.plan.gpus)->default_value(""),
      "GPUs to plan for with --dry-run, e.g. 8xH100 (default: the chain's, else those found)")(
      "assume-mfu", po::value(&how.plan.assumed_mfu)->default_value(how.plan.assumed_mfu),
      "model FLOPs utilisation --dry-run assumes for hours")("help,h", "show this help");
  po::options_description positional_holder;
  positional_holder.add(options).add_options()("file", po::value<std::vector<std::string>>());
  po::positional_options_description positional;
  positional.add("file", -1);
  try {
    po::store(po::command_line_parser(args).options(positional_holder).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(std::string(e.what()) + "; " + usage);
  }
  if (how.plan.assumed_mfu <= 0 || how.plan.assumed_mfu > 1) throw UsageError("--assume-mfu must be in (0, 1]");
  how.run_dir = run_dir;
  return vm.count("file") ? vm["file"].as<std::vector<std::string>>() : std::vector<std::string>{};
}

// A preset name → its chain file: <prefix>/share/nanochat/presets, then the source tree.
fs::path find_preset(const std::string& name) {
  if (fs::is_regular_file(name)) return name;
  const std::string preset = name == "speedrun" ? "d20" : name;  // nanochat's speedrun.sh is the d20 run
  std::vector<fs::path> candidates = {
      self_executable().parent_path().parent_path() / "share" / "nanochat" / "presets" / (preset + ".ini"),
      fs::path(NANOCHAT_SOURCE_PRESET_DIR) / (preset + ".ini")};
  for (const auto& candidate : candidates) {
    if (fs::is_regular_file(candidate)) return candidate;
  }
  throw UsageError("no preset '" + preset + "' (looked in " + candidates[0].parent_path().string() + " and " +
                   candidates[1].parent_path().string() + ")");
}

}  // namespace

int chain_command(const Args& args) {
  const char* usage =
      "usage: nanochat chain FILE.ini [--restart] [--run-dir DIR] [--from|--only LABEL] [--smoke] [--dry-run [--gpus 8xH100]]";
  po::options_description options("Chain options");
  po::variables_map vm;
  ChainRun how;
  auto files = parse_chain_options(args, options, vm, usage, how);
  if (vm.count("help")) {
    std::cout << usage << "\n\n" << options;
    return 0;
  }
  if (files.size() != 1) throw UsageError(usage);
  return run_chain(files[0], how);
}

int speedrun_command(const Args& args) {
  const char* usage =
      "usage: nanochat speedrun [--preset NAME|FILE.ini] [--restart] [--run-dir DIR] [--from|--only LABEL] [--smoke] "
      "[--dry-run [--gpus 8xH100]]";
  po::options_description options("Speedrun options");
  options.add_options()("preset", po::value<std::string>()->default_value("speedrun"),
                        "shipped chain: speedrun (= d20), d26, d32 on one node of 8 GPUs; tiny: every stage on a CPU; or a file");
  po::variables_map vm;
  ChainRun how;
  if (!parse_chain_options(args, options, vm, usage, how).empty()) throw UsageError(usage);
  if (vm.count("help")) {
    std::cout << usage << "\n\n" << options;
    return 0;
  }
  return run_chain(find_preset(vm["preset"].as<std::string>()), how);
}

}  // namespace nanochat::host
