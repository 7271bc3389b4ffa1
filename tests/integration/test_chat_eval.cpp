// `nanochat run eval --kind chat` end to end through the real host, on a tiny SFT model
// trained here on the real task data: every installed evaluable task is scored and the
// summary table printed; the JSON file and the report section hold the same numbers; by
// default, nanochat's six run and a missing one is skipped with one line; two Gloo ranks
// score exactly what one process scores; bad task lists and options end with a one-line
// error.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "host_process.hpp"
#include "tiny_base.hpp"

namespace fs = std::filesystem;
using nanochat::test::HostResult;

namespace {

const std::string kTaskData = std::string(NANOCHAT_TEST_SHARED_DIR) + "/data";
const std::vector<std::string> kSix = {"ARC-Easy", "ARC-Challenge", "MMLU", "GSM8K", "HumanEval", "SpellingBee"};

class ChatEvalTest : public ::testing::Test {
 protected:
  static inline nanochat::test::TinyBase* tiny = nullptr;
  static inline std::string model_error;

  static void SetUpTestSuite() {
    tiny = new nanochat::test::TinyBase(500000);
    if (!tiny->skip_reason().empty() || !tiny->error().empty()) return;
    model_error = tiny->train_tiny_model("t", /*sft=*/true, kTaskData);
  }
  static void TearDownTestSuite() {
    delete tiny;
    tiny = nullptr;
  }

  void SetUp() override {
    if (!tiny->skip_reason().empty()) GTEST_SKIP() << tiny->skip_reason();
    ASSERT_EQ(tiny->error(), "");
    ASSERT_EQ(model_error, "");
  }

  // A chat eval of the tiny SFT model (24 new tokens keep the generative tasks quick), with
  // `changes` as flag-value pairs that replace or add to these.
  static std::vector<std::string> eval_args(const std::vector<std::string>& changes) {
    std::vector<std::string> args = {"run", "eval", "--kind", "chat", "--source", "sft", "--model-tag", "t",
                                     "--device", "cpu", "--dtype", "fp32", "--max-new-tokens", "24",
                                     "--data-dir", kTaskData};
    for (size_t i = 0; i + 1 < changes.size(); i += 2) {
      auto flag = std::find(args.begin(), args.end(), changes[i]);
      if (flag != args.end()) {
        *(flag + 1) = changes[i + 1];
      } else {
        args.insert(args.end(), {changes[i], changes[i + 1]});
      }
    }
    return args;
  }

  static nlohmann::json results() { return nlohmann::json::parse(std::ifstream(tiny->base() / "eval" / "sft-chat.json")); }
};

TEST_F(ChatEvalTest, ScoresEveryEvaluableTaskAndPrintsTheTable) {
  const std::vector<std::string> tasks = {"arc-easy", "arc-challenge", "mmlu", "gsm8k", "spellingbee=256", "simple-spelling"};
  std::string list;
  for (const auto& task : tasks) list += (list.empty() ? "" : ",") + task;
  HostResult r = tiny->run(eval_args({"--tasks", list, "--max-problems", "5", "--device-batch-size", "2"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;

  const nlohmann::json json = results();
  EXPECT_EQ(json["source"], "sft");
  EXPECT_EQ(json["kind"], "chat");
  EXPECT_EQ(json["model_tag"], "t");
  EXPECT_EQ(json["step"], 4);
  EXPECT_EQ(json["max_problems"], 5);
  EXPECT_EQ(json["num_samples"], 1);
  EXPECT_GT(json["seconds"].get<double>(), 0.0);
  EXPECT_EQ(json["time"].get<std::string>().back(), 'Z');
  const std::vector<std::string> labels = {"ARC-Easy", "ARC-Challenge", "MMLU", "GSM8K", "SpellingBee", "simple-spelling:test"};
  ASSERT_EQ(json["tasks"].size(), labels.size()) << json.dump();
  for (size_t i = 0; i < labels.size(); ++i) {
    const auto& task = json["tasks"][i];
    EXPECT_EQ(task["label"], labels[i]);
    EXPECT_EQ(task["split"], "test");
    EXPECT_EQ(task["items"], 5) << labels[i];
    const double accuracy = task["accuracy"].get<double>();
    EXPECT_DOUBLE_EQ(accuracy, task["passed"].get<double>() / 5.0);
    const double baseline = i < 3 ? 0.25 : 0.0;
    EXPECT_NEAR(task["centered"].get<double>(), (accuracy - baseline) / (1 - baseline), 1e-12);
    EXPECT_EQ(json["summary"].at(labels[i]), accuracy);
    // The table row, and the report line nanochat's report reads.
    EXPECT_NE(r.out.find("| " + labels[i]), std::string::npos) << r.out;
  }
  EXPECT_EQ(json["tasks"][0]["name"], "arc-easy");
  EXPECT_FALSE(json["summary"].contains("ChatCORE")) << "HumanEval did not run";
  EXPECT_NE(r.out.find("| Task "), std::string::npos) << r.out;

  const std::string report = nanochat::test::read_text(tiny->base() / "report" / "chat-evaluation-sft.md");
  EXPECT_EQ(report.rfind("## Chat evaluation sft\n", 0), 0u) << report;
  EXPECT_NE(report.find("- ARC-Easy: "), std::string::npos) << report;
  EXPECT_NE(report.find("- max problems: 5"), std::string::npos) << report;
  EXPECT_EQ(report.find("ChatCORE metric"), std::string::npos) << report;
}

TEST_F(ChatEvalTest, DefaultsToNanochatsSixAndSaysWhichAreMissing) {
  HostResult r = tiny->run(eval_args({"--max-problems", "3"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json json = results();
  std::set<std::string> ran;
  for (const auto& task : json["tasks"]) ran.insert(task["label"].get<std::string>());
  for (const std::string& label : kSix) {
    if (ran.count(label) == 0) {
      EXPECT_NE(r.err.find("is not installed"), std::string::npos) << label << " neither ran nor was reported missing";
    }
  }
  EXPECT_GE(ran.size(), 5u) << "every shipped task of the six runs";
  EXPECT_EQ(json["summary"].contains("ChatCORE"), ran.size() == kSix.size()) << json.dump();
  EXPECT_EQ(json["max_problems"], 3);
}

TEST_F(ChatEvalTest, TwoGlooRanksScoreAsOneProcess) {
  // 5 problems in batches of 2 leave rank 1 one batch fewer; gsm8k alternates problems.
  const auto args = eval_args({"--tasks", "arc-easy,mmlu,gsm8k", "--max-problems", "5", "--device-batch-size", "2"});
  HostResult one = tiny->run(args);
  ASSERT_EQ(one.exit_code, 0) << one.err;
  const nlohmann::json single = results();
  std::vector<std::string> launch = {"launch", "--nproc", "2", "--master-port", "29653", "--"};
  launch.insert(launch.end(), args.begin(), args.end());
  HostResult two = tiny->run(launch);
  ASSERT_EQ(two.exit_code, 0) << two.err;
  const nlohmann::json pair = results();
  ASSERT_EQ(pair["tasks"].size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(pair["tasks"][i]["items"], 5);
    EXPECT_EQ(pair["tasks"][i]["passed"], single["tasks"][i]["passed"]) << single["tasks"][i]["label"];
  }
  EXPECT_EQ(pair["summary"], single["summary"]);
  EXPECT_NE(two.err.find("(2 ranks)"), std::string::npos) << two.err;
}

TEST_F(ChatEvalTest, BadRequestsEndWithOneLine) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {{"--tasks", "oasst"}, "task oasst has no evaluation"},
           {{"--tasks", "no-such-task"}, "no task plugin named 'no-such-task' is installed (installed: "},
           {{"--tasks", "gsm8k*2"}, "repeats a task"},
           {{"--tasks", "gsm8k,gsm8k:test[0:3]"}, "GSM8K is listed twice"},
           {{"--num-samples", "0"}, "--num-samples must be at least 1"},
           {{"--max-problems", "0"}, "--max-problems must be at least 1"},
           {{"--kind", "nonsense"}, "unknown --kind 'nonsense'"},
       }) {
    HostResult r = tiny->run(eval_args(c.args));
    EXPECT_EQ(r.exit_code, 2) << c.message << "\n" << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  HostResult no_rl = tiny->run(eval_args({"--source", "rl", "--tasks", "gsm8k"}));
  EXPECT_EQ(no_rl.exit_code, 1) << no_rl.err;
  EXPECT_NE(no_rl.err.find("run the rl stage first"), std::string::npos) << no_rl.err;
}

}  // namespace
