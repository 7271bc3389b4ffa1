// `nanochat version`: this build's versions, and what LibTorch can do on this machine.
// LibTorch facts come from dlopen-ing libnanochat_tensor, so only this command pays for it.
#include <boost/dll/shared_library.hpp>

#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "nanochat/build_config.hpp"
#include "nanochat/error.hpp"
#include "nanochat/plugin_abi.h"

namespace nanochat::host {
namespace {

// The tensor library's facts as JSON, or a JSON object with an "error" field.
nlohmann::json tensor_library_facts() {
  std::filesystem::path lib = self_executable().parent_path().parent_path() / "lib" / NANOCHAT_TENSOR_LIBRARY;
  boost::dll::fs::error_code ec;
  boost::dll::shared_library library(boost::dll::fs::path(lib.string()), ec);
  if (ec || !library.has("nanochat_tensor_info_json")) {
    return {{"error", "cannot load " + lib.string()}};
  }
  auto info = library.get<size_t(char*, size_t)>("nanochat_tensor_info_json");
  char buffer[1024];
  if (info(buffer, sizeof buffer) == 0) return {{"error", "LibTorch did not answer"}};
  return nlohmann::json::parse(buffer);
}

const char* yes_no(bool value) { return value ? "yes" : "no"; }

}  // namespace

int version_command(const Args& args) {
  if (!args.empty()) throw UsageError("`nanochat version` takes no arguments");
  std::cout << "nanochat " << NANOCHAT_VERSION << "\n"
            << "SDK ABI " << NANOCHAT_ABI_MAJOR << "." << NANOCHAT_ABI_MINOR << "\n"
            << "built with LibTorch " << NANOCHAT_TORCH_VERSION << "\n";
  nlohmann::json facts = tensor_library_facts();
  if (facts.contains("error")) {
    std::cout << "LibTorch: not available (" << facts["error"].get<std::string>() << ")\n";
    return 1;
  }
  bool cuda = facts["cuda_built"].get<bool>();
  std::cout << "LibTorch " << facts["torch_version"].get<std::string>() << " loaded\n"
            << "CUDA in build: " << yes_no(cuda);
  if (cuda) std::cout << " (CUDA " << facts["cuda_version"].get<std::string>() << ")";
  std::cout << "\nNCCL in build: " << yes_no(facts["nccl_built"].get<bool>()) << "\n"
            << "Gloo in build: " << yes_no(facts["gloo_built"].get<bool>()) << "\n"
            << "GPUs visible: " << facts["cuda_devices"].get<int>() << "\n";
  return 0;
}

}  // namespace nanochat::host
