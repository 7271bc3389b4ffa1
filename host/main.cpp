// `nanochat`: the host program. Global options come before the command; everything after
// the command belongs to it. Torch-free: LibTorch is loaded only with a plugin that needs it.
#include <boost/program_options.hpp>

#include <cstdlib>
#include <iostream>
#include <map>
#include <set>

#include "commands.hpp"
#include "nanochat/error.hpp"
#include "nanochat/plugin_loader.hpp"
#include "nanochat/plugin_registry.hpp"

namespace po = boost::program_options;
using namespace nanochat;

namespace {

const char* kUsage =
    "usage: nanochat [--plugin-path DIR]... [--base-dir DIR] COMMAND [ARGS]\n"
    "\n"
    "Commands:\n"
    "  speedrun [--preset NAME|FILE.ini]   run the whole pipeline (a shipped chain file)\n"
    "  chain FILE.ini [--restart]          run a list of stages, resuming after the last done\n"
    "  run STAGE [--config FILE.ini] ...   run one stage; `run STAGE --help` lists its options\n"
    "  plugins list [--json]               plugins on the search path and their status\n"
    "  plugins info NAME                   one plugin's descriptor (and a stage's options)\n"
    "  plugins install PATH                install a .so, a folder or a .tar.gz package\n"
    "  plugins remove NAME                 remove a plugin from the user plugin folder\n"
    "  tasks list | show TASK [-n N]       task plugins (training and eval data), their examples\n"
    "  launch --nproc N -- COMMAND ...     run N local ranks of `nanochat COMMAND` (data parallel)\n"
    "  serve [options], chat [-p PROMPT]   the web chat / terminal chat (= run serve, run chat)\n"
    "  checkpoints verify [DIR]            check saved steps against their checksums\n"
    "  version                             versions, LibTorch, CUDA/NCCL/Gloo, GPUs\n"
    "\n"
    "Environment: NANOCHAT_BASE_DIR (artifacts, default ~/.cache/nanochat),\n"
    "NANOCHAT_PLUGIN_PATH (':'-separated plugin folders), NANOCHAT_LOG (debug|info|warn|error),\n"
    "NANOCHAT_DATA_DIR (task data, default ../shared/data).\n";

// Splits argv at the first word that is not an option: global options before, command after.
int dispatch(int argc, char** argv) {
  po::options_description global("Global options");
  global.add_options()("help,h", "show this help")("version,V", "same as `nanochat version`")(
      "plugin-path", po::value<std::vector<std::string>>(), "extra plugin folder (searched first)")(
      "base-dir", po::value<std::string>(), "artifact folder (sets NANOCHAT_BASE_DIR)");

  int first_command = 1;
  while (first_command < argc && argv[first_command][0] == '-') {
    std::string arg = argv[first_command];
    bool takes_value = (arg == "--plugin-path" || arg == "--base-dir");
    first_command += takes_value ? 2 : 1;
  }
  if (first_command > argc) first_command = argc;
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(first_command, argv).options(global).run(), vm);
  } catch (const po::error& e) {
    throw UsageError(std::string(e.what()) + " (see `nanochat --help`)");
  }
  if (vm.count("help")) {
    std::cout << kUsage << "\n" << global;
    return 0;
  }
  if (vm.count("base-dir")) setenv("NANOCHAT_BASE_DIR", vm["base-dir"].as<std::string>().c_str(), 1);
  if (vm.count("plugin-path")) {
    // Through the environment, so child `nanochat` processes (chain, launch) see it too.
    std::string path;
    for (const auto& dir : vm["plugin-path"].as<std::vector<std::string>>()) path += dir + ":";
    if (const char* old = std::getenv("NANOCHAT_PLUGIN_PATH")) path += old;
    setenv("NANOCHAT_PLUGIN_PATH", path.c_str(), 1);
  }
  if (vm.count("version")) return host::version_command({});
  if (first_command >= argc) {
    std::cerr << kUsage;
    return 2;
  }

  std::string command = argv[first_command];
  host::Args args(argv + first_command + 1, argv + argc);
  static const std::map<std::string, int (*)(const host::Args&)> commands = {
      {"version", host::version_command}, {"plugins", host::plugins_command},
      {"run", host::run_command},         {"chain", host::chain_command},
      {"speedrun", host::speedrun_command}, {"launch", host::launch_command},
      {"tasks", host::tasks_command},
      {"checkpoints", host::checkpoints_command}};
  // Stages people run by name: `nanochat serve ...` is `nanochat run serve ...`.
  static const std::set<std::string> stage_aliases = {"serve", "chat"};
  if (stage_aliases.count(command)) {
    args.insert(args.begin(), command);
    return host::run_command(args);
  }
  auto it = commands.find(command);
  if (it == commands.end()) {
    throw UsageError("unknown command '" + command + "' (see `nanochat --help`)");
  }
  return it->second(args);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return dispatch(argc, argv);
  } catch (const UsageError& e) {
    std::cerr << "nanochat: error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "nanochat: error: " << e.what() << "\n";
    return 1;
  }
}
