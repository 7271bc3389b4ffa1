// Finding and running the parity tests' Python (see torch_python.hpp).
#include "torch_python.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace fs = std::filesystem;

namespace nanochat::test {

TorchPython find_torch_python() {
  const char* env = std::getenv("NANOCHAT_TORCH_PYTHON");
  const fs::path python = env && *env ? fs::path(env) : fs::path(NANOCHAT_TEST_TORCH_PYTHON);
  const std::string setup = "run packaging/setup.sh (it makes the PyTorch venv and installs "
                            "packaging/torch-venv-requirements.txt into it), or set NANOCHAT_TORCH_PYTHON";
  if (!fs::exists(python)) return {std::nullopt, "no PyTorch venv python at " + python.string() + ": " + setup};
  ProcessIo quiet{"", "/dev/null", "/dev/null"};
  const int code = wait_process(spawn_process({python.string(), "-c", "import safetensors"}, {}, quiet));
  if (code != 0) return {std::nullopt, python.string() + " cannot import safetensors: " + setup};
  return {python, ""};
}

bool running_in_ci() {
  const char* ci = std::getenv("CI");
  return ci && (std::string(ci) == "true" || std::string(ci) == "1");
}

const EnvOverrides& parity_env() {
  static const EnvOverrides env = {{"OMP_NUM_THREADS", "1"}};
  return env;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

int run_parity_script(const fs::path& python, const std::string& script, const std::vector<std::string>& args,
                      const fs::path& output) {
  std::vector<std::string> argv = {python.string(),
                                   (fs::path(NANOCHAT_TEST_SOURCE_DIR) / "tests/parity" / script).string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return wait_process(spawn_process(argv, parity_env(), ProcessIo{"", output.string(), ""}));
}

}  // namespace nanochat::test
