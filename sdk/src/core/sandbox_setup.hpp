// What the sandbox found it can use on this machine (internal to libnanochat_core): the
// protections the probe children passed, who the child runs as, the python3 to run and the
// seccomp filter; and the folder each child works in.
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

// The child's cwd, HOME and TMPDIR. With a mount namespace it is /tmp there, a fresh tmpfs
// mounted over the host's (which the child then cannot see), so nothing is made on the host
// and nothing can be left behind, even when the evaluator is killed. Without one it is a
// fresh "nanochat-sandbox-XXXXXX" in the system temp dir, owned by the child's host uid and
// removed with everything in it when this goes.
class Workdir {
 public:
  Workdir(const Features& features, const Identity& identity);  // throws Error naming the folder
  ~Workdir();
  Workdir(const Workdir&) = delete;
  Workdir& operator=(const Workdir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  bool on_host_ = false;
};

}  // namespace nanochat::sandbox
