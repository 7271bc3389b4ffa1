// A NANOCHAT_BASE_DIR holding a 512-token tokenizer and token shards made from real text
// (../shared/data/pretrain_nltk_modern) by the real host: the starting point of the
// integration tests of every stage that comes after `data`.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "host_process.hpp"

namespace nanochat::test {

class TinyBase {
 public:
  // Runs `nanochat run tokenizer` and `nanochat run data` on the first `max_chars`
  // characters. When the shared data is absent, skip_reason() says so and nothing runs;
  // when a stage fails, error() holds its stderr.
  explicit TinyBase(int64_t max_chars);

  const std::string& skip_reason() const { return skip_reason_; }
  const std::string& error() const { return error_; }

  const std::filesystem::path& root() const { return scratch_.path; }
  std::filesystem::path base() const { return scratch_.path / "base"; }
  // The environment of every host run: this base dir, only the build's plugins, one thread,
  // a machine cache of its own (measured once for all the runs of a suite).
  std::vector<std::pair<std::string, std::string>> env() const;
  HostResult run(const std::vector<std::string>& args) const;

  // A depth-1 model under base_checkpoints/<tag> (a few pretrain steps, 64-token rows), then,
  // with `sft`, fine-tuned a few steps on the chat tasks of `task_data_dir` into
  // chatsft_checkpoints/<tag>. Returns "" or the failing stage's stderr.
  std::string train_tiny_model(const std::string& tag, bool sft, const std::string& task_data_dir) const;

 private:
  ScratchDir scratch_;
  std::string skip_reason_;
  std::string error_;
};

// `run pretrain` of a tiny model on a TinyBase: depth `depth`, 64-token rows, 256 tokens per
// step, `steps` steps, fp32 on the CPU, saved under `tag`.
std::vector<std::string> tiny_pretrain_args(int depth, int steps, const std::string& tag);

// A test suite sharing one TinyBase of Suite::kChars characters, prepared once by
// Suite::prepare(tiny) (host runs such as pretraining; it returns "" or what failed). Each
// test skips when the shared data is absent and fails when making or preparing it did.
template <class Suite>
class TinyBaseSuite : public ::testing::Test {
 protected:
  static inline TinyBase* tiny = nullptr;
  static inline std::string prepare_error;

  static void SetUpTestSuite() {
    tiny = new TinyBase(Suite::kChars);
    if (tiny->skip_reason().empty() && tiny->error().empty()) prepare_error = Suite::prepare(*tiny);
  }
  static void TearDownTestSuite() {
    delete tiny;
    tiny = nullptr;
  }
  void SetUp() override {
    if (!tiny->skip_reason().empty()) GTEST_SKIP() << tiny->skip_reason();
    ASSERT_EQ(tiny->error(), "");
    ASSERT_EQ(prepare_error, "");
  }
};

}  // namespace nanochat::test
