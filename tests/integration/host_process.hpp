// Runs the real `nanochat` binary as a child process with a chosen environment and
// captures its exit code, stdout and stderr, for the integration tests.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace nanochat::test {

struct HostResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// A fresh temp folder, removed at destruction.
struct ScratchDir {
  std::filesystem::path path;
  ScratchDir();
  ~ScratchDir();
};

// Runs `host args...` with the current environment plus `env` (NAME=value) and waits.
HostResult run_host(const std::string& host, const std::vector<std::string>& args,
                    const std::vector<std::pair<std::string, std::string>>& env);

std::string read_text(const std::filesystem::path& file);
// XXH64 of a file as Debian's `xxhsum -H1` prints it (an implementation independent of
// ours), or "" when the xxhash package is not installed.
std::string xxhsum_of(const std::filesystem::path& file);
void write_text(const std::filesystem::path& file, const std::string& text);

}  // namespace nanochat::test
