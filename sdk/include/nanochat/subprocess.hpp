// Starting child processes without a shell (argv as given), for the chain runner, the
// launcher and helpers such as tar.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace nanochat {

using EnvOverrides = std::vector<std::pair<std::string, std::string>>;

// Files for the child's standard streams; "" keeps the parent's.
struct ProcessIo {
  std::string stdin_path;
  std::string stdout_path;  // created or truncated
  std::string stderr_path;  // created or truncated
};

// Starts argv[0] (searched in PATH when it has no '/') with the current environment plus
// `env`. Throws Error if it cannot be started.
pid_t spawn_process(const std::vector<std::string>& argv, const EnvOverrides& env = {}, const ProcessIo& io = {});

// Waits for `pid`; returns its exit code, or 128 + signal number if a signal ended it.
int wait_process(pid_t pid);

// spawn_process + wait_process.
int run_process(const std::vector<std::string>& argv, const EnvOverrides& env = {});

// What argv writes to stdout (its stderr is dropped), or nullopt when it cannot be started or
// exits non-zero: for asking optional tools (git, nvidia-smi) a question.
std::optional<std::string> process_output(const std::vector<std::string>& argv);

}  // namespace nanochat
