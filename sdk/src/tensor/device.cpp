// Device and build facts of the LibTorch in use, read from LibTorch itself at run time.
#include "nanochat/device.hpp"

#include <malloc.h>

#include <caffe2/core/macros.h>
#include <torch/cuda.h>
#if NANOCHAT_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#endif
#include <torch/headeronly/version.h>

#include <nlohmann/json.hpp>

#include <cstring>
#include <limits>
#include <map>

#include "nanochat/error.hpp"
#include "nanochat/peak_flops.hpp"

namespace nanochat {
namespace {

bool build_flag_on(const std::map<std::string, std::string>& flags, const std::string& key) {
  auto it = flags.find(key);
  return it != flags.end() && (it->second == "1" || it->second == "ON");
}

}  // namespace

DeviceInfo device_info() {
  const std::map<std::string, std::string> flags = CAFFE2_BUILD_STRINGS;
  DeviceInfo info;
  info.torch_version = TORCH_VERSION;
  info.cuda_built = NANOCHAT_WITH_CUDA && build_flag_on(flags, "USE_CUDA");
  if (info.cuda_built) info.cuda_version = flags.at("CUDA_VERSION");
  info.nccl_built = info.cuda_built && build_flag_on(flags, "USE_NCCL");
  info.gloo_built = build_flag_on(flags, "USE_GLOO");
  info.cuda_devices = info.cuda_built ? static_cast<int>(torch::cuda::device_count()) : 0;
  return info;
}

c10::Device resolve_device(const std::string& name) {
  if (name == "auto") {
    return device_info().cuda_devices > 0 ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
  }
  c10::Device device(c10::kCPU);
  try {
    device = c10::Device(name);
  } catch (const std::exception&) {
    throw Error("unknown device '" + name + "': use auto, cpu, cuda or cuda:N");
  }
  if (device.is_cuda()) {
    int visible = device_info().cuda_devices;
    int index = device.has_index() ? device.index() : 0;
    if (index >= visible) {
      throw Error("device '" + name + "' is not available: " + std::to_string(visible) +
                  " CUDA device(s) visible in this build/machine");
    }
  } else if (!device.is_cpu()) {
    throw Error("device '" + name + "' is not supported: use auto, cpu, cuda or cuda:N");
  }
  return device;
}

void synchronize(c10::Device device) {
#if NANOCHAT_WITH_CUDA
  if (device.is_cuda()) at::cuda::getCurrentCUDAStream(device.index() < 0 ? 0 : device.index()).synchronize();
#else
  (void)device;
#endif
}

std::string device_name(c10::Device device) {
#if NANOCHAT_WITH_CUDA
  if (device.is_cuda()) return at::cuda::getDeviceProperties(device.index() < 0 ? 0 : device.index())->name;
#endif
  return device.str();
}

c10::ScalarType resolve_dtype(const std::string& name, c10::Device device) {
  if (name == "auto") return device.is_cuda() ? c10::kBFloat16 : c10::kFloat;
  if (name == "fp32" || name == "float32") return c10::kFloat;
  if (name == "bf16" || name == "bfloat16") {
    warn_if_bf16_is_emulated(device, c10::kBFloat16);
    return c10::kBFloat16;
  }
  throw UsageError("unknown dtype '" + name + "': use auto, fp32 or bf16");
}

void reuse_host_memory() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_MAX, 0);  // large blocks come from the heap, whose freed space is reused
  mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max());
#endif
}

const char* dtype_flag_name(c10::ScalarType dtype) {
  switch (dtype) {
    case c10::kFloat: return "fp32";
    case c10::kBFloat16: return "bf16";
    default: throw Error(std::string("unsupported compute dtype ") + c10::toString(dtype));
  }
}

}  // namespace nanochat

extern "C" size_t nanochat_tensor_info_json(char* buffer, size_t size) {
  try {
    nanochat::DeviceInfo info = nanochat::device_info();
    nlohmann::json j = {{"torch_version", info.torch_version}, {"cuda_version", info.cuda_version},
                        {"cuda_built", info.cuda_built},       {"nccl_built", info.nccl_built},
                        {"gloo_built", info.gloo_built},       {"cuda_devices", info.cuda_devices}};
    std::string text = j.dump();
    if (size > 0) {
      size_t n = std::min(size - 1, text.size());
      std::memcpy(buffer, text.data(), n);
      buffer[n] = '\0';
    }
    return text.size();
  } catch (...) {
    if (size > 0) buffer[0] = '\0';
    return 0;
  }
}
