// The CPU matmul peak through the machine cache: the first probe measures fp32 and bf16 (and
// must stay under 2 s), later calls read the file (a hand-pinned value wins), and --dtype bf16
// warns, once, with the measured slowdown exactly where the CPU has no native bf16.
#include <gtest/gtest.h>

#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "nanochat/cpu_info.hpp"
#include "nanochat/device.hpp"
#include "nanochat/machine_facts.hpp"
#include "nanochat/peak_flops.hpp"
#include "../integration/host_process.hpp"

namespace fs = std::filesystem;
using namespace nanochat;

namespace {

// Every test of this process shares one fresh cache file (MachineFacts::instance() reads
// the environment once).
const fs::path& scratch_cache() {
  static nanochat::test::ScratchDir dir;
  static const fs::path file = [] {
    fs::path path = dir.path / "machine.json";
    setenv("NANOCHAT_MACHINE_CACHE", path.c_str(), 1);
    return path;
  }();
  EXPECT_EQ(MachineFacts::instance().file(), file) << "the cache was opened before the test chose its file";
  return file;
}

std::string entry_name(const char* dtype) {
  return fmt::format("matmul_flops/cpu/{}/threads{}", dtype, at::get_num_threads());
}

nlohmann::json entries() {
  nlohmann::json cache = nlohmann::json::parse(nanochat::test::read_text(scratch_cache()));
  return cache.at("machines").at(MachineKey::this_machine().id()).at("entries");
}

TEST(PeakFlops, FirstProbeIsShortAndLaterRunsReadTheCache) {
  scratch_cache();
  const auto start = std::chrono::steady_clock::now();
  const PeakFlops fp32 = peak_flops(c10::Device(c10::kCPU), c10::kFloat);
  const PeakFlops bf16 = peak_flops(c10::Device(c10::kCPU), c10::kBFloat16);
  const double probe_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("first probe: %.2f s (%d threads); fp32 %.1f GFLOP/s (%s), bf16 %.1f GFLOP/s (%s)\n", probe_seconds,
              at::get_num_threads(), fp32.flops / 1e9, fp32.source.c_str(), bf16.flops / 1e9, bf16.source.c_str());
  EXPECT_LT(probe_seconds, 2.0);
  EXPECT_GT(fp32.flops, 1e8);
  EXPECT_GT(bf16.flops, 1e7);
  EXPECT_NE(fp32.source.find("Float matmul"), std::string::npos) << fp32.source;

  nlohmann::json cached = entries();
  EXPECT_EQ(cached.at(entry_name("Float")).at("value").at("flops").get<double>(), fp32.flops);
  EXPECT_EQ(cached.at(entry_name("BFloat16")).at("value").at("flops").get<double>(), bf16.flops);

  // A value pinned by hand in the file is what the next call returns: nothing is re-measured.
  nlohmann::json cache = nlohmann::json::parse(nanochat::test::read_text(scratch_cache()));
  cache["machines"][MachineKey::this_machine().id()]["entries"][entry_name("Float")]["value"]["flops"] = 1.5e9;
  nanochat::test::write_text(scratch_cache(), cache.dump());
  EXPECT_EQ(peak_flops(c10::Device(c10::kCPU), c10::kFloat).flops, 1.5e9);
}

TEST(PeakFlops, Bf16WarnsOnceWhereTheCpuLacksIt) {
  scratch_cache();
  testing::internal::CaptureStderr();
  EXPECT_EQ(resolve_dtype("fp32", c10::Device(c10::kCPU)), c10::kFloat);
  EXPECT_EQ(resolve_dtype("auto", c10::Device(c10::kCPU)), c10::kFloat);
  EXPECT_EQ(resolve_dtype("bf16", c10::Device(c10::kCPU)), c10::kBFloat16);
  EXPECT_EQ(resolve_dtype("bf16", c10::Device(c10::kCPU)), c10::kBFloat16);
  const std::string warnings = testing::internal::GetCapturedStderr();
  if (this_cpu().native_bf16()) {
    EXPECT_EQ(warnings, "") << "this CPU has AVX512_BF16 or AMX";
    return;
  }
  const nlohmann::json cached = entries();
  const double ratio = cached.at(entry_name("BFloat16")).at("value").at("flops").get<double>() /
                       cached.at(entry_name("Float")).at("value").at("flops").get<double>();
  EXPECT_NE(warnings.find(fmt::format("bf16 matmul runs at {:.2g}x of fp32 on this CPU (no AVX512_BF16/AMX): "
                                      "expect a slower run", ratio)),
            std::string::npos)
      << warnings;
  EXPECT_EQ(warnings.find("bf16 matmul"), warnings.rfind("bf16 matmul")) << "warned twice: " << warnings;
}

}  // namespace
