// The per-machine cache (machine_facts.hpp) on real files and processes: a measurement is
// written, reused without measuring again, measured again for another machine key or when
// the caller rejects it (a peak measured on a busy machine), a
// corrupt file is replaced with a warning, the environment chooses (or turns off) the file,
// and ranks started together measure once. Also /proc/cpuinfo parsing.
#include <gtest/gtest.h>

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <optional>
#include <thread>

#include "nanochat/cpu_info.hpp"
#include "nanochat/machine_facts.hpp"
#include "../integration/host_process.hpp"

namespace fs = std::filesystem;
using namespace nanochat;
using nanochat::test::read_text;
using nanochat::test::write_text;

namespace {

MachineKey key(const std::string& cpu = "Test CPU 9000", const std::string& libtorch = "2.11.0") {
  return MachineKey{cpu, "avx avx2 fma", libtorch, "0.1.0"};
}

// A measurement that counts how often it ran.
struct Probe {
  int runs = 0;
  double value;
  explicit Probe(double v) : value(v) {}
  std::function<nlohmann::json()> fn() {
    return [this] {
      ++runs;
      return nlohmann::json(value);
    };
  }
};

// Sets an environment variable for one test.
struct ScopedEnv {
  std::string name;
  std::optional<std::string> old;
  ScopedEnv(std::string n, const char* value) : name(std::move(n)) {
    if (const char* was = std::getenv(name.c_str())) old = was;
    if (value) setenv(name.c_str(), value, 1); else unsetenv(name.c_str());
  }
  ~ScopedEnv() {
    if (old) setenv(name.c_str(), old->c_str(), 1); else unsetenv(name.c_str());
  }
};

TEST(MachineFacts, MeasuresOnceAndWritesTheFile) {
  nanochat::test::ScratchDir dir;
  const fs::path file = dir.path / "sub" / "machine.json";
  Probe probe(123.5);
  {
    MachineFacts facts(file, key());
    EXPECT_EQ(facts.get_or_measure("matmul_flops/cpu/Float/threads2", probe.fn()).get<double>(), 123.5);
    EXPECT_EQ(facts.get_or_measure("matmul_flops/cpu/Float/threads2", probe.fn()).get<double>(), 123.5);
  }
  EXPECT_EQ(probe.runs, 1);
  const nlohmann::json cache = nlohmann::json::parse(read_text(file));
  const nlohmann::json& record = cache.at("machines").at(key().id());
  EXPECT_EQ(record.at("cpu"), "Test CPU 9000");
  EXPECT_EQ(record.at("libtorch"), "2.11.0");
  const nlohmann::json& entry = record.at("entries").at("matmul_flops/cpu/Float/threads2");
  EXPECT_EQ(entry.at("value").get<double>(), 123.5);
  EXPECT_GE(entry.at("seconds").get<double>(), 0.0);
  EXPECT_TRUE(entry.contains("measured_at"));

  // Another process (a new object reading the same file) reuses it, and so does a pinned value.
  MachineFacts again(file, key());
  EXPECT_EQ(again.get_or_measure("matmul_flops/cpu/Float/threads2", probe.fn()).get<double>(), 123.5);
  EXPECT_EQ(probe.runs, 1);
  nlohmann::json pinned = cache;
  pinned["machines"][key().id()]["entries"]["matmul_flops/cpu/Float/threads2"]["value"] = 7.0;
  write_text(file, pinned.dump());
  EXPECT_EQ(again.get_or_measure("matmul_flops/cpu/Float/threads2", probe.fn()).get<double>(), 7.0);
  EXPECT_EQ(probe.runs, 1);
}

TEST(MachineFacts, AValueTheCallerRejectsIsMeasuredAgainAndReplaced) {
  nanochat::test::ScratchDir dir;
  const fs::path file = dir.path / "machine.json";
  Probe busy(1.5), quiet(40.0);
  MachineFacts facts(file, key());
  facts.get_or_measure("peak", busy.fn());
  // A rate of 10 was just observed: a cached peak of 1.5 cannot be right.
  const auto at_least_10 = [](const nlohmann::json& cached) { return cached.get<double>() >= 10.0; };
  EXPECT_EQ(facts.get_or_measure("peak", quiet.fn(), at_least_10).get<double>(), 40.0);
  EXPECT_EQ(quiet.runs, 1);
  EXPECT_EQ(facts.get_or_measure("peak", quiet.fn(), at_least_10).get<double>(), 40.0);
  EXPECT_EQ(quiet.runs, 1);
  EXPECT_EQ(nlohmann::json::parse(read_text(file))["machines"][key().id()]["entries"]["peak"]["value"].get<double>(), 40.0);
}

TEST(MachineFacts, AnotherKeyMeasuresAgain) {
  nanochat::test::ScratchDir dir;
  const fs::path file = dir.path / "machine.json";
  Probe first(1.0), other_cpu(2.0), newer_torch(3.0);
  MachineFacts(file, key()).get_or_measure("x", first.fn());
  EXPECT_EQ(MachineFacts(file, key("Other CPU")).get_or_measure("x", other_cpu.fn()).get<double>(), 2.0);
  EXPECT_EQ(other_cpu.runs, 1);
  // Both machines keep their records (a home folder shared by two kinds of machine).
  EXPECT_EQ(MachineFacts(file, key()).get_or_measure("x", first.fn()).get<double>(), 1.0);
  EXPECT_EQ(first.runs, 1);
  // A newer LibTorch on the same CPU measures again and replaces that CPU's old record.
  EXPECT_EQ(MachineFacts(file, key("Test CPU 9000", "2.12.0")).get_or_measure("x", newer_torch.fn()).get<double>(), 3.0);
  EXPECT_EQ(newer_torch.runs, 1);
  const nlohmann::json machines = nlohmann::json::parse(read_text(file)).at("machines");
  EXPECT_EQ(machines.size(), 2u);
  EXPECT_FALSE(machines.contains(key().id()));
  EXPECT_TRUE(machines.contains(key("Test CPU 9000", "2.12.0").id()));
  EXPECT_TRUE(machines.contains(key("Other CPU").id()));
}

TEST(MachineFacts, ACorruptFileIsReplacedWithAWarning) {
  nanochat::test::ScratchDir dir;
  const fs::path file = dir.path / "machine.json";
  for (const std::string& bad : {std::string("{ truncated"), std::string("[1, 2]"),
                                 std::string(R"({"version": 1, "machines": []})")}) {
    write_text(file, bad);
    Probe probe(5.0);
    testing::internal::CaptureStderr();
    EXPECT_EQ(MachineFacts(file, key()).get_or_measure("x", probe.fn()).get<double>(), 5.0);
    const std::string warning = testing::internal::GetCapturedStderr();
    EXPECT_NE(warning.find("machine cache " + file.string()), std::string::npos) << warning;
    EXPECT_NE(warning.find("replacing it"), std::string::npos) << warning;
    EXPECT_EQ(probe.runs, 1);
    const nlohmann::json fixed = nlohmann::json::parse(read_text(file));  // valid again
    EXPECT_EQ(fixed.at("machines").at(key().id()).at("entries").at("x").at("value").get<double>(), 5.0);
  }
}

TEST(MachineFacts, MeasurementsMayAskForOthers) {
  nanochat::test::ScratchDir dir;
  MachineFacts facts(dir.path / "machine.json", key());
  Probe inner(2.0);
  const double ratio = facts.get_or_measure("ratio", [&] {
    return 10.0 / facts.get_or_measure("inner", inner.fn()).get<double>();
  }).get<double>();
  EXPECT_EQ(ratio, 5.0);
  const nlohmann::json entries = nlohmann::json::parse(read_text(dir.path / "machine.json"))["machines"][key().id()]["entries"];
  EXPECT_TRUE(entries.contains("inner"));
  EXPECT_TRUE(entries.contains("ratio"));
}

TEST(MachineFacts, UnwritableFileStillGivesTheValue) {
  nanochat::test::ScratchDir dir;
  write_text(dir.path / "file", "");
  Probe probe(4.0);
  MachineFacts facts(dir.path / "file" / "machine.json", key());  // a file where a folder should be
  testing::internal::CaptureStderr();
  EXPECT_EQ(facts.get_or_measure("x", probe.fn()).get<double>(), 4.0);
  EXPECT_NE(testing::internal::GetCapturedStderr().find("cannot write the machine cache"), std::string::npos);
}

TEST(MachineFacts, TheEnvironmentChoosesTheFile) {
  {
    ScopedEnv cache("NANOCHAT_MACHINE_CACHE", "/tmp/elsewhere/facts.json");
    EXPECT_EQ(machine_cache_path(), fs::path("/tmp/elsewhere/facts.json"));
  }
  {
    ScopedEnv cache("NANOCHAT_MACHINE_CACHE", "off");
    EXPECT_EQ(machine_cache_path(), fs::path());
    Probe probe(1.0);
    MachineFacts facts(machine_cache_path(), key());
    facts.get_or_measure("x", probe.fn());
    facts.get_or_measure("x", probe.fn());
    EXPECT_EQ(probe.runs, 2) << "off: nothing is kept";
  }
  {
    ScopedEnv cache("NANOCHAT_MACHINE_CACHE", nullptr);
    ScopedEnv xdg("XDG_CACHE_HOME", "/tmp/xdg");
    EXPECT_EQ(machine_cache_path(), fs::path("/tmp/xdg/nanochat-cpp/machine.json"));
  }
  {
    ScopedEnv cache("NANOCHAT_MACHINE_CACHE", nullptr);
    ScopedEnv xdg("XDG_CACHE_HOME", nullptr);
    ScopedEnv home("HOME", "/home/someone");
    EXPECT_EQ(machine_cache_path(), fs::path("/home/someone/.cache/nanochat-cpp/machine.json"));
  }
}

TEST(MachineFacts, ProcessesStartedTogetherMeasureOnce) {
  nanochat::test::ScratchDir dir;
  const fs::path file = dir.path / "machine.json", runs = dir.path / "runs";
  std::vector<pid_t> children;
  for (int i = 0; i < 3; ++i) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      MachineFacts facts(file, key());
      facts.get_or_measure("slow", [&] {
        std::ofstream(runs, std::ios::app) << "run\n";
        std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the others arrive meanwhile
        return nlohmann::json(1.0);
      });
      _exit(0);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  EXPECT_EQ(read_text(runs), "run\n");
}

TEST(CpuInfo, ReadsTheFirstProcessor) {
  nanochat::test::ScratchDir dir;
  write_text(dir.path / "cpuinfo",
             "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Platinum 8480+\n"
             "flags\t\t: fpu sse2 avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n\n"
             "processor\t: 1\nmodel name\t: Intel(R) Xeon(R) Platinum 8480+\nflags\t\t: fpu extra\n");
  CpuInfo xeon = read_cpu_info(dir.path / "cpuinfo");
  EXPECT_EQ(xeon.model, "Intel(R) Xeon(R) Platinum 8480+");
  EXPECT_TRUE(xeon.has("avx512_bf16"));
  EXPECT_FALSE(xeon.has("extra"));
  EXPECT_TRUE(xeon.native_bf16());

  write_text(dir.path / "cpuinfo", "processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu avx avx2\n");
  CpuInfo epyc = read_cpu_info(dir.path / "cpuinfo");
  EXPECT_FALSE(epyc.native_bf16());
  EXPECT_EQ(epyc.flags, (std::vector<std::string>{"avx", "avx2", "fpu"}));

  EXPECT_EQ(read_cpu_info(dir.path / "absent").model, "unknown");
  EXPECT_FALSE(this_cpu().model.empty());
}

}  // namespace
