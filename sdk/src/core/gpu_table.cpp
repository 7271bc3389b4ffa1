// The GPU table (gpu_table.hpp): vendor dense bf16 peaks, no sparsity, and rental prices.
#include "nanochat/gpu_table.hpp"

#include <cctype>
#include <utility>

#include "nanochat/error.hpp"

namespace nanochat {

double gpu_peak_flops_from_table(const std::string& name) {
  // In the order a substring match should try (H100 NVL before H100).
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

double gpu_hourly_price(const std::string& name) {
  // nanochat's report prices an 8xH100 node at $24/h; the others are not guessed.
  return name.find("H100") != std::string::npos ? 3.0 : 0.0;
}

GpuSet parse_gpu_set(const std::string& text) {
  GpuSet set;
  size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  std::string rest = text.substr(i);
  if (i > 0) {
    set.count = std::stoll(text.substr(0, i));
    size_t x = rest.find_first_not_of(' ');
    if (x == std::string::npos || (rest[x] != 'x' && rest[x] != 'X')) {
      throw UsageError("--gpus '" + text + "': expected COUNTxNAME, e.g. 8xH100");
    }
    rest = rest.substr(x + 1);
  }
  rest.erase(0, rest.find_first_not_of(' '));
  const bool one_word = rest.find(' ') == std::string::npos;  // a bare name; "8xNVIDIA H100 80GB" may have spaces
  if (set.count < 1 || rest.empty() || (i == 0 && !one_word)) throw UsageError("--gpus '" + text + "': expected COUNTxNAME, e.g. 8xH100");
  set.name = rest;
  return set;
}

}  // namespace nanochat
