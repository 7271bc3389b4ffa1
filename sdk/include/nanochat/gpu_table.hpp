// What the GPUs we know can do and cost, without LibTorch: dense bf16 peaks for MFU (what
// nanochat uses: H100 989 TFLOP/s) and the hourly price nanochat's report assumes, so the
// host can plan a run (`speedrun --dry-run --gpus 8xH100`) and training can report MFU.
#pragma once

#include <cstdint>
#include <string>

namespace nanochat {

// Dense bf16 tensor-core peak of the GPU named `name` (as CUDA reports it, or a short name
// such as "H100"), FLOP/s; 0 if unknown.
double gpu_peak_flops_from_table(const std::string& name);

// Dollars per GPU-hour (nanochat's report: $3 for an H100 on a cloud node); 0 if unknown.
double gpu_hourly_price(const std::string& name);

// "8xH100" / "H100" / "8 x H200" → count and name. Throws UsageError for anything else.
struct GpuSet {
  int64_t count = 1;
  std::string name;
};
GpuSet parse_gpu_set(const std::string& text);

}  // namespace nanochat
