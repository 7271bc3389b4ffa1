// `nanochat run chat` (the `nanochat chat` alias) end to end through the real host: a
// tokenizer, shards and a few pretrain steps at depth 1 made here, then -p answers once and
// exits, the interactive loop obeys clear / quit, and bad flags or missing checkpoints end
// with a one-line error and a non-zero exit.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "host_process.hpp"
#include "tiny_base.hpp"

namespace fs = std::filesystem;
using nanochat::test::HostResult;
using nanochat::test::ScratchDir;

namespace {

const std::string kHost = NANOCHAT_TEST_HOST;

size_t count(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

class ChatTest : public ::testing::Test {
 protected:
  static inline nanochat::test::TinyBase* tiny = nullptr;
  static inline std::string pretrain_error;

  static void SetUpTestSuite() {
    tiny = new nanochat::test::TinyBase(500000);
    if (!tiny->skip_reason().empty() || !tiny->error().empty()) return;
    HostResult r = tiny->run({"run", "pretrain", "--depth", "1", "--max-seq-len", "64", "--device-batch-size", "4",
                              "--total-batch-size", "256", "--num-iterations", "20", "--eval-every", "-1",
                              "--sample-every", "-1", "--model-tag", "tiny", "--device", "cpu", "--dtype", "fp32"});
    if (r.exit_code != 0) pretrain_error = r.err;
  }

  static void TearDownTestSuite() {
    delete tiny;
    tiny = nullptr;
  }

  void SetUp() override {
    if (!tiny->skip_reason().empty()) GTEST_SKIP() << tiny->skip_reason();
    ASSERT_EQ(tiny->error(), "");
    ASSERT_EQ(pretrain_error, "");
  }

  static std::vector<std::pair<std::string, std::string>> env(const fs::path& base = {}) {
    return {{"NANOCHAT_BASE_DIR", (base.empty() ? tiny->base() : base).string()},
            {"NANOCHAT_PLUGIN_PATH", ""},
            {"OMP_NUM_THREADS", "1"}};
  }

  static HostResult chat(std::vector<std::string> args, const fs::path& base = {}) {
    args.insert(args.begin(), {"run", "chat"});
    return nanochat::test::run_host(kHost, args, env(base));
  }

  // The error ends the run as one line on stderr, with the exit code of its kind.
  static void expect_one_line_error(const HostResult& r, int exit_code, const std::string& part) {
    EXPECT_EQ(r.exit_code, exit_code) << r.err;
    EXPECT_NE(r.err.find(part), std::string::npos) << r.err;
    EXPECT_EQ(count(r.err, "\n"), 1u) << r.err;
  }
};

TEST_F(ChatTest, AnswersOnePromptAndExits) {
  const std::vector<std::string> args = {"-p", "Why is the sky blue?", "--max-tokens", "32", "--device", "cpu"};
  HostResult r = chat(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find_first_not_of(" \n"), std::string::npos) << "empty answer; stderr: " << r.err;
  EXPECT_NE(r.err.find("chat: base model"), std::string::npos) << r.err;  // the only stage with checkpoints
  EXPECT_EQ(chat(args).out, r.out) << "the same seed gives the same answer";
}

TEST_F(ChatTest, InteractiveLoopClearsAndQuits) {
  const std::string script = "printf 'Hello there\\nclear\\n\\nWhy?\\nquit\\nnever read\\n' | '" + kHost +
                             "' run chat --max-tokens 8 --temperature 0";
  HostResult r = nanochat::test::run_host("/bin/sh", {"-c", script}, env());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(count(r.out, "Assistant: "), 2u) << r.out;
  EXPECT_EQ(count(r.out, "User: "), 5u) << r.out;  // one per line read, up to quit
  EXPECT_NE(r.out.find("Conversation cleared."), std::string::npos) << r.out;
}

TEST_F(ChatTest, BadFlagsAreRefused) {
  expect_one_line_error(chat({"-p", "hi", "--temperature", "-1"}), 2, "--temperature");
  expect_one_line_error(chat({"-p", "hi", "--max-tokens", "0"}), 2, "--max-tokens");
  expect_one_line_error(chat({"-p", "hi", "--source", "final"}), 2, "unknown model source 'final'");
  EXPECT_EQ(chat({"-p", "hi", "--no-such-flag"}).exit_code, 2);
}

TEST_F(ChatTest, MissingCheckpointsSayWhatToRun) {
  ScratchDir empty;
  expect_one_line_error(chat({"-p", "hi"}, empty.path), 1, "run the pretrain stage first");
  expect_one_line_error(chat({"-p", "hi", "--source", "sft"}), 1, "chatsft_checkpoints: run the sft stage first");
  expect_one_line_error(chat({"-p", "hi", "--step", "12345"}), 1, "no step 12345");
  expect_one_line_error(chat({"-p", "hi", "--model-tag", "nope"}), 1, "no checkpoint folder");
}

}  // namespace
