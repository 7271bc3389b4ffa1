// The tokenizer stage: its held-out split (never trained on, tail of each corpus, with
// and without --max-chars), and `nanochat run tokenizer` end to end on two real corpora,
// then the saved tokenizer loaded back through the bpe plugin.
#include <gtest/gtest.h>

#include "nanochat/plugin_registry.hpp"
#include "nanochat/tokenizer.hpp"
#include "tokenizer_test_support.hpp"
#include "training_stream.hpp"

#include "../integration/host_process.hpp"

namespace fs = std::filesystem;
using nanochat::tokenizer_stage::TrainingStream;

namespace {

void write_numbered_docs(const fs::path& file, const std::string& prefix, int count) {
  std::string text;
  for (int i = 0; i < count; ++i) text += "{\"text\": \"" + prefix + std::to_string(i) + "\"}\n";
  nanochat::test::write_text(file, text);
}

std::vector<std::string> drain(TrainingStream& stream) {
  std::vector<std::string> docs;
  std::string doc;
  while (stream.next(doc)) docs.push_back(doc);
  return docs;
}

}  // namespace

TEST(TokenizerStage, HoldsOutTheTailOfEachCorpus) {
  nanochat::test::ScratchDir scratch;
  write_numbered_docs(scratch.path / "a.jsonl", "a", 10);
  write_numbered_docs(scratch.path / "b.jsonl", "b", 5);
  TrainingStream stream({scratch.path / "a.jsonl", scratch.path / "b.jsonl"}, {}, 0, 3);
  EXPECT_EQ(drain(stream), (std::vector<std::string>{"a0", "a1", "a2", "a3", "a4", "a5", "a6", "b0", "b1"}));
  EXPECT_EQ(stream.parts()[0].held_out, (std::vector<std::string>{"a7", "a8", "a9"}));
  EXPECT_EQ(stream.parts()[1].held_out, (std::vector<std::string>{"b2", "b3", "b4"}));
  EXPECT_EQ(stream.parts()[0].train_documents, 7u);
}

TEST(TokenizerStage, WithMaxCharsHoldsOutTheDocumentsAfterTheLastOneTrainedOn) {
  nanochat::test::ScratchDir scratch;
  write_numbered_docs(scratch.path / "a.jsonl", "a", 10);
  write_numbered_docs(scratch.path / "b.jsonl", "b", 5);
  TrainingStream stream({scratch.path / "a.jsonl", scratch.path / "b.jsonl"}, {}, 5, 3);
  EXPECT_EQ(drain(stream), (std::vector<std::string>{"a0", "a1", "a2"}));  // 6 characters: past 5
  EXPECT_EQ(stream.parts()[0].held_out, (std::vector<std::string>{"a3", "a4", "a5"}));
  EXPECT_EQ(stream.parts()[1].held_out, (std::vector<std::string>{"b0", "b1", "b2"}));
  EXPECT_EQ(stream.parts()[1].train_documents, 0u);
}

TEST(TokenizerStage, RunsEndToEndAndTheTokenizerLoadsBack) {
  NANOCHAT_REQUIRE_SHARED_DATA(data);
  nanochat::test::ScratchDir scratch;
  const fs::path host = fs::path(NANOCHAT_TEST_BINARY_DIR) / "bin/nanochat";
  const fs::path plugins = fs::path(NANOCHAT_TEST_BINARY_DIR) / "lib/nanochat/plugins";
  const auto result = nanochat::test::run_host(
      host.string(),
      {"run", "tokenizer", "--corpus", (data / "pretrain_nltk_modern").string(), "--corpus",
       (data / "pretrain_gutenberg").string(), "--vocab-size", "1024", "--max-chars", "2000000", "--eval-docs", "20"},
      {{"NANOCHAT_BASE_DIR", (scratch.path / "base").string()}, {"NANOCHAT_PLUGIN_PATH", plugins.string()}});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("bytes/token"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("pretrain_gutenberg"), std::string::npos) << result.out;
  const fs::path dir = scratch.path / "base/tokenizer";
  const std::string report = nanochat::test::read_text(scratch.path / "base/report/tokenizer.md");
  EXPECT_NE(report.find("| bytes/token |"), std::string::npos) << report;

  nanochat::PluginRegistry::instance().set_search_dirs({plugins});
  auto tokenizer =
      nanochat::PluginRegistry::instance().create<nanochat::Tokenizer>(nanochat::PluginKind::tokenizer, "bpe");
  tokenizer->load(dir);
  EXPECT_EQ(tokenizer->vocab_size(), 1024u);
  EXPECT_EQ(nanochat::load_token_bytes(dir).size(), 1024u);
  const std::string text = "The tokenizer stage works end to end.";
  EXPECT_EQ(tokenizer->decode(tokenizer->encode(text)), text);
  EXPECT_LT(tokenizer->encode(text).size(), text.size());
}
