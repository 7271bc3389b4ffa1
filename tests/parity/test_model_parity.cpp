// Our GPT against nanochat's: parity_dump writes our weights, a batch, our logits, loss,
// gradients and KV-cache logits; check_model_parity.py recomputes them in nanochat's model
// (bench/pretrain/reference_nanochat.py) in fp32 and compares (tolerances: its docstring).
// Depth 2 with vocabulary 500 (padded to 512) and depth 4 with 512 (no padding). The
// comparison is shown able to fail: a logit moved by 2e-4 and a gradient entry moved by
// 1e-3 of its tensor's scale are both caught.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "nanochat/subprocess.hpp"
#include "nanochat/tensor_io.hpp"
#include "torch_python.hpp"

namespace fs = std::filesystem;
using nanochat::test::read_file;
using nanochat::test::run_parity_script;

namespace {

struct Case {
  const char* name;
  int64_t depth, vocab, seq_len, batch, prefix, chunk;
};

// gtest prints a parameter with this (else as raw bytes in every test name).
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

// Our side runs on $NANOCHAT_PARITY_DEVICE (bench/gpu/run.sh sets cuda), else the CPU;
// nanochat's side always runs on the CPU in fp32.
std::vector<std::string> dump_args(const Case& c, const fs::path& out) {
  const char* device = std::getenv("NANOCHAT_PARITY_DEVICE");
  return {NANOCHAT_PARITY_DUMP,  "--out",     out.string(),
          "--depth",             std::to_string(c.depth),
          "--vocab",             std::to_string(c.vocab),
          "--seq-len",           std::to_string(c.seq_len),
          "--batch",             std::to_string(c.batch),
          "--prefix",            std::to_string(c.prefix),
          "--chunk",             std::to_string(c.chunk),
          "--device",            device && *device ? device : "cpu"};
}

// A fresh folder for one test's files, removed when the test passed (kept to look at
// when it failed).
class ParityDir {
 public:
  explicit ParityDir(const std::string& name)
      : path_(fs::temp_directory_path() / ("nanochat-parity-" + name + "-" + std::to_string(getpid()))) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~ParityDir() {
    if (!::testing::Test::HasFailure()) fs::remove_all(path_);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// The line of the check's report about `quantity`: "  <quantity>   max|diff| ...".
std::string report_line(const std::string& report, const std::string& quantity) {
  std::istringstream lines(report);
  const std::string head = "  " + quantity + " ";
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(head, 0) != 0) continue;
    const size_t rest = line.find_first_not_of(' ', head.size());
    if (rest != std::string::npos && line.compare(rest, 9, "max|diff|") == 0) return line;
  }
  return "";
}

class ModelParity : public ::testing::TestWithParam<Case> {};

TEST_P(ModelParity, MatchesNanochat) {
  NANOCHAT_REQUIRE_TORCH_PYTHON(python);
  const Case& c = GetParam();
  ParityDir dir(c.name);
  ASSERT_EQ(nanochat::run_process(dump_args(c, dir.path()), nanochat::test::parity_env()), 0) << "parity_dump failed";
  const int code = run_parity_script(python, "check_model_parity.py", {dir.path().string()}, dir.path() / "report.txt");
  const std::string report = read_file(dir.path() / "report.txt");
  std::cout << report;
  EXPECT_EQ(code, 0) << "our GPT differs from nanochat's (report above; files in " << dir.path() << ")";
  EXPECT_NE(report.find("all quantities within tolerance"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Sizes, ModelParity,
                         ::testing::Values(Case{"Depth2PaddedVocab", 2, 500, 32, 2, 12, 5},
                                           Case{"Depth4", 4, 512, 48, 2, 20, 7}),
                         [](const ::testing::TestParamInfo<Case>& info) { return std::string(info.param.name); });

TEST(ModelParityCheck, CatchesSmallDifferences) {
  NANOCHAT_REQUIRE_TORCH_PYTHON(python);
  const Case c{"Perturbed", 2, 500, 32, 2, 12, 5};
  ParityDir dir(c.name);
  ASSERT_EQ(nanochat::run_process(dump_args(c, dir.path()), nanochat::test::parity_env()), 0) << "parity_dump failed";
  const std::string grad_name = "transformer.h.1.mlp.c_fc.weight";
  {
    auto outputs = nanochat::load_tensors(dir.path() / "outputs.safetensors", at::kCPU);
    for (auto& [name, tensor] : outputs.tensors) {
      if (name == "cached_logits") tensor[1][c.seq_len - 1][7] += 2e-4;
    }
    nanochat::save_tensors(dir.path() / "outputs.safetensors", outputs.tensors, outputs.metadata);
    auto grads = nanochat::load_tensors(dir.path() / "grads.safetensors", at::kCPU);
    for (auto& [name, tensor] : grads.tensors) {
      if (name == grad_name) tensor[3][5] += 1e-3 * tensor.abs().max().item<double>();
    }
    nanochat::save_tensors(dir.path() / "grads.safetensors", grads.tensors, grads.metadata);
  }
  const int code = run_parity_script(python, "check_model_parity.py", {dir.path().string()}, dir.path() / "report.txt");
  const std::string report = read_file(dir.path() / "report.txt");
  std::cout << report;
  EXPECT_EQ(code, 1);
  EXPECT_NE(report_line(report, "logits through the KV cache").find("FAIL"), std::string::npos);
  EXPECT_NE(report_line(report, "grad " + grad_name).find("FAIL"), std::string::npos);
  const std::string untouched = report_line(report, "logits");
  ASSERT_FALSE(untouched.empty()) << "no 'logits' line in the report";
  EXPECT_EQ(untouched.find("FAIL"), std::string::npos) << untouched;
}

TEST(ModelParityCheck, DumpRefusesLengthsThatSkipACacheCase) {
  const Case c{"BadLengths", 2, 500, 16, 1, 12, 5};  // 12 + 5 >= 16: no single-token steps
  EXPECT_EQ(nanochat::run_process(dump_args(c, fs::temp_directory_path() / "nanochat-parity-never-written")), 2);
}

}  // namespace
