// BPE training: merges worked out by hand on small corpora, agreement with a naive
// reference trainer (recount every pair before every merge), tie-breaking, early stop, and
// determinism across thread counts.
#include <gtest/gtest.h>

#include <map>

#include "bpe_tokenizer.hpp"
#include "bpe_trainer.hpp"
#include "chunk_counter.hpp"
#include "nanochat/error.hpp"
#include "tokenizer_test_support.hpp"

#include "../integration/host_process.hpp"

namespace fs = std::filesystem;
using namespace nanochat::bpe;
using nanochat::test::VectorSource;

namespace {

std::vector<Merge> train_merges(const std::vector<std::string>& docs, uint32_t num_merges, unsigned threads = 1) {
  VectorSource source(docs);
  const auto splitter = make_fast_splitter();
  return learn_merges(*count_chunks(source, *splitter, threads), num_merges);
}

// The definition, without incremental updates: count all pairs, merge the most frequent
// (ties to the smaller pair) left to right in every word, repeat.
std::vector<Merge> naive_merges(const std::vector<std::string>& docs, uint32_t num_merges) {
  VectorSource source(docs);
  const auto splitter = make_fast_splitter();
  std::vector<std::pair<std::vector<uint32_t>, int64_t>> words;
  count_chunks(source, *splitter, 1)->for_each([&](std::string_view chunk, int64_t count) {
    words.push_back({std::vector<uint32_t>(chunk.begin(), chunk.end()), count});
    for (uint32_t& id : words.back().first) id &= 0xFF;
  });
  std::vector<Merge> merges;
  while (merges.size() < num_merges) {
    std::map<Merge, int64_t> counts;
    for (const auto& [ids, count] : words) {
      for (size_t i = 0; i + 1 < ids.size(); ++i) counts[{ids[i], ids[i + 1]}] += count;
    }
    Merge best{};
    int64_t best_count = 0;
    for (const auto& [pair, count] : counts) {
      if (count > best_count) best = pair, best_count = count;  // map order: ties keep the smaller pair
    }
    if (best_count == 0) break;
    const uint32_t new_id = 256 + static_cast<uint32_t>(merges.size());
    merges.push_back(best);
    for (auto& [ids, count] : words) {
      std::vector<uint32_t> out;
      for (size_t i = 0; i < ids.size(); ++i) {
        if (i + 1 < ids.size() && ids[i] == best.first && ids[i + 1] == best.second) {
          out.push_back(new_id);
          ++i;
        } else {
          out.push_back(ids[i]);
        }
      }
      ids = out;
    }
  }
  return merges;
}

}  // namespace

TEST(BpeTrainer, HandWorkedCorpus) {
  // Chunks: "abab" x2, "abc" x1. (a,b) occurs 2*2 + 1 = 5 times -> 256. Then "abab" is
  // [256 256] (x2) and "abc" is [256 c]: (256,256) has 2 -> 257, then (256,c) 1 -> 258.
  const std::vector<Merge> merges = train_merges({"abab", "abab\n", "abc"}, 10);
  EXPECT_EQ(merges, (std::vector<Merge>{{'a', 'b'}, {256, 256}, {256, 'c'}}));
}

TEST(BpeTrainer, MergesRunsLeftToRightWithoutOverlap) {
  // Chunks "aaa" x1 and " aaa" x2: (a,a) counts 2 + 2*2 = 6 -> 256, leaving [256 a] and
  // [' ' 256 a], not [a 256]; then (256,a) 3 -> 257, then (' ',257) 2 -> 258, then nothing.
  EXPECT_EQ(train_merges({"aaa aaa aaa"}, 5), (std::vector<Merge>{{'a', 'a'}, {256, 'a'}, {' ', 257}}));
}

TEST(BpeTrainer, TiesGoToTheSmallerPair) {
  EXPECT_EQ(train_merges({"cd", "ab"}, 2), (std::vector<Merge>{{'a', 'b'}, {'c', 'd'}}));
}

TEST(BpeTrainer, AgreesWithTheNaiveDefinition) {
  NANOCHAT_REQUIRE_SHARED_DATA(data);
  const std::string text = nanochat::test::read_text(data / "pretrain_tinyshakespeare/input.txt").substr(0, 60000);
  const std::vector<std::string> docs = {text.substr(0, 30000), text.substr(30000)};
  EXPECT_EQ(train_merges(docs, 300), naive_merges(docs, 300));
}

TEST(BpeTrainer, SameTokenizerWithOneAndTwoThreads) {
  NANOCHAT_REQUIRE_SHARED_DATA(data);
  nanochat::CorpusOptions options;
  options.max_chars = 4'000'000;
  nanochat::test::ScratchDir scratch;
  std::vector<std::string> files;
  for (unsigned threads : {1u, 2u}) {
    nanochat::CorpusReader reader(data / "pretrain_gutenberg", options);
    BpeTokenizer tokenizer;
    tokenizer.train(reader, {4096, threads, ""});
    const fs::path dir = scratch.path / std::to_string(threads);
    tokenizer.save(dir);
    files.push_back(nanochat::test::read_text(dir / "tokenizer.tiktoken") +
                    nanochat::test::read_text(dir / "tokenizer.json"));
  }
  EXPECT_EQ(files[0], files[1]);
}

TEST(BpeTrainer, StopsWhenTheTextRunsOutOfPairs) {
  std::vector<std::string> docs = {"abc"};
  VectorSource source(docs);
  BpeTokenizer tokenizer;
  tokenizer.train(source, {1000, 1, ""});
  EXPECT_EQ(tokenizer.vocab_size(), 256u + 2u + 9u);
  EXPECT_EQ(tokenizer.token_bytes(257), "abc");
  EXPECT_EQ(tokenizer.special_id("<|bos|>"), 258);
}

TEST(BpeTrainer, RefusesAVocabularyWithoutRoomForBytesAndSpecials) {
  std::vector<std::string> docs = {"abc"};
  VectorSource source(docs);
  BpeTokenizer tokenizer;
  EXPECT_THROW(tokenizer.train(source, {264, 1, ""}), nanochat::UsageError);
}
