// Choosing optimizers through the real host: `plugins info` lists an optimizer's declared
// options with their defaults; `run pretrain` trains with AdamW for every group (options
// from an INI file), and refuses unknown or malformed --optimizer-option values and a weight
// decay no chosen optimizer supports, with a one-line message and exit code 2.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "host_process.hpp"
#include "tiny_base.hpp"

namespace fs = std::filesystem;
using nanochat::test::HostResult;

namespace {

HostResult plugins_info(const std::string& name) {
  return nanochat::test::run_host(NANOCHAT_TEST_HOST, {"plugins", "info", name}, {{"NANOCHAT_PLUGIN_PATH", ""}});
}

bool has_line(const std::string& text, const std::string& pattern) {
  return std::regex_search(text, std::regex(pattern, std::regex::multiline));
}

TEST(OptimizerInfo, MuonListsItsOptionsWithDefaults) {
  HostResult r = plugins_info("muon");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("interface:   nanochat.optimizer/2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Options (--optimizer-option muon.NAME=VALUE):"), std::string::npos) << r.out;
  EXPECT_TRUE(has_line(r.out, R"(^  momentum +0\.95 +momentum once warmed up \(in \[0, 1\)\)$)")) << r.out;
  EXPECT_TRUE(has_line(r.out, R"(^  momentum-start +0\.85 )")) << r.out;
  EXPECT_TRUE(has_line(r.out, R"(^  momentum-warmup-steps +300 .*\(a whole number in \[0, 1000000000\]\)$)")) << r.out;
  EXPECT_TRUE(has_line(r.out, R"(^  ns-steps +5 +quintic Newton-Schulz iterations \(a whole number in \[1, 100\]\)$)"))
      << r.out;
  EXPECT_TRUE(has_line(r.out, R"(^  ns-bf16 +-1 )")) << r.out;
}

TEST(OptimizerInfo, AdamWListsItsOptionsWithDefaults) {
  HostResult r = plugins_info("optimizer/adamw");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has_line(r.out, R"(^  beta1 +0\.8 )")) << r.out;
  EXPECT_TRUE(has_line(r.out, R"(^  beta2 +0\.95 )")) << r.out;
  EXPECT_TRUE(has_line(r.out, R"(^  eps +1e-10 +.*\(>= 0\)$)")) << r.out;
}

class OptimizerChoiceTest : public ::testing::Test {
 protected:
  static inline nanochat::test::TinyBase* tiny = nullptr;

  static void SetUpTestSuite() { tiny = new nanochat::test::TinyBase(400000); }
  static void TearDownTestSuite() {
    delete tiny;
    tiny = nullptr;
  }

  void SetUp() override {
    if (!tiny->skip_reason().empty()) GTEST_SKIP() << tiny->skip_reason();
    ASSERT_EQ(tiny->error(), "");
  }

  // A depth-1 run of `steps` steps of 256 tokens, logging to <tag>.jsonl.
  static std::vector<std::string> tiny_run(const std::string& tag, int steps) {
    return {"run", "pretrain", "--depth", "1", "--max-seq-len", "64", "--device-batch-size", "4",
            "--total-batch-size", "256", "--num-iterations", std::to_string(steps), "--eval-every", "-1",
            "--sample-every", "-1", "--model-tag", tag, "--device", "cpu", "--dtype", "fp32",
            "--log-file", (tiny->root() / (tag + ".jsonl")).string()};
  }

  static std::vector<double> losses(const std::string& tag) {
    std::vector<double> out;
    std::ifstream in(tiny->root() / (tag + ".jsonl"));
    for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line)["loss"].get<double>());
    return out;
  }

  static HostResult refused(std::vector<std::string> extra) {
    auto args = tiny_run("refused", 1);
    args.insert(args.end(), extra.begin(), extra.end());
    return tiny->run(args);
  }
};

TEST_F(OptimizerChoiceTest, AdamWForEveryGroupTrainsWithOptionsFromAnIniFile) {
  const fs::path ini = tiny->root() / "adamw.ini";
  nanochat::test::write_text(ini,
                             "[pretrain]\nmatrix-optimizer = adamw\nmatrix-lr = 0.003\n"
                             "optimizer-option = adamw.beta1=0.85\noptimizer-option = adamw.beta2=0.98\n");
  auto args = tiny_run("adamw-only", 30);
  args.insert(args.end(), {"--config", ini.string()});
  HostResult r = tiny->run(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto loss = losses("adamw-only");
  ASSERT_EQ(loss.size(), 30u);
  EXPECT_LT(loss.back(), loss.front() - 1.0) << "loss did not fall with AdamW only";

  // The INI value reached the plugin: one out of range is refused by it.
  nanochat::test::write_text(ini, "[pretrain]\nmatrix-optimizer = adamw\noptimizer-option = adamw.beta1=1.5\n");
  HostResult bad = refused({"--config", ini.string()});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--optimizer-option adamw.beta1=1.5: adamw: beta1 must be in [0, 1), got 1.5"), std::string::npos)
      << bad.err;
}

TEST_F(OptimizerChoiceTest, BadOptimizerOptionsAreRefusedWithTheFlagAndTheKnownKeys) {
  HostResult unknown_key = refused({"--optimizer-option", "muon.beta1=0.9"});
  EXPECT_EQ(unknown_key.exit_code, 2);
  EXPECT_NE(unknown_key.err.find("--optimizer-option muon.beta1=0.9: muon has no option 'beta1' (it has: momentum, "
                                 "momentum-start, momentum-warmup-steps, nesterov, ns-steps, ns-bf16)"),
            std::string::npos)
      << unknown_key.err;

  HostResult unused_plugin = refused({"--optimizer-option", "lion.beta1=0.9"});
  EXPECT_EQ(unused_plugin.exit_code, 2);
  EXPECT_NE(unused_plugin.err.find("'lion' is not a plugin in use here (in use: adamw, muon)"), std::string::npos)
      << unused_plugin.err;

  HostResult no_value = refused({"--optimizer-option", "muon.ns-steps"});
  EXPECT_EQ(no_value.exit_code, 2);
  EXPECT_NE(no_value.err.find("--optimizer-option muon.ns-steps: expected KEY=VALUE, found no '='"), std::string::npos)
      << no_value.err;

  HostResult no_decay = refused({"--embedding-optimizer", "muon", "--weight-decay", "0.1"});
  EXPECT_EQ(no_decay.exit_code, 2);
  EXPECT_NE(no_decay.err.find("no optimizer in use (muon) supports weight decay"), std::string::npos) << no_decay.err;
}

}  // namespace
