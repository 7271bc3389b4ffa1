// The one place for device and LibTorch-version differences: what this build of LibTorch
// can do (CUDA, NCCL, Gloo), what is visible now, and which device a stage should use.
// Code elsewhere asks these functions instead of testing macros or versions itself.
#pragma once

#include <string>

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

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

// The compute dtype for a --dtype value: "auto" is bf16 on CUDA (tensor cores) and fp32
// elsewhere (nanochat's CPU path); "fp32"/"float32" and "bf16"/"bfloat16" as given.
// Weights stay fp32 whatever this says; only matmuls and activations use it. bf16 on a CPU
// without native bf16 warns once, with the measured slowdown (peak_flops.hpp).
// Throws UsageError for any other name.
c10::ScalarType resolve_dtype(const std::string& name, c10::Device device);

// "fp32" or "bf16", for logs and metadata.
const char* dtype_flag_name(c10::ScalarType dtype);

// Keeps freed host memory in the process for reuse. Training allocates the same large
// tensors every step (logits, embedding gradients: 134 MB and 64 MB at depth 4 with a
// 65,536 vocabulary), and glibc maps every block over 32 MB afresh, so each step paid
// page faults to map and zero them again: 10-20% of a CPU step. Call once at the start
// of a training process; the memory stays with it (as in PyTorch's CUDA caching).
void reuse_host_memory();

// Waits until queued work on `device` is done (a no-op on the CPU); for timing.
void synchronize(c10::Device device);

// "cpu", or the GPU's name as CUDA reports it (e.g. "NVIDIA H100 80GB HBM3").
std::string device_name(c10::Device device);

}  // namespace nanochat

// For the torch-free host: the same facts as one JSON object, without linking LibTorch
// (the host dlopens libnanochat_tensor and calls this). Returns the JSON length written
// (NUL-terminated, truncated to size), never throws.
extern "C" __attribute__((visibility("default"))) size_t nanochat_tensor_info_json(char* buffer,
                                                                                  size_t size);
