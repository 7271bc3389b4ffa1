// Encoding: our ids equal tiktoken's when tiktoken is given our saved ranks, pattern and
// special tokens (which also proves the file format); decode(encode(x)) == x on every
// pretrain document and edge case; the heap form of the merge equals tiktoken's linear
// form; special tokens only when allowed; batches; token_bytes.
#include <gtest/gtest.h>

#include <random>

#include "bpe_tokenizer.hpp"
#include "nanochat/error.hpp"
#include "tokenizer_test_support.hpp"

#include "../integration/host_process.hpp"

namespace fs = std::filesystem;
using namespace nanochat::bpe;
using nanochat::TokenId;

namespace {

// A 4096-token vocabulary from 4M characters of Gutenberg.
BpeTokenizer trained_tokenizer(const fs::path& data) {
  nanochat::CorpusOptions options;
  options.max_chars = 4'000'000;
  nanochat::CorpusReader reader(data / "pretrain_gutenberg", options);
  BpeTokenizer tokenizer;
  tokenizer.train(reader, {4096, 0, ""});
  return tokenizer;
}

// A vocabulary of the 256 bytes plus a few merges, for tests that need no corpus. Used
// through the interface, as callers do (its default arguments live there).
std::unique_ptr<nanochat::Tokenizer> small_tokenizer() {
  std::vector<std::string> tokens;
  for (int b = 0; b < 256; ++b) tokens.emplace_back(1, static_cast<char>(b));
  for (const char* merged : {"he", "ll", "hell", "hello", " w", "or", " wor", "ld", " world", "aa", "aaaa"}) {
    tokens.emplace_back(merged);
  }
  return std::make_unique<BpeTokenizer>(
      kSplitPattern, tokens,
      std::vector<std::string>{nanochat::kSpecialTokens.begin(), nanochat::kSpecialTokens.end()});
}

std::vector<std::vector<TokenId>> as_ids(const std::vector<std::vector<int64_t>>& lines) {
  std::vector<std::vector<TokenId>> out;
  for (const auto& line : lines) out.emplace_back(line.begin(), line.end());
  return out;
}

void expect_tiktoken_agrees(const fs::path& python, const BpeTokenizer& tokenizer, const std::vector<std::string>& docs,
                            bool allow_special) {
  nanochat::test::ScratchDir scratch;
  tokenizer.save(scratch.path / "tok");
  nanochat::test::write_docs_jsonl(scratch.path / "docs.jsonl", docs);
  std::vector<std::string> args = {"encode", (scratch.path / "tok").string(), (scratch.path / "docs.jsonl").string(),
                                   (scratch.path / "out").string()};
  if (allow_special) args.push_back("--allow-special");
  nanochat::test::run_oracle(python, args);
  const auto expected = as_ids(nanochat::test::read_int_lines(scratch.path / "out"));
  ASSERT_EQ(expected.size(), docs.size());
  const auto ours = tokenizer.encode_batch(docs, allow_special, std::nullopt, 0);
  int misses = 0;
  for (size_t i = 0; i < docs.size() && misses < 5; ++i) {
    if (ours[i] != expected[i]) {
      ++misses;
      ADD_FAILURE() << "document " << i << " encodes differently from tiktoken: " << docs[i].substr(0, 200);
    }
  }
}

}  // namespace

TEST(BpeEncoder, MatchesTiktokenOnEveryPretrainDocument) {
  NANOCHAT_REQUIRE_SHARED_DATA(data);
  NANOCHAT_REQUIRE_ORACLE(python);
  expect_tiktoken_agrees(python, trained_tokenizer(data), nanochat::test::pretrain_documents(data), false);
}

TEST(BpeEncoder, MatchesTiktokenOnEdgeCasesWithAndWithoutSpecials) {
  NANOCHAT_REQUIRE_SHARED_DATA(data);
  NANOCHAT_REQUIRE_ORACLE(python);
  const BpeTokenizer tokenizer = trained_tokenizer(data);
  std::vector<std::string> docs = nanochat::test::edge_case_texts();
  docs.push_back("<|bos|>Hello<|user_start|>there<|user_end|><|assistant_start|>ok<|assistant_end|>");
  docs.push_back("<|bos|<|bos|>><|python_start|>1+1<|python_end|><|output_start|>2<|output_end|><|");
  expect_tiktoken_agrees(python, tokenizer, docs, false);
  expect_tiktoken_agrees(python, tokenizer, docs, true);
}

TEST(BpeEncoder, DecodeInvertsEncodeOnEveryPretrainDocumentAndEdgeCase) {
  NANOCHAT_REQUIRE_SHARED_DATA(data);
  const BpeTokenizer tokenizer = trained_tokenizer(data);
  std::vector<std::string> docs = nanochat::test::pretrain_documents(data);
  for (const std::string& text : nanochat::test::edge_case_texts()) docs.push_back(text);
  docs.push_back("invalid \xff\xfe UTF-8 \xc3 and a lone \x80 byte");
  const auto encoded = tokenizer.encode_batch(docs, false, std::nullopt, 0);
  for (size_t i = 0; i < docs.size(); ++i) {
    ASSERT_EQ(tokenizer.decode(encoded[i]), docs[i]) << "document " << i;
  }
}

TEST(BpeEncoder, HeapMergeEqualsLinearMerge) {
  NANOCHAT_REQUIRE_SHARED_DATA(data);
  const BpeTokenizer trained = trained_tokenizer(data);
  std::vector<std::string> tokens;
  for (size_t id = 0; id + 9 < trained.vocab_size(); ++id)
    tokens.push_back(trained.token_bytes(static_cast<TokenId>(id)));
  const BpeEncoder encoder(tokens);
  std::mt19937 rng(11);
  const std::string alphabet = "etaoin shrdlu,.\n";
  for (int round = 0; round < 300; ++round) {
    std::string chunk(1 + rng() % 300, ' ');
    for (char& c : chunk) c = alphabet[rng() % alphabet.size()];
    if (round % 10 == 0) chunk = std::string(1 + rng() % 2000, alphabet[rng() % alphabet.size()]);
    std::vector<int32_t> linear, heap;
    encoder.merge_chunk(chunk, false, linear);
    encoder.merge_chunk(chunk, true, heap);
    ASSERT_EQ(linear, heap) << "chunk of " << chunk.size() << " bytes: " << chunk.substr(0, 80);
  }
}

TEST(BpeEncoder, SpecialTokensOnlyWhenAllowed) {
  const auto tokenizer = small_tokenizer();
  const TokenId bos = tokenizer->special_id("<|bos|>");
  EXPECT_EQ(bos, 256 + 11);
  const std::vector<TokenId> ordinary = tokenizer->encode("<|bos|>hello");
  EXPECT_EQ(std::count(ordinary.begin(), ordinary.end(), bos), 0);
  EXPECT_EQ(tokenizer->decode(ordinary), "<|bos|>hello");
  const std::vector<TokenId> special = tokenizer->encode("<|bos|>hello", true);
  EXPECT_EQ(special, (std::vector<TokenId>{bos, 256 + 3}));
  EXPECT_EQ(tokenizer->decode(special), "<|bos|>hello");
}

TEST(BpeEncoder, MergesInRankOrder) {
  const auto tokenizer = small_tokenizer();
  // "hello world": chunks "hello" (a token) and " world" (a token).
  EXPECT_EQ(tokenizer->encode("hello world"), (std::vector<TokenId>{256 + 3, 256 + 8}));
  // "hellx": he(256) + ll(257) -> hell(258), then x.
  EXPECT_EQ(tokenizer->encode("hellx"), (std::vector<TokenId>{258, 'x'}));
  // "aaaaaaa": leftmost aa first, then aaaa, leaving aaaa + aa + a.
  EXPECT_EQ(tokenizer->encode("aaaaaaa"), (std::vector<TokenId>{256 + 10, 256 + 9, 'a'}));
}

TEST(BpeEncoder, BatchEqualsOneByOneAndPrepends) {
  const auto tokenizer = small_tokenizer();
  const std::vector<std::string> texts = {"hello", "", "hello world<|bos|>", "aaaa aaa"};
  const TokenId bos = tokenizer->special_id("<|bos|>");
  for (unsigned threads : {1u, 2u, 3u}) {
    const auto batch = tokenizer->encode_batch(texts, false, bos, threads);
    ASSERT_EQ(batch.size(), texts.size());
    for (size_t i = 0; i < texts.size(); ++i) {
      std::vector<TokenId> expected = {bos};
      for (TokenId id : tokenizer->encode(texts[i])) expected.push_back(id);
      EXPECT_EQ(batch[i], expected);
    }
  }
}

TEST(BpeEncoder, TokenBytesAndFindTokenAreInverse) {
  const auto tokenizer = small_tokenizer();
  for (TokenId id = 0; id < static_cast<TokenId>(tokenizer->vocab_size()); ++id) {
    EXPECT_EQ(tokenizer->find_token(tokenizer->token_bytes(id)), id);
  }
  EXPECT_EQ(tokenizer->token_bytes(256 + 8), " world");
  EXPECT_TRUE(tokenizer->is_special(tokenizer->special_id("<|output_end|>")));
  EXPECT_FALSE(tokenizer->is_special(256 + 8));
  EXPECT_EQ(tokenizer->find_token("not a token"), std::nullopt);
}

TEST(BpeEncoder, DecodeRefusesIdsOutsideTheVocabulary) {
  const auto tokenizer = small_tokenizer();
  EXPECT_THROW(tokenizer->decode({static_cast<TokenId>(tokenizer->vocab_size())}), nanochat::Error);
  EXPECT_THROW(tokenizer->decode({-1}), nanochat::Error);
  EXPECT_THROW(tokenizer->special_id("<|eos|>"), nanochat::Error);
}

TEST(BpeEncoder, EachTokenizerKeepsItsOwnChunkCache) {
  const auto first = small_tokenizer();
  std::vector<std::string> tokens;
  for (int b = 0; b < 256; ++b) tokens.emplace_back(1, static_cast<char>(b));
  const BpeTokenizer bytes_only_impl(kSplitPattern, tokens, {"<|bos|>"});
  const nanochat::Tokenizer& bytes_only = bytes_only_impl;
  EXPECT_EQ(first->encode("hellx"), (std::vector<TokenId>{258, 'x'}));
  EXPECT_EQ(bytes_only.encode("hellx"), (std::vector<TokenId>{'h', 'e', 'l', 'l', 'x'}));
  EXPECT_EQ(first->encode("hellx"), (std::vector<TokenId>{258, 'x'}));
}

TEST(BpeEncoder, TokenBytesAreRawLengthsWithZeroForSpecials) {
  const auto tokenizer = small_tokenizer();
  const std::vector<int32_t> lengths = nanochat::token_byte_lengths(*tokenizer);
  ASSERT_EQ(lengths.size(), tokenizer->vocab_size());
  EXPECT_EQ(lengths[0], 1);
  EXPECT_EQ(lengths[256 + 3], 5);  // "hello"
  EXPECT_EQ(lengths[tokenizer->special_id("<|bos|>")], 0);
  nanochat::test::ScratchDir scratch;
  nanochat::save_token_bytes(*tokenizer, scratch.path);
  EXPECT_EQ(nanochat::load_token_bytes(scratch.path), lengths);
}
