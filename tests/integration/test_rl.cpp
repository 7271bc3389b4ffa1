// The `rl` stage end to end through the real host, from a tiny model pretrained on real
// text and fine-tuned on the task's format, with the real grpo and ppo plugins on the synthetic letter-choice task: steps are
// logged and saved with the algorithm's state; two Gloo ranks make the same update as one
// process with the whole batch; a run killed with SIGKILL resumes with the same rollouts
// and losses; bad algorithms, options and tasks are refused with the reason.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "host_process.hpp"
#include "nanochat/tensor_io.hpp"
#include "step_log.hpp"
#include "tiny_base.hpp"

namespace fs = std::filesystem;
using nanochat::test::HostResult;

namespace {

const std::string kHost = NANOCHAT_TEST_HOST;

class RlTest : public nanochat::test::TinyBaseSuite<RlTest> {
 public:
  static constexpr int64_t kChars = 2000000;
  // A depth-2 base model (tag "t"), then a few SFT steps on the task that teach the answer
  // format, so rewards start between 0 and 1 and every update has advantages to follow.
  static std::string prepare(const nanochat::test::TinyBase& tiny) {
    HostResult base = tiny.run(nanochat::test::tiny_pretrain_args(2, 30, "t"));
    if (base.exit_code != 0) return base.err;
    HostResult sft = tiny.run({"run", "sft", "--source", "base", "--model-tag", "t", "--mixture", "letter-choice",
                               "--val-mixture", "letter-choice:test", "--max-seq-len", "256", "--device-batch-size", "8",
                               "--target-examples-per-step", "8", "--num-iterations", "40", "--eval-every", "-1",
                               "--eval-examples", "8", "--init-lr-frac", "1", "--device", "cpu", "--dtype", "fp32"});
    return sft.exit_code == 0 ? "" : sft.err;
  }

 protected:
  // An RL run from the tiny base model (tag "t"): 4 prompts × 4 samples per step, logging
  // to <log>.jsonl; `extra` adds flags, or replaces the value of one already there.
  static std::vector<std::string> rl_run(const std::string& algo, const std::string& log, int steps,
                                         const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"run", "rl", "--algo", algo, "--source", "sft", "--model-tag", "t",
                                     "--task", "letter-choice", "--eval-task", "letter-choice",
                                     "--examples-per-step", "4", "--num-samples", "4", "--max-new-tokens", "6",
                                     "--device-batch-size", "4", "--num-iterations", std::to_string(steps),
                                     "--eval-every", "-1", "--eval-examples", "4", "--eval-samples", "2",
                                     "--init-lr-frac", "1", "--device", "cpu", "--dtype", "fp32",
                                     "--log-file", log_path(log).string()};
    for (size_t i = 0; i < extra.size(); ++i) {
      auto at = std::find(args.begin(), args.end(), extra[i]);
      if (at != args.end() && extra[i] != "--algo-option" && i + 1 < extra.size()) {
        *(at + 1) = extra[++i];
      } else {
        args.push_back(extra[i]);
      }
    }
    return args;
  }

  static fs::path log_path(const std::string& name) { return tiny->root() / (name + ".jsonl"); }
  static fs::path out_dir() { return tiny->base() / "chatrl_checkpoints" / "t"; }

  // Clears the stage's outputs and the logs so each test starts from the base model alone.
  static void fresh(const std::vector<std::string>& logs) {
    fs::remove_all(out_dir());
    for (const auto& log : logs) fs::remove(log_path(log));
  }

  static std::map<std::string, at::Tensor> weights(const fs::path& file) {
    std::map<std::string, at::Tensor> by_name;
    for (auto& [name, tensor] : nanochat::load_tensors(file, at::kCPU).tensors) by_name[name] = tensor;
    return by_name;
  }

  void killed_run_resumes_exactly(const std::string& algo, const std::vector<std::string>& options) {
    const std::string straight = algo + "-straight", killed = algo + "-killed";
    fresh({straight, killed});
    HostResult whole = tiny->run(rl_run(algo, straight, 6, options));
    ASSERT_EQ(whole.exit_code, 0) << whole.err;
    fresh({killed});

    auto args = rl_run(algo, killed, 6, options);
    args.insert(args.end(), {"--save-every", "2"});
    ASSERT_EQ(nanochat::test::kill_when_logged(kHost, args, tiny->env(), log_path(killed), 3), "");
    ASSERT_TRUE(fs::exists(out_dir() / "meta_000002.json"));
    ASSERT_FALSE(fs::exists(out_dir() / "meta_000006.json"));

    args.insert(args.end(), {"--resume-from-step", "auto"});
    HostResult resumed = tiny->run(args);
    ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
    EXPECT_NE(resumed.err.find("resumed from step"), std::string::npos) << resumed.err;
    const auto expected = nanochat::test::read_step_log(log_path(straight));
    const auto got = nanochat::test::read_step_log(log_path(killed));  // the resumed run rewrote the steps after its checkpoint
    ASSERT_EQ(got.size(), 6u);
    for (int64_t step = 0; step < 6; ++step) {
      for (const char* field : {"reward", "loss", "seq_len", "kl"}) {
        EXPECT_EQ(got.at(step).at(field), expected.at(step).at(field)) << algo << " step " << step << " " << field;
      }
    }
  }

  // The tensors of both runs after 2 steps differ from each other by far less than the
  // updates moved them: rows split over two processes and gradients averaged by a
  // collective change only the order of fp32 sums (≈ 1e-7 relative per sum), which the
  // optimizers carry into the update at about that size; 1e-3 of the update is a wide
  // margin for that on any CPU, and far below what a wrong normalisation across ranks
  // (rows weighted per rank rather than per token of the whole batch) would leave.
  void two_ranks_match_one_process(const std::string& algo, const std::vector<std::string>& options) {
    fresh({algo + "-world1", algo + "-world2"});
    HostResult single = tiny->run(rl_run(algo, algo + "-world1", 2, options));
    ASSERT_EQ(single.exit_code, 0) << single.err;
    const auto one = weights(out_dir() / "model_000002.safetensors");
    fresh({});
    std::vector<std::string> launch = {"launch", "--nproc", "2", "--master-port", "29651", "--"};
    auto args = rl_run(algo, algo + "-world2", 2, options);
    launch.insert(launch.end(), args.begin(), args.end());
    HostResult pair = tiny->run(launch);
    ASSERT_EQ(pair.exit_code, 0) << pair.err;
    const auto two = weights(out_dir() / "model_000002.safetensors");
    const auto start = weights(tiny->base() / "chatsft_checkpoints" / "t" / "model_000040.safetensors");
    EXPECT_EQ(nanochat::test::step_values(log_path(algo + "-world1"), "reward").at(0),
              nanochat::test::step_values(log_path(algo + "-world2"), "reward").at(0))
        << "the same prompts and seeds sample the same rollouts";
    for (const auto& [name, before] : start) {
      const double moved = (one.at(name) - before).abs().max().item<double>();
      const double apart = (two.at(name) - one.at(name)).abs().max().item<double>();
      EXPECT_GT(moved, 0.0) << name << " was not trained";
      EXPECT_LE(apart, 1e-3 * moved) << algo << " " << name << ": two ranks moved it " << apart << " away from one process";
    }
  }
};

TEST_F(RlTest, GrpoLogsStepsEvaluatesAndSaves) {
  fresh({"grpo-run"});
  HostResult r = tiny->run(rl_run("grpo", "grpo-run", 3));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto log = nanochat::test::read_step_log(log_path("grpo-run"));
  ASSERT_EQ(log.size(), 3u);
  for (const auto& [step, row] : log) {
    EXPECT_GE(row.at("reward").get<double>(), 0.0);
    EXPECT_LE(row.at("reward").get<double>(), 1.0);
    EXPECT_GT(row.at("seq_len").get<double>(), 0.0);
  }
  EXPECT_NE(r.err.find("pass@2"), std::string::npos) << r.err;
  const auto meta = nlohmann::json::parse(std::ifstream(out_dir() / "meta_000003.json"));
  EXPECT_EQ(meta["rl"]["algo"], "grpo");
  EXPECT_EQ(meta["source"]["stage"], "sft");
  EXPECT_TRUE(fs::exists(out_dir() / "model_000003.safetensors"));
  EXPECT_TRUE(fs::exists(tiny->base() / "report" / "chat-rl.md"));
}

TEST_F(RlTest, GrpoKilledRunResumesExactly) { killed_run_resumes_exactly("grpo", {}); }
TEST_F(RlTest, PpoKilledRunResumesExactly) {
  killed_run_resumes_exactly("ppo", {"--algo-option", "kl-target=0.01", "--algo-option", "value-head=1",
                                     "--algo-option", "epochs=2", "--algo-option", "minibatches=2"});
}
TEST_F(RlTest, GrpoTwoGlooRanksMatchOneProcess) { two_ranks_match_one_process("grpo", {}); }
TEST_F(RlTest, PpoTwoGlooRanksMatchOneProcess) {
  two_ranks_match_one_process("ppo", {"--algo-option", "epochs=2", "--algo-option", "minibatches=2"});
}

TEST_F(RlTest, UnknownAlgorithmListsTheInstalledOnes) {
  HostResult r = tiny->run(rl_run("no-such-algo", "bad-algo", 1));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("no-such-algo"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("grpo"), std::string::npos) << "the installed algorithms are listed: " << r.err;
}

TEST_F(RlTest, BadAlgorithmOptionIsRefused) {
  HostResult unknown = tiny->run(rl_run("grpo", "bad-option", 1, {"--algo-option", "no-such-option=1"}));
  EXPECT_EQ(unknown.exit_code, 2) << unknown.err;
  EXPECT_NE(unknown.err.find("no-such-option"), std::string::npos) << unknown.err;
  HostResult range = tiny->run(rl_run("ppo", "bad-range", 1, {"--algo-option", "clip-low=-1"}));
  EXPECT_EQ(range.exit_code, 2) << range.err;
  EXPECT_NE(range.err.find("clip-low"), std::string::npos) << range.err;
}

TEST_F(RlTest, TaskWithoutRewardIsRefused) {
  HostResult r = tiny->run(rl_run("grpo", "no-reward", 1, {"--task", "identity"}));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("no reward"), std::string::npos) << r.err;
}

}  // namespace
