// A NANOCHAT_BASE_DIR holding a 512-token tokenizer and token shards made from real text
// (../shared/data/pretrain_nltk_modern) by the real host: the starting point of the
// integration tests of every stage that comes after `data`.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

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

}  // namespace nanochat::test
