// Peak FLOP/s for MFU. GPU peaks are the vendors' dense bf16 numbers; a CPU has no such
// number we can trust, so we measure what its BLAS does on a square matmul, once per
// machine (the machine cache), since a run should not pay for it every time.
#include "nanochat/peak_flops.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <mutex>
#include <utility>

#include "nanochat/cpu_info.hpp"
#include "nanochat/device.hpp"
#include "nanochat/log.hpp"
#include "nanochat/machine_facts.hpp"

namespace nanochat {
namespace {

constexpr int64_t kLargestSide = 2048;
constexpr double kBudgetSeconds = 0.6;  // per dtype: the first probe of fp32 and bf16 stays under 2 s

struct MatmulRate {
  int64_t side = 0;
  double flops = 0.0;
};

double seconds_of_one_matmul(const at::Tensor& a, const at::Tensor& b, c10::Device device) {
  synchronize(device);
  auto start = std::chrono::steady_clock::now();
  at::Tensor c = at::matmul(a, b);
  synchronize(device);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Square sides 256, 512, ... 2048, each the best of 3 runs after a warm-up, while the next
// side's runs (8x the work each) are predicted to fit in the budget; the best rate wins.
// Large sides let a fast BLAS reach its peak; the budget bounds the time where a dtype is
// emulated (bf16 on an AVX2 EPYC: 28x slower than fp32), and several runs per side keep one
// preempted run (a busy machine) from being the answer.
MatmulRate measure_matmul_flops(c10::Device device, c10::ScalarType dtype) {
  const auto start = std::chrono::steady_clock::now();
  auto options = at::TensorOptions().device(device).dtype(dtype);
  MatmulRate best;
  for (int64_t side = 256; side <= kLargestSide; side *= 2) {
    at::Tensor a = at::randn({side, side}, options), b = at::randn({side, side}, options);
    at::matmul(a, b);  // warm-up: first-call setup, page faults of the output
    double fastest = std::numeric_limits<double>::infinity();
    for (int i = 0; i < 3; ++i) fastest = std::min(fastest, seconds_of_one_matmul(a, b, device));
    const double flops = 2.0 * static_cast<double>(side * side * side) / fastest;
    if (flops > best.flops) best = {side, flops};
    const double spent = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (spent + 4 * 8 * fastest > kBudgetSeconds) break;
  }
  return best;
}

// What the machine cache names the measurement: the rate depends on the thread count.
std::string entry_name(const std::string& device, c10::ScalarType dtype, int threads) {
  return fmt::format("matmul_flops/{}/{}/threads{}", device, c10::toString(dtype), threads);
}

PeakFlops measured_peak(c10::Device device, const std::string& device_label, c10::ScalarType dtype,
                        double observed_flops) {
  const int threads = at::get_num_threads();
  nlohmann::json rate = MachineFacts::instance().get_or_measure(
      entry_name(device_label, dtype, threads),
      [&] {
        MatmulRate measured = measure_matmul_flops(device, dtype);
        return nlohmann::json{{"flops", measured.flops}, {"side", measured.side}};
      },
      [&](const nlohmann::json& cached) { return cached.at("flops").get<double>() >= observed_flops; });
  PeakFlops peak;
  peak.flops = std::max(rate.at("flops").get<double>(), observed_flops);
  const int64_t side = rate.at("side").get<int64_t>();
  peak.source = fmt::format("measured: {}x{} {} matmul, {} threads", side, side, c10::toString(dtype), threads);
  return peak;
}

}  // namespace

PeakFlops peak_flops(c10::Device device, c10::ScalarType dtype, double observed_flops) {
  if (device.is_cuda()) {
    const std::string name = device_name(device);
    if (const double flops = gpu_peak_flops_from_table(name); flops > 0.0) return {flops, "table: " + name};
    return measured_peak(device, name, dtype, observed_flops);
  }
  return measured_peak(device, device.str(), dtype, observed_flops);
}

void warn_if_bf16_is_emulated(c10::Device device, c10::ScalarType dtype) {
  if (!device.is_cpu() || dtype != c10::kBFloat16 || this_cpu().native_bf16()) return;
  static std::once_flag warned;
  std::call_once(warned, [&] {
    const double ratio = peak_flops(device, c10::kBFloat16).flops / peak_flops(device, c10::kFloat).flops;
    log::warn("bf16 matmul runs at {:.2g}x of fp32 on this CPU (no AVX512_BF16/AMX): expect a slower run", ratio);
  });
}

}  // namespace nanochat
