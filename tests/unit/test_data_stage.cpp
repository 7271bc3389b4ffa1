// `nanochat run data` end to end: the real host and plugins train a small tokenizer, tokenize real
// corpora from shared/data into shards, and the shards decode back to exactly the documents
// (BOS before each, the last shard val); --max-chars, small --shard-tokens, a rerun over older
// shards, a Parquet input, and the errors a user meets first.
#include <gtest/gtest.h>

#include "../integration/host_process.hpp"
#include "nanochat/corpus.hpp"
#include "nanochat/parquet_reader.hpp"
#include "nanochat/plugin_registry.hpp"
#include "nanochat/token_shard.hpp"
#include "nanochat/tokenizer.hpp"
#include "nanochat/utf8.hpp"

namespace fs = std::filesystem;
using namespace nanochat;
using nanochat::test::HostResult;
using nanochat::test::read_text;

namespace {

const fs::path kBuild = NANOCHAT_TEST_BINARY_DIR;
const fs::path kData = fs::path(NANOCHAT_TEST_SHARED_DIR) / "data";
const fs::path kPlugins = kBuild / "lib" / "nanochat" / "plugins";

struct Documents {
  std::vector<std::string> texts;
  TokenShardIndex index;
};

class DataStage : public ::testing::Test {
 protected:
  // One tokenizer for the whole suite: training it is the slow part.
  static inline nanochat::test::ScratchDir* scratch = nullptr;
  static inline std::string skip_reason;   // only for missing shared data
  static inline std::string setup_failure;  // anything else that broke: every test fails with it
  static inline std::shared_ptr<Tokenizer> tokenizer;

  static std::vector<std::pair<std::string, std::string>> env() {
    return {{"NANOCHAT_BASE_DIR", (scratch->path / "base").string()},
            {"NANOCHAT_PLUGIN_PATH", kPlugins.string()},
            {"XDG_DATA_HOME", (scratch->path / "xdg").string()}};
  }

  static HostResult nanochat(const std::vector<std::string>& args) {
    return nanochat::test::run_host((kBuild / "bin" / "nanochat").string(), args, env());
  }

  static void SetUpTestSuite() {
    if (!fs::is_directory(kData)) {
      skip_reason = "no shared data at " + kData.string();
      return;
    }
    // The plugins are this test's build dependencies: one missing is a broken build, not a skip.
    for (const char* plugin : {"libnanochat-stage-tokenizer.so", "libnanochat-stage-data.so",
                               "libnanochat-tokenizer-bpe.so"}) {
      if (!fs::exists(kPlugins / plugin)) {
        setup_failure = std::string(plugin) + " is not built in " + kPlugins.string();
        return;
      }
    }
    scratch = new nanochat::test::ScratchDir();
    HostResult trained = nanochat({"run", "tokenizer", "--corpus", (kData / "pretrain_tinyshakespeare").string(),
                                   "--vocab-size", "512", "--doc-cap", "0", "--eval-docs", "0"});
    if (trained.exit_code != 0) {
      setup_failure = "`nanochat run tokenizer` failed with exit code " + std::to_string(trained.exit_code) + ": " + trained.err;
      return;
    }
    try {
      PluginRegistry::instance().set_search_dirs({kPlugins});
      tokenizer = PluginRegistry::instance().create<Tokenizer>(PluginKind::tokenizer, "bpe");
      tokenizer->load(scratch->path / "base" / "tokenizer");
    } catch (const std::exception& e) {
      setup_failure = std::string("loading the trained tokenizer failed: ") + e.what();
    }
  }

  static void TearDownTestSuite() {
    tokenizer.reset();
    delete scratch;
    scratch = nullptr;
  }

  void SetUp() override {
    if (!skip_reason.empty()) GTEST_SKIP() << skip_reason;
    ASSERT_TRUE(setup_failure.empty()) << setup_failure;
  }

  // Every shard of `dir` in index order, as one stream cut at each BOS and decoded.
  static Documents decode_shards(const fs::path& dir) {
    Documents docs;
    docs.index = TokenShardIndex::load(dir);
    const TokenId bos = tokenizer->special_id(special_tokens::bos);
    EXPECT_EQ(docs.index.bos_id, bos);
    EXPECT_EQ(docs.index.tokenizer_fingerprint, tokenizer_fingerprint(*tokenizer));
    std::vector<TokenId> stream;
    for (const TokenShardEntry& entry : docs.index.shards) {
      TokenShard shard(dir / entry.file);
      EXPECT_EQ(shard.header().tokens, entry.tokens);
      EXPECT_EQ(shard.header().vocab_size, tokenizer->vocab_size());
      const std::vector<TokenId> tokens = shard.read(0, shard.size());
      EXPECT_EQ(static_cast<uint64_t>(std::count(tokens.begin(), tokens.end(), bos)), entry.documents);
      stream.insert(stream.end(), tokens.begin(), tokens.end());
    }
    EXPECT_FALSE(stream.empty());
    EXPECT_EQ(stream.front(), bos);
    std::vector<TokenId> current;
    for (size_t i = 1; i <= stream.size(); ++i) {
      if (i == stream.size() || stream[i] == bos) {
        docs.texts.push_back(tokenizer->decode(current));
        current.clear();
      } else {
        current.push_back(stream[i]);
      }
    }
    return docs;
  }

  static std::vector<std::string> read_corpus(const fs::path& path, size_t limit) {
    CorpusOptions options;
    options.doc_cap = 0;
    CorpusReader reader(path, options);
    std::vector<std::string> docs;
    std::string doc;
    while (docs.size() < limit && reader.next(doc)) docs.push_back(doc);
    return docs;
  }
};

TEST_F(DataStage, TinyShakespeareDecodesBackToTheText) {
  HostResult r = nanochat({"run", "data", "--corpus", (kData / "pretrain_tinyshakespeare").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("tokenized 1 documents"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("MB/s"), std::string::npos) << r.out;

  const Documents docs = decode_shards(scratch->path / "base" / "base_data");
  ASSERT_EQ(docs.texts.size(), 1u);
  EXPECT_EQ(docs.texts[0], read_text(kData / "pretrain_tinyshakespeare" / "input.txt"));
  // One document still gives a train and a val split: the val shard is the stream's last tenth.
  ASSERT_GE(docs.index.shards.size(), 2u);
  EXPECT_EQ(docs.index.shards.back().split, DataSplit::val);
  EXPECT_EQ(docs.index.split(DataSplit::val).size(), 1u);
  const uint64_t total = docs.index.split_tokens(DataSplit::train) + docs.index.split_tokens(DataSplit::val);
  EXPECT_NEAR(static_cast<double>(docs.index.split_tokens(DataSplit::val)), total / 10.0, 1.0);
  EXPECT_EQ(docs.index.vocab_size, 512u);
}

TEST_F(DataStage, JsonlWithMaxCharsAndSmallShardsThenARerun) {
  const fs::path out = scratch->path / "nltk";
  const fs::path corpus = kData / "pretrain_nltk_modern";
  HostResult r = nanochat({"run", "data", "--corpus", corpus.string(), "--max-chars", "300000", "--shard-tokens",
                           "20000", "--out-dir", out.string(), "--threads", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  const Documents docs = decode_shards(out);
  const std::vector<std::string> expected = read_corpus(corpus, docs.texts.size() + 1);
  ASSERT_GT(expected.size(), docs.texts.size()) << "the cap should have stopped before the end";
  uint64_t chars = 0;
  for (size_t i = 0; i < docs.texts.size(); ++i) {
    ASSERT_EQ(docs.texts[i], expected[i]) << "document " << i;
    EXPECT_LT(chars, 300000u) << "document " << i << " was read after the cap";
    chars += utf8_length(expected[i]);
  }
  EXPECT_GE(chars, 300000u);
  ASSERT_GE(docs.index.shards.size(), 4u);
  for (size_t i = 0; i + 1 < docs.index.shards.size(); ++i) EXPECT_EQ(docs.index.shards[i].split, DataSplit::train);
  EXPECT_EQ(docs.index.shards.back().split, DataSplit::val);
  EXPECT_LE(docs.index.shards.back().tokens, 20000u);

  // A rerun with bigger shards replaces the folder's contents: no shard of the first run is left.
  HostResult again = nanochat({"run", "data", "--corpus", corpus.string(), "--max-chars", "300000",
                               "--shard-tokens", "1000000", "--out-dir", out.string()});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  const Documents redone = decode_shards(out);
  EXPECT_EQ(redone.texts, docs.texts);
  EXPECT_EQ(redone.index.shards.size(), 2u);
  size_t files = 0;
  for (const auto& entry : fs::directory_iterator(out)) files += entry.path().extension() == ".bin";
  EXPECT_EQ(files, 2u);
}

TEST_F(DataStage, ReadsAParquetStringColumn) {
  // alltypes_plain.parquet (apache/parquet-testing) has a string column date_string_col.
  const fs::path file = kData / "parquet_testing" / "data" / "alltypes_plain.parquet";
  const std::string column = "date_string_col";
  if (!fs::exists(file)) GTEST_SKIP() << "no " << file;
  std::vector<std::string> expected;
  {
    ParquetReader reader(file.string(), column);
    for (size_t g = 0; g < reader.num_row_groups(); ++g) {
      for (std::string& text : reader.read_row_group(g)) expected.push_back(std::move(text));
    }
  }
  ASSERT_FALSE(expected.empty());
  const fs::path out = scratch->path / "parquet";
  HostResult r = nanochat({"run", "data", "--corpus", file.string(), "--text-field", column, "--out-dir", out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(decode_shards(out).texts, expected);

  HostResult wrong = nanochat({"run", "data", "--corpus", file.string(), "--out-dir", out.string()});
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_NE(wrong.err.find("text"), std::string::npos) << wrong.err;
}

TEST_F(DataStage, ClearErrors) {
  HostResult no_corpus = nanochat({"run", "data"});
  EXPECT_EQ(no_corpus.exit_code, 2);
  EXPECT_NE(no_corpus.err.find("--corpus"), std::string::npos) << no_corpus.err;

  HostResult no_tokenizer = nanochat({"run", "data", "--corpus", (kData / "pretrain_tinyshakespeare").string(),
                                      "--tokenizer-dir", (scratch->path / "nothing").string()});
  EXPECT_EQ(no_tokenizer.exit_code, 1);
  EXPECT_NE(no_tokenizer.err.find("nanochat run tokenizer"), std::string::npos) << no_tokenizer.err;

  // Failed runs leave an earlier run's shards usable: nothing is touched before the checks.
  const fs::path out = scratch->path / "kept";
  const std::string corpus = (kData / "pretrain_tinyshakespeare").string();
  ASSERT_EQ(nanochat({"run", "data", "--corpus", corpus, "--out-dir", out.string()}).exit_code, 0);
  const std::string index = read_text(out / "index.json");

  HostResult missing = nanochat({"run", "data", "--corpus", (scratch->path / "absent").string(), "--out-dir",
                                 out.string()});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("absent"), std::string::npos) << missing.err;

  HostResult bad_fraction = nanochat({"run", "data", "--corpus", corpus, "--val-fraction", "1", "--out-dir",
                                      out.string()});
  EXPECT_EQ(bad_fraction.exit_code, 2);
  EXPECT_NE(bad_fraction.err.find("--val-fraction"), std::string::npos) << bad_fraction.err;
  EXPECT_EQ(read_text(out / "index.json"), index);
}

}  // namespace
