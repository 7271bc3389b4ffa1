// Child-process runner for integration tests: output goes to temp files, read back after exit.
#include "host_process.hpp"

#include <stdlib.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "nanochat/subprocess.hpp"

namespace nanochat::test {

ScratchDir::ScratchDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "nanochat-test-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path = pattern;
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

std::string read_text(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string xxhsum_of(const std::filesystem::path& file) {
  std::FILE* pipe = ::popen(("xxhsum -H1 '" + file.string() + "' 2>/dev/null").c_str(), "r");
  if (pipe == nullptr) return "";
  char line[256] = {0};
  const bool read = std::fgets(line, sizeof line, pipe) != nullptr;
  ::pclose(pipe);
  if (!read) return "";
  const std::string text = line;
  return text.substr(0, text.find(' '));
}

void write_text(const std::filesystem::path& file, const std::string& text) {
  std::ofstream(file, std::ios::binary) << text;
}

HostResult run_host(const std::string& host, const std::vector<std::string>& args,
                    const std::vector<std::pair<std::string, std::string>>& env) {
  ScratchDir io;
  std::string out_path = (io.path / "out").string(), err_path = (io.path / "err").string();
  std::vector<std::string> argv = {host};
  argv.insert(argv.end(), args.begin(), args.end());
  HostResult result;
  result.exit_code = wait_process(spawn_process(argv, env, ProcessIo{"/dev/null", out_path, err_path}));
  result.out = read_text(out_path);
  result.err = read_text(err_path);
  return result;
}

}  // namespace nanochat::test
