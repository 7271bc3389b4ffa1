// `nanochat chain FILE.ini` and `nanochat speedrun`: run a list of stages in order, each
// as a child `nanochat run` process. A finished step leaves a done marker in the run
// folder, so running the same chain again resumes at the first step not done.
//
// Chain file:
//   [chain]
//   name = tiny                  ; run folder $NANOCHAT_BASE_DIR/runs/<name> (default: file name)
//   stages = tokenizer pretrain  ; step names, run in this order
//   [pretrain]                   ; options of one step; `stage = X` runs stage X under another name
//   depth = 4
#include <boost/program_options.hpp>

#include <chrono>
#include <ctime>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

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

struct ChainStep {
  std::string label;  // the INI section and done-marker name
  std::string stage;  // the stage plugin it runs
};

struct Chain {
  std::string name;
  std::vector<ChainStep> steps;
};

// A chain name names the run folder under runs/, a step label the done marker inside it: each
// must be one plain file name, so that no chain file can make nanochat write elsewhere.
void require_plain_name(const fs::path& file, const std::string& what, const std::string& name) {
  const bool plain = !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
                     name.find('\0') == std::string::npos;
  if (!plain) {
    throw UsageError(file.string() + ": " + what + " '" + name +
                     "' must be a plain name (no '/', not '.' or '..'), since it names a file in the run folder");
  }
}

Chain read_chain(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw UsageError("cannot read chain file " + file.string());
  po::options_description none;
  std::map<std::string, std::string> keys;
  try {
    for (const auto& option : po::parse_config_file(in, none, true).options) {
      keys[option.string_key] = option.value.empty() ? "" : option.value.front();
    }
  } catch (const po::error& e) {
    throw UsageError(file.string() + ": " + e.what());
  }
  Chain chain;
  chain.name = keys.count("chain.name") ? keys["chain.name"] : file.stem().string();
  require_plain_name(file, "chain name", chain.name);
  std::string list = keys["chain.stages"];
  for (char& c : list) {
    if (c == ',') c = ' ';
  }
  std::istringstream words(list);
  for (std::string label; words >> label;) {
    require_plain_name(file, "step label", label);
    std::string stage = keys.count(label + ".stage") ? keys[label + ".stage"] : label;
    chain.steps.push_back({label, stage});
  }
  if (chain.steps.empty()) throw UsageError(file.string() + ": [chain] needs `stages = step1 step2 ...`");
  return chain;
}

std::string now_text() {
  std::time_t now = std::time(nullptr);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", std::localtime(&now));
  return text;
}

int run_chain(const fs::path& file, const fs::path& run_dir_arg, bool restart) {
  Chain chain = read_chain(file);
  fs::path run_dir = run_dir_arg.empty() ? artifact_dir(Artifact::runs, base_dir()) / chain.name : run_dir_arg;
  fs::create_directories(run_dir);
  fs::path config = fs::absolute(file);
  for (size_t i = 0; i < chain.steps.size(); ++i) {
    const ChainStep& step = chain.steps[i];
    fs::path marker = run_dir / (step.label + ".done");
    std::string position = std::to_string(i + 1) + "/" + std::to_string(chain.steps.size());
    if (!restart && fs::exists(marker)) {
      log::info("chain {}: step {} {} already done ({}), skipping", chain.name, position, step.label, marker.string());
      continue;
    }
    log::info("chain {}: step {} {} (stage {})", chain.name, position, step.label, step.stage);
    auto start = std::chrono::steady_clock::now();
    int code = run_process({self_executable().string(), "run", step.stage, "--config", config.string(),
                            "--config-section", step.label});
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (code != 0) {
      throw Error("chain " + chain.name + " stopped: step " + position + " '" + step.label + "' (stage " +
                  step.stage + ") failed with exit code " + std::to_string(code) +
                  "; fix it and run the same command again to resume from this step");
    }
    nlohmann::json done = {{"step", step.label}, {"stage", step.stage}, {"seconds", seconds},
                           {"finished", now_text()}, {"config", config.string()}};
    atomic_write_file(marker, done.dump(2) + "\n");
    log::info("chain {}: step {} {} done in {:.1f}s", chain.name, position, step.label, seconds);
  }
  log::info("chain {}: all {} steps done (run folder {})", chain.name, chain.steps.size(), run_dir.string());
  return 0;
}

// Parses the chain options shared by `chain` and `speedrun`; returns the remaining positionals.
std::vector<std::string> parse_chain_options(const Args& args, po::options_description& options,
                                             po::variables_map& vm, const char* usage) {
  options.add_options()("restart", po::bool_switch(), "run every step again, ignoring done markers")(
      "run-dir", po::value<std::string>()->default_value(""),
      "folder for done markers (default: $NANOCHAT_BASE_DIR/runs/<chain name>)")("help,h", "show this help");
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
  return vm.count("file") ? vm["file"].as<std::vector<std::string>>() : std::vector<std::string>{};
}

// A preset name → its chain file: <prefix>/share/nanochat/presets, then the source tree.
fs::path find_preset(const std::string& preset) {
  if (fs::is_regular_file(preset)) return preset;
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
  const char* usage = "usage: nanochat chain FILE.ini [--restart] [--run-dir DIR]";
  po::options_description options("Chain options");
  po::variables_map vm;
  auto files = parse_chain_options(args, options, vm, usage);
  if (vm.count("help")) {
    std::cout << usage << "\n\n" << options;
    return 0;
  }
  if (files.size() != 1) throw UsageError(usage);
  return run_chain(files[0], vm["run-dir"].as<std::string>(), vm["restart"].as<bool>());
}

int speedrun_command(const Args& args) {
  const char* usage = "usage: nanochat speedrun [--preset NAME|FILE.ini] [--restart] [--run-dir DIR]";
  po::options_description options("Speedrun options");
  options.add_options()("preset", po::value<std::string>()->default_value("speedrun"),
                        "shipped chain (speedrun: d20 on GPUs; tiny: the whole chain on a CPU) or a file");
  po::variables_map vm;
  if (!parse_chain_options(args, options, vm, usage).empty()) throw UsageError(usage);
  if (vm.count("help")) {
    std::cout << usage << "\n\n" << options;
    return 0;
  }
  return run_chain(find_preset(vm["preset"].as<std::string>()), vm["run-dir"].as<std::string>(),
                   vm["restart"].as<bool>());
}

}  // namespace nanochat::host
