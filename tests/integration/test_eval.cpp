// `nanochat run eval` end to end through the real host, on a depth-1 model pretrained here
// from ../shared/data: CORE at --max-problems 20 prints a line per task and CORE-20, and
// writes the result file and the report section; 2 ranks under `nanochat launch` give the
// result of 1 (core and bpb); --tasks picks CORE tasks; bpb and sample fill the "Base model
// loss" section together; bad input ends with a one-line error.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "host_process.hpp"
#include "tiny_base.hpp"

namespace fs = std::filesystem;
using nanochat::test::HostResult;
using nanochat::test::read_text;

namespace {

size_t count(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

class EvalTest : public ::testing::Test {
 protected:
  static inline nanochat::test::TinyBase* tiny = nullptr;
  static inline std::string setup_error;

  static void SetUpTestSuite() {
    tiny = new nanochat::test::TinyBase(500000);
    if (!tiny->skip_reason().empty() || !tiny->error().empty()) return;
    HostResult r = tiny->run({"run", "pretrain", "--depth", "1", "--max-seq-len", "128", "--device-batch-size", "4",
                              "--total-batch-size", "512", "--num-iterations", "20", "--eval-every", "-1",
                              "--sample-every", "-1", "--model-tag", "e", "--device", "cpu", "--dtype", "fp32"});
    if (r.exit_code != 0) setup_error = "pretrain failed: " + r.err;
  }

  static void TearDownTestSuite() {
    delete tiny;
    tiny = nullptr;
  }

  void SetUp() override {
    if (!tiny->skip_reason().empty()) GTEST_SKIP() << tiny->skip_reason();
    if (!fs::is_directory(data() / "eval_core") || !fs::is_directory(data() / "eval_hellaswag")) {
      GTEST_SKIP() << "no " << (data() / "eval_core").string() << " or eval_hellaswag: the shared data is not beside the checkout";
    }
    ASSERT_EQ(tiny->error(), "");
    ASSERT_EQ(setup_error, "");
  }

  static fs::path data() { return fs::path(NANOCHAT_TEST_SHARED_DIR) / "data"; }

  static HostResult eval(std::vector<std::string> args, int ranks = 1, const std::string& port = "") {
    args.insert(args.begin(), {"run", "eval", "--device", "cpu", "--dtype", "fp32"});
    if (ranks > 1) args.insert(args.begin(), {"launch", "--nproc", std::to_string(ranks), "--master-port", port, "--"});
    return tiny->run(args);
  }

  static nlohmann::json result(const std::string& kind) {
    return nlohmann::json::parse(read_text(tiny->base() / "eval" / ("base-" + kind + ".json")));
  }

  static void expect_one_line_error(const HostResult& r, int exit_code, const std::string& part) {
    EXPECT_EQ(r.exit_code, exit_code) << r.err;
    EXPECT_NE(r.err.find(part), std::string::npos) << r.err;
    EXPECT_EQ(count(r.err, "\n"), 1u) << r.err;
  }
};

TEST_F(EvalTest, CoreOnTwoRanksEqualsOneAndWritesResults) {
  HostResult one = eval({"--kind", "core", "--max-problems", "20"});
  ASSERT_EQ(one.exit_code, 0) << one.err;
  EXPECT_EQ(count(one.out, " | centered "), 20u) << one.out;  // one line per task
  EXPECT_NE(one.out.find("CORE-20: "), std::string::npos) << one.out;
  EXPECT_NE(one.out.find("not the 22-task CORE score: squad, coqa missing"), std::string::npos) << one.out;
  const nlohmann::json single = result("core");
  EXPECT_EQ(single["source"], "base");
  EXPECT_EQ(single["kind"], "core");
  EXPECT_EQ(single["model_tag"], "e");
  EXPECT_EQ(single["step"], 20);
  EXPECT_EQ(single["max_problems"], 20);
  EXPECT_TRUE(single["seconds"].is_number());
  EXPECT_EQ(single["time"].get<std::string>().size(), 20u);  // 2026-12-01T12:00:00Z
  ASSERT_EQ(single["tasks"].size(), 20u);
  double sum = 0;
  for (const auto& task : single["tasks"]) {
    EXPECT_EQ(task["items"], 20);
    for (const char* key : {"name", "label", "accuracy", "centered"}) EXPECT_TRUE(task.contains(key)) << key;
    EXPECT_DOUBLE_EQ(task["accuracy"].get<double>(), task["correct"].get<double>() / 20);
    sum += task["centered"].get<double>();
  }
  EXPECT_NEAR(single["summary"]["CORE-20"].get<double>(), sum / 20, 1e-12);
  const std::string section = read_text(tiny->base() / "report" / "base-model-evaluation.md");
  EXPECT_NE(section.find("## Base model evaluation"), std::string::npos) << section;
  EXPECT_NE(section.find("- CORE-20 metric: "), std::string::npos) << section;
  EXPECT_NE(section.find("- hellaswag_zeroshot: "), std::string::npos) << section;

  HostResult two = eval({"--kind", "core", "--max-problems", "20"}, 2, "29661");
  ASSERT_EQ(two.exit_code, 0) << two.err;
  const nlohmann::json pair = result("core");
  for (size_t i = 0; i < single["tasks"].size(); ++i) {
    EXPECT_EQ(pair["tasks"][i]["name"], single["tasks"][i]["name"]);
    EXPECT_EQ(pair["tasks"][i]["correct"], single["tasks"][i]["correct"]) << single["tasks"][i]["name"];
  }
  EXPECT_EQ(pair["summary"], single["summary"]);
}

TEST_F(EvalTest, BpbOnTwoRanksEqualsOneAndSamplesShareTheSection) {
  const std::vector<std::string> args = {"--kind", "bpb", "--split-tokens", "4096", "--device-batch-size", "2"};
  HostResult one = eval(args);
  ASSERT_EQ(one.exit_code, 0) << one.err;
  EXPECT_NE(one.out.find("val bpb: "), std::string::npos) << one.out;
  const nlohmann::json single = result("bpb");
  const double val = single["summary"]["val bpb"].get<double>();
  EXPECT_GT(val, 0.5);
  EXPECT_LT(val, 12.0);
  HostResult two = eval(args, 2, "29662");
  ASSERT_EQ(two.exit_code, 0) << two.err;
  const nlohmann::json pair = result("bpb");
  for (const char* split : {"train bpb", "val bpb"}) {
    EXPECT_NEAR(pair["summary"][split].get<double>(), single["summary"][split].get<double>(), 1e-5) << split;
  }

  HostResult sample = eval({"--kind", "sample"});
  ASSERT_EQ(sample.exit_code, 0) << sample.err;
  EXPECT_NE(sample.out.find("The capital of France is"), std::string::npos) << sample.out;
  EXPECT_EQ(result("sample")["samples"].size(), 7u);
  const std::string section = read_text(tiny->base() / "report" / "base-model-loss.md");
  EXPECT_NE(section.find("- val bpb: "), std::string::npos) << section;
  EXPECT_NE(section.find("- sample 6: If 5*x + 3 = 13, then x is"), std::string::npos) << section;
}

TEST_F(EvalTest, TasksChooseASubset) {
  HostResult r = eval({"--kind", "core", "--tasks", "winograd,copa", "--max-problems", "20"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(count(r.out, " | centered "), 2u) << r.out;
  EXPECT_NE(r.out.find("CORE-2: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--tasks chose them"), std::string::npos) << r.out;
  const nlohmann::json subset = result("core");
  ASSERT_EQ(subset["tasks"].size(), 2u);
  EXPECT_EQ(subset["tasks"][0]["name"], "copa");  // in the table's order
  EXPECT_TRUE(subset["summary"].contains("CORE-2"));
}

TEST_F(EvalTest, BadInputIsAOneLineError) {
  expect_one_line_error(eval({"--kind", "chatty"}), 2, "unknown --kind 'chatty': expected core, bpb, sample or chat");
  expect_one_line_error(eval({"--kind", "core", "--tasks", "copa,arc_hard"}), 2, "unknown CORE task 'arc_hard' in --tasks");
  expect_one_line_error(eval({"--kind", "core", "--tasks", "squad"}), 1, "no data for the CORE task squad");
  expect_one_line_error(eval({"--kind", "core", "--data-dir", (tiny->root() / "nowhere").string()}), 1, "no CORE data in");
  expect_one_line_error(eval({"--kind", "core", "--max-problems", "5"}), 2, "10-shot prompts need at least 11 items per task");
  expect_one_line_error(eval({"--kind", "core", "--source", "mid"}), 1, "run the midtrain stage first");
  expect_one_line_error(eval({"--kind", "core", "--step", "7"}), 1, "no step 7");
}

}  // namespace
