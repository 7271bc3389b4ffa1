// What the sandbox found it can use on this machine (internal to libnanochat_core): the
// protections the probe children passed, who the child runs as, the python3 to run and the
// seccomp filter; and the private temp dir each child gets.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "nanochat/sandbox.hpp"
#include "sandbox_child.hpp"

namespace nanochat::sandbox {

struct Setup {
  Features features;
  Identity identity;
  std::vector<sock_filter> filter;
  std::string python;
  std::string problem;  // why no program can run ("" when one can)
  SandboxProtections protections;
};

// Probed once (thread-safe).
const Setup& setup();

// A fresh directory "nanochat-sandbox-XXXXXX" in the system temp dir, owned by the child's
// host uid; removed with everything in it when this goes.
class TempDir {
 public:
  explicit TempDir(const Identity& identity);  // throws Error naming the folder
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace nanochat::sandbox
