// Peak FLOP/s for MFU. GPU peaks are the vendors' dense bf16 numbers; a CPU has no such
// number we can trust, so we measure what its BLAS does on a large square matmul.
#include "nanochat/peak_flops.hpp"

#include <ATen/ATen.h>

#include <chrono>
#include <map>
#include <mutex>
#include <utility>

#include "nanochat/device.hpp"

namespace nanochat {
namespace {

double measure_matmul_flops(c10::Device device, c10::ScalarType dtype) {
  const int64_t n = 2048;
  auto options = at::TensorOptions().device(device).dtype(dtype);
  at::Tensor a = at::randn({n, n}, options), b = at::randn({n, n}, options);
  at::Tensor c = at::matmul(a, b);  // warm-up
  double best = 0.0;
  for (int i = 0; i < 3; ++i) {
    synchronize(device);
    auto start = std::chrono::steady_clock::now();
    c = at::matmul(a, b);
    synchronize(device);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, 2.0 * n * n * n / seconds);
  }
  return best;
}

}  // namespace

double gpu_peak_flops_from_table(const std::string& name) {
  // Dense bf16 tensor-core peaks (no sparsity), in the order a substring match should try.
  static const std::pair<const char*, double> table[] = {
      {"H100 NVL", 835e12}, {"H100 PCIe", 756e12}, {"H100", 989e12}, {"H200", 989e12}, {"H800", 989e12},
      {"GH200", 989e12},    {"B200", 2250e12},     {"B100", 1750e12}, {"A100", 312e12}, {"A800", 312e12},
      {"L40S", 362e12},     {"L40", 181e12},       {"L4", 121e12},    {"A10G", 70e12},  {"A10", 125e12},
      {"RTX 4090", 165e12}, {"RTX 3090", 71e12},   {"V100", 125e12},  {"T4", 65e12}};
  for (const auto& [key, flops] : table) {
    if (name.find(key) != std::string::npos) return flops;
  }
  return 0.0;
}

PeakFlops peak_flops(c10::Device device, c10::ScalarType dtype) {
  static std::mutex mutex;
  static std::map<std::pair<std::string, int>, PeakFlops> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto key = std::make_pair(device.str(), static_cast<int>(dtype));
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  PeakFlops peak;
  if (device.is_cuda()) {
    std::string name = device_name(device);
    peak.flops = gpu_peak_flops_from_table(name);
    peak.source = "table: " + name;
  }
  if (peak.flops == 0.0) {
    peak.flops = measure_matmul_flops(device, dtype);
    peak.source = std::string("measured: 2048x2048 ") + c10::toString(dtype) + " matmul";
  }
  cache[key] = peak;
  return peak;
}

}  // namespace nanochat
