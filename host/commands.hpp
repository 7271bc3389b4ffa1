// The `nanochat` subcommands. Each takes the arguments after its own name and returns the
// process exit code; errors are thrown (UsageError → exit 2, Error → exit 1) and printed
// as one line by main().
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace nanochat::host {

using Args = std::vector<std::string>;

int version_command(const Args& args);
int plugins_command(const Args& args);
int run_command(const Args& args);
int chain_command(const Args& args);
int speedrun_command(const Args& args);
int launch_command(const Args& args);
int tasks_command(const Args& args);
int checkpoints_command(const Args& args);

// The running executable (/proc/self/exe), for starting child `nanochat` processes.
std::filesystem::path self_executable();

}  // namespace nanochat::host
