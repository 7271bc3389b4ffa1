// `nanochat run STAGE [options]`: loads the stage plugin, parses its options (command line
// over --config file) and runs it.
#include <unistd.h>

#include <iostream>

#include "commands.hpp"
#include "nanochat/base_dir.hpp"
#include "nanochat/error.hpp"
#include "nanochat/plugin_registry.hpp"
#include "nanochat/stage.hpp"
#include "stage_options.hpp"

namespace po = boost::program_options;

namespace nanochat::host {

std::filesystem::path self_executable() {
  std::error_code ec;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw Error("cannot find the running nanochat binary: " + ec.message());
  return self;
}

int run_command(const Args& args) {
  if (args.empty() || args[0].empty() || args[0][0] == '-') {
    throw UsageError("usage: nanochat run STAGE [--config FILE.ini] [stage options] (`nanochat plugins list` shows the stages)");
  }
  const std::string stage_name = args[0];
  std::shared_ptr<Stage> stage = PluginRegistry::instance().create<Stage>(PluginKind::stage, stage_name);

  po::options_description stage_options("Options of stage '" + stage_name + "'");
  stage->declare_options(stage_options);
  StageCommandLine command_line =
      parse_stage_command_line(stage_options, Args(args.begin() + 1, args.end()), stage_name);
  if (command_line.help) {
    std::cout << "usage: nanochat run " << stage_name << " [options]\n\n"
              << stage_options << "\n"
              << common_run_options();
    return 0;
  }

  StageContext context;
  context.stage_name = stage_name;
  context.base_dir = base_dir();
  context.host_binary = self_executable();
  stage->run(command_line.values, context);
  return 0;
}

}  // namespace nanochat::host
