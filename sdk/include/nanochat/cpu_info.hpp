// This machine's CPU as /proc/cpuinfo names it: the model and the feature flags, for keying
// per-machine measurements and for knowing which instructions a kernel can count on.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace nanochat {

struct CpuInfo {
  std::string model;               // "AMD EPYC 9654 96-Core Processor"; "unknown" when not listed
  std::vector<std::string> flags;  // sorted: "avx2", "avx512_bf16", ...

  bool has(std::string_view flag) const;
  // bf16 matmuls run in hardware (AVX512_BF16 or AMX); without it they are converted to fp32.
  bool native_bf16() const { return has("avx512_bf16") || has("amx_bf16"); }
};

// The first processor's entry of a cpuinfo file (every core of a machine lists the same).
CpuInfo read_cpu_info(const std::filesystem::path& cpuinfo = "/proc/cpuinfo");

// read_cpu_info() once per process.
const CpuInfo& this_cpu();

}  // namespace nanochat
