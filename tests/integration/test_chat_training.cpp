// The midtrain and SFT stages end to end through the real host, from a tiny base model
// trained on real text, on the real task data in ../shared/data: val metrics fall; two
// Gloo ranks train like one process; a run killed with SIGKILL resumes with bit-identical
// losses (also through --resume-from-step auto, with --keep-last pruning); bad mixtures
// and a model of another tokenizer are refused with the reason.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "host_process.hpp"
#include "step_log.hpp"
#include "tiny_base.hpp"

namespace fs = std::filesystem;
using nanochat::test::HostResult;

namespace {

const std::string kHost = NANOCHAT_TEST_HOST;
const std::string kTaskData = std::string(NANOCHAT_TEST_SHARED_DIR) + "/data";

class ChatTrainingTest : public nanochat::test::TinyBaseSuite<ChatTrainingTest> {
 public:
  static constexpr int64_t kChars = 2000000;
  static std::string prepare(const nanochat::test::TinyBase& tiny) {
    HostResult base = tiny.run(nanochat::test::tiny_pretrain_args(2, 30, "t"));
    return base.exit_code == 0 ? "" : base.err;
  }

 protected:
  // A midtrain or sft run from the tiny base model (tag "t"), logging to <log>.jsonl.
  static std::vector<std::string> chat_run(const std::string& stage, const std::string& log, int steps,
                                           const std::string& batch, const std::string& eval_every = "-1") {
    // SFT rows hold whole conversations: 64 tokens of the tiny 512-token vocabulary would
    // cut most of them before the assistant speaks.
    std::vector<std::string> args = {"run", stage, "--model-tag", "t", "--max-seq-len", stage == "sft" ? "192" : "64",
                                     "--device-batch-size", batch,
                                     "--num-iterations", std::to_string(steps), "--eval-every", eval_every,
                                     "--device", "cpu", "--dtype", "fp32", "--task-data-dir", kTaskData,
                                     "--log-file", log_path(log).string()};
    if (stage == "midtrain") {
      args.insert(args.end(), {"--source", "base", "--total-batch-size", "512", "--eval-tokens", "4096",
                               "--mixture", "identity,gsm8k:train", "--val-mixture", "identity:test,gsm8k:test"});
    } else {
      args.insert(args.end(), {"--source", "base", "--target-examples-per-step", "8", "--eval-examples", "64",
                               "--mixture", "identity,gsm8k:train,arc-easy:train", "--val-mixture", "identity:test,gsm8k:test"});
    }
    return args;
  }

  static fs::path log_path(const std::string& name) { return tiny->root() / (name + ".jsonl"); }

  static std::map<int64_t, double> losses(const std::string& name) {
    return nanochat::test::step_values(log_path(name), "loss");
  }

  // The values of "<metric> X" in a run's log, in order.
  static std::vector<double> metric_values(const std::string& log, const std::string& metric) {
    std::vector<double> values;
    for (size_t at = log.find(metric + " "); at != std::string::npos; at = log.find(metric + " ", at + 1)) {
      values.push_back(std::stod(log.substr(at + metric.size() + 1)));
    }
    return values;
  }

  static fs::path out_dir(const std::string& stage) {
    return tiny->base() / (stage == "midtrain" ? "mid_checkpoints" : "chatsft_checkpoints") / "t";
  }

  // Clears a stage's outputs and logs so each test starts from the base model alone.
  static void fresh(const std::string& stage, const std::vector<std::string>& logs) {
    fs::remove_all(out_dir(stage));
    for (const auto& log : logs) fs::remove(log_path(log));
  }

  void killed_run_resumes_exactly(const std::string& stage) {
    const std::string straight = stage + "-straight", killed = stage + "-killed";
    fresh(stage, {straight, killed});
    HostResult whole = tiny->run(chat_run(stage, straight, 12, "4"));
    ASSERT_EQ(whole.exit_code, 0) << whole.err;
    fresh(stage, {killed});

    auto args = chat_run(stage, killed, 12, "4");
    args.insert(args.end(), {"--save-every", "3", "--keep-last", "1"});
    ASSERT_EQ(nanochat::test::kill_when_logged(kHost, args, tiny->env(), log_path(killed), 7), "");
    ASSERT_TRUE(fs::exists(out_dir(stage) / "meta_000006.json"));
    EXPECT_FALSE(fs::exists(out_dir(stage) / "meta_000003.json")) << "--keep-last 1 kept step 3";
    ASSERT_FALSE(fs::exists(out_dir(stage) / "meta_000012.json"));

    args.insert(args.end(), {"--resume-from-step", "auto"});
    HostResult resumed = tiny->run(args);
    ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
    EXPECT_NE(resumed.err.find("resumed from step 6"), std::string::npos) << resumed.err;
    auto expected = losses(straight), got = losses(killed);  // the resumed run rewrote steps 6..11
    for (int64_t step = 0; step < 12; ++step) EXPECT_EQ(got[step], expected[step]) << stage << " step " << step;
  }

  void two_ranks_match_one_process(const std::string& stage) {
    const std::string one = stage + "-world1", two = stage + "-world2";
    fresh(stage, {one, two});
    HostResult single = tiny->run(chat_run(stage, one, 4, "4"));
    ASSERT_EQ(single.exit_code, 0) << single.err;
    fresh(stage, {two});
    std::vector<std::string> launch = {"launch", "--nproc", "2", "--master-port", "29641", "--"};
    auto args = chat_run(stage, two, 4, "2");
    launch.insert(launch.end(), args.begin(), args.end());
    HostResult pair = tiny->run(launch);
    ASSERT_EQ(pair.exit_code, 0) << pair.err;
    auto a = losses(one), b = losses(two);
    ASSERT_EQ(a.size(), 4u);
    ASSERT_EQ(b.size(), 4u);
    // The same rows and the same token-weighted loss; only the order of fp32 sums differs
    // (rows split over two processes, gradients averaged by a collective). Each loss is a
    // mean over ~10^3 targets of terms of size ~5: reordering fp32 sums moves it by at
    // most ~n·2^-24 relative per accumulation level, i.e. around 1e-5 of the value after
    // a few steps of training amplify it; 1e-4 relative leaves room for that on any CPU.
    for (const auto& [step, loss] : a) EXPECT_NEAR(b[step], loss, 1e-4 * std::abs(loss)) << stage << " step " << step;
  }
};

TEST_F(ChatTrainingTest, MidtrainValBpbFalls) {
  fresh("midtrain", {"mid-learn"});
  HostResult r = tiny->run(chat_run("midtrain", "mid-learn", 40, "4", "20"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto bpb = metric_values(r.err, "val bpb");
  ASSERT_EQ(bpb.size(), 3u) << r.err;  // steps 0, 20, 40
  EXPECT_LT(bpb.back(), bpb.front() * 0.9) << r.err;
  EXPECT_TRUE(fs::exists(out_dir("midtrain") / "model_000040.safetensors"));
  auto meta = nlohmann::json::parse(std::ifstream(out_dir("midtrain") / "meta_000040.json"));
  EXPECT_EQ(meta["source"]["stage"], "base");
  EXPECT_EQ(meta["dtype"], "fp32");
  EXPECT_TRUE(fs::exists(tiny->base() / "report" / "midtraining.md"));
}

TEST_F(ChatTrainingTest, SftValLossFallsFromMid) {
  fresh("midtrain", {"sft-mid"});
  HostResult mid = tiny->run(chat_run("midtrain", "sft-mid", 10, "4"));
  ASSERT_EQ(mid.exit_code, 0) << mid.err;
  fresh("sft", {"sft-learn"});
  auto args = chat_run("sft", "sft-learn", 30, "4", "15");
  args[std::find(args.begin(), args.end(), "base") - args.begin()] = "mid";
  args.insert(args.end(), {"--init-lr-frac", "0.5"});
  HostResult r = tiny->run(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto loss = metric_values(r.err, "val loss");
  ASSERT_EQ(loss.size(), 3u) << r.err;  // steps 0, 15, 30
  EXPECT_LT(loss.back(), loss.front()) << r.err;
  auto meta = nlohmann::json::parse(std::ifstream(out_dir("sft") / "meta_000030.json"));
  EXPECT_EQ(meta["source"]["stage"], "mid");
  EXPECT_TRUE(fs::exists(tiny->base() / "report" / "chat-sft.md"));
}

TEST_F(ChatTrainingTest, MidtrainKilledRunResumesExactly) { killed_run_resumes_exactly("midtrain"); }
TEST_F(ChatTrainingTest, SftKilledRunResumesExactly) { killed_run_resumes_exactly("sft"); }
TEST_F(ChatTrainingTest, MidtrainTwoGlooRanksMatchOneProcess) { two_ranks_match_one_process("midtrain"); }
TEST_F(ChatTrainingTest, SftTwoGlooRanksMatchOneProcess) { two_ranks_match_one_process("sft"); }

TEST_F(ChatTrainingTest, UnknownTaskListsTheInstalledOnes) {
  auto args = chat_run("sft", "bad-task", 2, "4");
  auto at = std::find(args.begin(), args.end(), "--mixture") - args.begin();
  args[at + 1] = "identity,no-such-task";
  HostResult r = tiny->run(args);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("no-such-task"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("gsm8k"), std::string::npos) << "the installed tasks are listed: " << r.err;
}

TEST_F(ChatTrainingTest, ModelOfAnotherTokenizerIsRefused) {
  fs::path meta_file = tiny->base() / "base_checkpoints" / "t" / "meta_000030.json";
  auto meta = nlohmann::json::parse(std::ifstream(meta_file));
  const auto saved = meta;
  meta["tokenizer_fingerprint"] = meta["tokenizer_fingerprint"].get<uint64_t>() ^ 1u;
  std::ofstream(meta_file) << meta.dump();
  HostResult r = tiny->run(chat_run("sft", "other-tokenizer", 2, "4"));
  std::ofstream(meta_file) << saved.dump();
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("another tokenizer"), std::string::npos) << r.err;
}

}  // namespace
