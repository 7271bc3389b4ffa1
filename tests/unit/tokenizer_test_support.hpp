// Shared by the tokenizer tests: the documents of ../shared/data/pretrain_*, and running
// the Python oracle (tests/oracles/tokenizer_oracle.py: `regex`, `tiktoken`) with the
// oracle venv's python, found as $NANOCHAT_ORACLE_PYTHON or at the path setup.sh uses.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "nanochat/corpus.hpp"

namespace nanochat::test {

// Documents from memory.
class VectorSource : public DocumentSource {
 public:
  explicit VectorSource(const std::vector<std::string>& docs) : docs_(docs) {}
  bool next(std::string& document) override {
    if (index_ == docs_.size()) return false;
    document = docs_[index_++];
    return true;
  }

 private:
  const std::vector<std::string>& docs_;
  size_t index_ = 0;
};

// ../shared/data, or nothing when the shared folder is absent.
std::optional<std::filesystem::path> shared_data_dir();

// Every document of the pretrain_* corpora (whole, no cap), in reading order.
std::vector<std::string> pretrain_documents(const std::filesystem::path& data_dir);

// The oracle's python, or nothing when it is not installed.
std::optional<std::filesystem::path> oracle_python();
std::string oracle_missing_message();

// Runs the oracle with `args`; throws with its exit code on failure.
void run_oracle(const std::filesystem::path& python, const std::vector<std::string>& args);

// Hand-picked texts where splitters tend to differ: contractions, digit runs, CJK, emoji,
// \r\n, long whitespace, combining marks, control characters, special-token look-alikes.
std::vector<std::string> edge_case_texts();

// DOCS files for the oracle: one {"text": ...} per line.
void write_docs_jsonl(const std::filesystem::path& file, const std::vector<std::string>& docs);

// The oracle's OUT files: one line of space-separated integers per document.
std::vector<std::vector<int64_t>> read_int_lines(const std::filesystem::path& file);

}  // namespace nanochat::test

// Skips the test (with the reason) when the shared data or the oracle are missing.
#define NANOCHAT_REQUIRE_SHARED_DATA(var)                                                \
  const auto var##_opt = ::nanochat::test::shared_data_dir();                            \
  if (!var##_opt) GTEST_SKIP() << "../shared/data is missing: the corpus tests need it"; \
  const std::filesystem::path var = *var##_opt

#define NANOCHAT_REQUIRE_ORACLE(var)                                          \
  const auto var##_opt = ::nanochat::test::oracle_python();                   \
  if (!var##_opt) GTEST_SKIP() << ::nanochat::test::oracle_missing_message(); \
  const std::filesystem::path var = *var##_opt
