// posix_spawnp-based child processes; no shell, so arguments are never re-parsed.
#include "nanochat/subprocess.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "nanochat/error.hpp"

extern char** environ;

namespace nanochat {

pid_t spawn_process(const std::vector<std::string>& argv, const EnvOverrides& env, const ProcessIo& io) {
  if (argv.empty()) throw Error("spawn_process: empty command");
  std::map<std::string, std::string> merged;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry(*e);
    auto eq = entry.find('=');
    if (eq != std::string::npos) merged[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  for (const auto& [key, value] : env) merged[key] = value;

  std::vector<std::string> env_strings;
  env_strings.reserve(merged.size());
  for (const auto& [key, value] : merged) env_strings.push_back(key + "=" + value);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  std::vector<std::string> args(argv);
  std::vector<char*> argp;
  for (auto& a : args) argp.push_back(a.data());
  argp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (!io.stdin_path.empty()) posix_spawn_file_actions_addopen(&actions, 0, io.stdin_path.c_str(), O_RDONLY, 0);
  if (!io.stdout_path.empty()) {
    posix_spawn_file_actions_addopen(&actions, 1, io.stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  }
  if (!io.stderr_path.empty()) {
    posix_spawn_file_actions_addopen(&actions, 2, io.stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  }
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, argp[0], &actions, nullptr, argp.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw Error("cannot start '" + argv[0] + "': " + std::strerror(rc));
  return pid;
}

int wait_process(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw Error(std::string("waitpid failed: ") + std::strerror(errno));
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

int run_process(const std::vector<std::string>& argv, const EnvOverrides& env) {
  return wait_process(spawn_process(argv, env));
}

std::optional<std::string> process_output(const std::vector<std::string>& argv) {
  const std::filesystem::path temp = std::filesystem::temp_directory_path() / "nanochat-output-XXXXXX";
  std::string name = temp.string();
  const int fd = mkstemp(name.data());
  if (fd < 0) return std::nullopt;
  close(fd);
  int code = -1;
  try {
    code = wait_process(spawn_process(argv, {}, {"/dev/null", name, "/dev/null"}));
  } catch (const Error&) {
    // not installed: no answer, as for a failure
  }
  std::ostringstream text;
  text << std::ifstream(name).rdbuf();
  std::filesystem::remove(name);
  if (code != 0) return std::nullopt;
  return text.str();
}

}  // namespace nanochat
