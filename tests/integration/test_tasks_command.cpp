// `nanochat tasks list|show` end to end: the real binary over the real task plugins and the
// shared data; errors are one line with exit code 2.
#include <gtest/gtest.h>

#include "../unit/tokenizer_test_support.hpp"
#include "bpe_tokenizer.hpp"
#include "host_process.hpp"

namespace fs = std::filesystem;
using nanochat::test::HostResult;
using nanochat::test::ScratchDir;

namespace {

class TasksCommand : public ::testing::Test {
 protected:
  ScratchDir scratch;
  std::vector<std::pair<std::string, std::string>> env;

  void SetUp() override {
    fs::create_directories(scratch.path / "home");
    env = {{"NANOCHAT_BASE_DIR", (scratch.path / "base").string()},
           {"XDG_DATA_HOME", (scratch.path / "xdg").string()},
           {"HOME", (scratch.path / "home").string()},
           {"NANOCHAT_PLUGIN_PATH", ""}};
  }

  HostResult nanochat(const std::vector<std::string>& args) {
    return nanochat::test::run_host(NANOCHAT_TEST_HOST, args, env);
  }

  // A tokenizer of the 256 bytes and the special tokens, where the host looks for one.
  void save_byte_tokenizer() {
    std::vector<std::string> tokens;
    for (int b = 0; b < 256; ++b) tokens.emplace_back(1, static_cast<char>(b));
    nanochat::bpe::BpeTokenizer(nanochat::bpe::kSplitPattern, tokens,
                                {nanochat::kSpecialTokens.begin(), nanochat::kSpecialTokens.end()})
        .save(scratch.path / "base" / "tokenizer");
  }
};

}  // namespace

TEST_F(TasksCommand, ListsEveryTaskWithItsSplitSizes) {
  NANOCHAT_REQUIRE_SHARED_DATA(data);
  env.emplace_back("NANOCHAT_DATA_DIR", data.string());
  const HostResult r = nanochat({"tasks", "list"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* row : {"gsm8k            generative   train 7473, test 1319",
                          "mmlu             categorical  dev 285, test 14042",
                          "identity         none         train 946, test 50, all 996",
                          "chat-jsonl       none         needs =PATH", "spellingbee      generative   train 1000, test 1000"}) {
    EXPECT_NE(r.out.find(row), std::string::npos) << row << "\n" << r.out;
  }
}

TEST_F(TasksCommand, ShowsConversationsAndTheLossMask) {
  NANOCHAT_REQUIRE_SHARED_DATA(data);
  HostResult r = nanochat({"tasks", "show", "gsm8k:test", "-n", "2", "--task-data-dir", data.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("=== gsm8k:test #0 (of 1319) ==="), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("=== gsm8k:test #1 (of 1319) ==="), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("#2 (of"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("It takes 2/2=<|python_start|>2/2<|python_end|><|output_start|>1<|output_end|>1 bolt"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("no tokenizer in"), std::string::npos) << r.out;

  save_byte_tokenizer();
  r = nanochat({"tasks", "show", "arc-easy", "--split", "dev", "--offset", "5", "-n", "1", "--task-data-dir", data.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("=== arc-easy:dev #5 (of 570) ==="), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[letters] A B C D"), std::string::npos) << r.out;
  // The answer letter and <|assistant_end|> are the only targets; the rest is bracketed.
  EXPECT_NE(r.out.find("[<|bos|><|user_start|>Multiple Choice question: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("<|user_end|><|assistant_start|>]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(", 2 trained on;"), std::string::npos) << r.out;
}

TEST_F(TasksCommand, ShowsAMixtureInItsShuffledOrder) {
  NANOCHAT_REQUIRE_SHARED_DATA(data);
  env.emplace_back("NANOCHAT_DATA_DIR", data.string());
  const HostResult r = nanochat({"tasks", "show", "gsm8k:test[:3],identity:test*2", "-n", "200"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // 3 + 2 x 50 examples, each once, labelled with its part.
  EXPECT_NE(r.out.find("=== mixture #0 (of 103): "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("=== mixture #102 (of 103): "), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("=== mixture #103 "), std::string::npos) << r.out;
  for (const char* label : {"gsm8k:test[:3] #0 ===", "gsm8k:test[:3] #2 ===", "identity:test #49 ==="}) {
    EXPECT_NE(r.out.find(label), std::string::npos) << label;
  }
}

TEST_F(TasksCommand, BadRequestsAreOneLineUsageErrors) {
  NANOCHAT_REQUIRE_SHARED_DATA(data);
  env.emplace_back("NANOCHAT_DATA_DIR", data.string());
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"tasks", "show", "smoltalk"}, "no task plugin named 'smoltalk' is installed (installed: alpaca, arc-challenge"},
      {{"tasks", "show", "mmlu", "--split", "train"}, "task mmlu has no split 'train' (splits: dev, test)"},
      {{"tasks", "show", "gsm8k:test", "--offset", "1319"}, "--offset 1319 is past the end of gsm8k:test"},
      {{"tasks", "show", "gsm8k,gsm8k:test[:5000]"}, "asks for examples up to 5000, but gsm8k:test has 1319"},
      {{"tasks", "frobnicate"}, "unknown tasks subcommand"},
  };
  for (const auto& [args, message] : cases) {
    const HostResult r = nanochat(args);
    EXPECT_EQ(r.exit_code, 2) << args.back();
    EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}
