// The parity tests' Python: the PyTorch venv that packaging/setup.sh makes (torch 2.11.0
// plus packaging/torch-venv-requirements.txt), found as $NANOCHAT_TORCH_PYTHON or at the
// path CMake was configured with. When it is missing the tests skip, saying how to get
// it, except under CI=true, where they fail: CI runs setup.sh, so a missing venv there is
// a broken setup, not an optional extra.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "nanochat/subprocess.hpp"

namespace nanochat::test {

struct TorchPython {
  std::optional<std::filesystem::path> python;  // set when usable
  std::string missing;                          // why not, and what to run
};

// The interpreter, checked to exist and to import the packages the scripts need.
TorchPython find_torch_python();

// CI=true (or 1) in the environment.
bool running_in_ci();

// The environment of the parity processes: one OpenMP thread. The models are tiny, and with
// two threads on a busy 2-core machine OpenMP's spin-waiting made a dump 3x slower.
const EnvOverrides& parity_env();

// Runs `python tests/parity/<script> args...` with its stdout into `output` (stderr stays
// the test's, so CTest shows tracebacks); returns the exit code.
int run_parity_script(const std::filesystem::path& python, const std::string& script,
                      const std::vector<std::string>& args, const std::filesystem::path& output);

// The whole content of a file.
std::string read_file(const std::filesystem::path& path);

}  // namespace nanochat::test

// Binds `var` to the torch venv's python; else skips, or fails under CI.
#define NANOCHAT_REQUIRE_TORCH_PYTHON(var)                                          \
  const auto var##_found = ::nanochat::test::find_torch_python();                   \
  if (!var##_found.python) {                                                        \
    if (::nanochat::test::running_in_ci()) FAIL() << var##_found.missing << " (CI=true)"; \
    GTEST_SKIP() << var##_found.missing;                                            \
  }                                                                                 \
  const std::filesystem::path var = *var##_found.python
