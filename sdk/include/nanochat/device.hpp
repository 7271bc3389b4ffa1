// The one place for device and LibTorch-version differences: what this build of LibTorch
// can do (CUDA, NCCL, Gloo), what is visible now, and which device a stage should use.
// Code elsewhere asks these functions instead of testing macros or versions itself.
#pragma once

#include <string>

#include <c10/core/Device.h>

namespace nanochat {

struct DeviceInfo {
  std::string torch_version;   // e.g. "2.11.0"
  std::string cuda_version;    // CUDA LibTorch was built with, "" if none
  bool cuda_built = false;     // LibTorch has a CUDA part and this build uses it
  bool nccl_built = false;
  bool gloo_built = false;
  int cuda_devices = 0;        // visible now
};

DeviceInfo device_info();

// "auto" picks cuda when a GPU is visible, else cpu; "cpu", "cuda", "cuda:N" as given.
// Throws Error for an unknown name or a CUDA device that is not there.
c10::Device resolve_device(const std::string& name);

}  // namespace nanochat

// For the torch-free host: the same facts as one JSON object, without linking LibTorch
// (the host dlopens libnanochat_tensor and calls this). Returns the JSON length written
// (NUL-terminated, truncated to size), never throws.
extern "C" __attribute__((visibility("default"))) size_t nanochat_tensor_info_json(char* buffer,
                                                                                  size_t size);
