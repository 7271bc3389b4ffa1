// Token shards: the byte layout the header comment documents, round trips in both token
// widths, and refusal (an Error naming the file, never a crash) of shards truncated at every
// byte, corrupted anywhere, or holding ids outside the vocabulary; the index.json round trip
// and its refusals; the tokenizer fingerprint. (XXH64 itself: test_xxh64.cpp.)
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <unistd.h>

#include "nanochat/error.hpp"
#include "nanochat/token_shard.hpp"

namespace fs = std::filesystem;
using namespace nanochat;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "nanochat-shard-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path = pattern;
  }
  ~TempDir() { fs::remove_all(path); }
};

std::string read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const fs::path& file, const std::string& bytes) {
  std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
}

template <class T>
T field(const std::string& bytes, size_t offset) {
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof value);
  return value;
}

std::vector<TokenId> sample_tokens(size_t count, uint32_t vocab) {
  std::vector<TokenId> tokens(count);
  for (size_t i = 0; i < count; ++i) tokens[i] = static_cast<TokenId>((i * 7919 + 13) % vocab);
  tokens.back() = static_cast<TokenId>(vocab - 1);  // the largest id survives the narrow width
  return tokens;
}

// The Error for `path`, which must name the file.
std::string open_error(const fs::path& path) {
  try {
    TokenShard shard(path);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path.filename().string()), std::string::npos) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "opened " << path;
  return "";
}

TEST(TokenShard, WidthFollowsVocabulary) {
  EXPECT_EQ(token_width_for_vocab(512), 2u);
  EXPECT_EQ(token_width_for_vocab(65536), 2u);
  EXPECT_EQ(token_width_for_vocab(65537), 4u);
}

TEST(TokenShard, LayoutIsAsDocumented) {
  TempDir dir;
  const std::vector<TokenId> tokens = {1, 2, 300, 4};
  write_token_shard(dir.path / "s.bin", tokens.data(), tokens.size(), 2, 512);
  const std::string bytes = read_bytes(dir.path / "s.bin");
  ASSERT_EQ(bytes.size(), 64u + 4 * 2);
  EXPECT_EQ(bytes.substr(0, 8), "NCTOKENS");
  EXPECT_EQ(field<uint32_t>(bytes, 8), 1u);
  EXPECT_EQ(field<uint32_t>(bytes, 12), 2u);
  EXPECT_EQ(field<uint64_t>(bytes, 16), 4u);
  EXPECT_EQ(field<uint64_t>(bytes, 24), 2u);
  EXPECT_EQ(field<uint64_t>(bytes, 32), xxh64(bytes.data() + 64, 8));
  EXPECT_EQ(field<uint32_t>(bytes, 40), 512u);
  EXPECT_EQ(bytes.substr(44, 12), std::string(12, '\0'));
  EXPECT_EQ(field<uint64_t>(bytes, 56), xxh64(bytes.data(), 56));
  EXPECT_EQ(field<uint16_t>(bytes, 64 + 2 * 2), 300);
}

class RoundTrip : public ::testing::TestWithParam<uint32_t> {};

TEST_P(RoundTrip, ReadsBackWhatWasWritten) {
  TempDir dir;
  const uint32_t vocab = GetParam();
  const std::vector<TokenId> tokens = sample_tokens(1000, vocab);
  const TokenShardHeader written = write_token_shard(dir.path / "s.bin", tokens.data(), tokens.size(), 17, vocab);

  TokenShard shard(dir.path / "s.bin");
  EXPECT_EQ(shard.header().token_width, token_width_for_vocab(vocab));
  EXPECT_EQ(fs::file_size(dir.path / "s.bin"), 64 + tokens.size() * shard.header().token_width);
  EXPECT_EQ(shard.size(), tokens.size());
  EXPECT_EQ(shard.header().documents, 17u);
  EXPECT_EQ(shard.header().vocab_size, vocab);
  EXPECT_EQ(shard.header().payload_checksum, written.payload_checksum);
  EXPECT_EQ(shard.read(0, tokens.size()), tokens);
  EXPECT_EQ(shard.at(999), static_cast<TokenId>(vocab - 1));
  std::vector<int64_t> wide(10);
  shard.read(500, 10, wide.data());
  for (size_t i = 0; i < 10; ++i) EXPECT_EQ(wide[i], tokens[500 + i]);
  EXPECT_THROW(shard.read(995, 6), Error);
  EXPECT_THROW(shard.at(1000), Error);

  TokenShard moved = std::move(shard);
  EXPECT_EQ(moved.read(0, 3), std::vector<TokenId>(tokens.begin(), tokens.begin() + 3));
}

INSTANTIATE_TEST_SUITE_P(BothWidths, RoundTrip, ::testing::Values(512u, 65536u, 200000u));

TEST(TokenShard, EmptyShardRoundTrips) {
  TempDir dir;
  write_token_shard(dir.path / "empty.bin", nullptr, 0, 0, 512);
  TokenShard shard(dir.path / "empty.bin");
  EXPECT_EQ(shard.size(), 0u);
}

TEST(TokenShard, WriterRefusesIdsOutsideTheVocabulary) {
  TempDir dir;
  const std::vector<TokenId> too_big = {1, 512};
  const std::vector<TokenId> negative = {-1};
  EXPECT_THROW(write_token_shard(dir.path / "a.bin", too_big.data(), too_big.size(), 1, 512), Error);
  EXPECT_THROW(write_token_shard(dir.path / "b.bin", negative.data(), negative.size(), 1, 512), Error);
  EXPECT_FALSE(fs::exists(dir.path / "a.bin"));  // nothing half-written is left behind
}

TEST(TokenShard, RefusesTruncationAtEveryByte) {
  TempDir dir;
  for (uint32_t vocab : {512u, 200000u}) {
    const std::vector<TokenId> tokens = sample_tokens(40, vocab);
    write_token_shard(dir.path / "whole.bin", tokens.data(), tokens.size(), 3, vocab);
    const std::string bytes = read_bytes(dir.path / "whole.bin");
    for (size_t cut = 0; cut < bytes.size(); ++cut) {
      write_bytes(dir.path / "cut.bin", bytes.substr(0, cut));
      const std::string message = open_error(dir.path / "cut.bin");
      EXPECT_NE(message.find("truncated"), std::string::npos) << cut << ": " << message;
    }
  }
}

TEST(TokenShard, RefusesTrailingBytes) {
  TempDir dir;
  const std::vector<TokenId> tokens = sample_tokens(10, 512);
  write_token_shard(dir.path / "s.bin", tokens.data(), tokens.size(), 1, 512);
  write_bytes(dir.path / "s.bin", read_bytes(dir.path / "s.bin") + "x");
  EXPECT_NE(open_error(dir.path / "s.bin").find("trailing"), std::string::npos);
}

TEST(TokenShard, RefusesAnyFlippedBit) {
  TempDir dir;
  const std::vector<TokenId> tokens = sample_tokens(100, 512);
  write_token_shard(dir.path / "s.bin", tokens.data(), tokens.size(), 5, 512);
  const std::string bytes = read_bytes(dir.path / "s.bin");
  for (size_t at = 0; at < bytes.size(); at += 7) {
    std::string corrupt = bytes;
    corrupt[at] ^= 0x10;
    write_bytes(dir.path / "bad.bin", corrupt);
    open_error(dir.path / "bad.bin");
  }
  std::string corrupt = bytes;
  corrupt[100] ^= 1;
  write_bytes(dir.path / "bad.bin", corrupt);
  EXPECT_NE(open_error(dir.path / "bad.bin").find("checksum"), std::string::npos);
  // Without verification only the header is checked: the flip goes unnoticed, by design.
  EXPECT_NO_THROW(TokenShard(dir.path / "bad.bin", /*verify=*/false));
}

TEST(TokenShard, RefusesIdsOutsideTheVocabularyEvenWithValidChecksums) {
  TempDir dir;
  const std::vector<TokenId> tokens = {1, 2, 3};
  write_token_shard(dir.path / "s.bin", tokens.data(), tokens.size(), 1, 512);
  std::string bytes = read_bytes(dir.path / "s.bin");
  const uint16_t outside = 600;
  std::memcpy(&bytes[64 + 2], &outside, 2);
  const uint64_t payload_hash = xxh64(bytes.data() + 64, bytes.size() - 64);
  std::memcpy(&bytes[32], &payload_hash, 8);
  const uint64_t header_hash = xxh64(bytes.data(), 56);
  std::memcpy(&bytes[56], &header_hash, 8);
  write_bytes(dir.path / "s.bin", bytes);
  EXPECT_NE(open_error(dir.path / "s.bin").find("outside the vocabulary"), std::string::npos);
}

TEST(TokenShard, MissingFileIsAnError) {
  TempDir dir;
  open_error(dir.path / "absent.bin");
}

TokenShardIndex sample_index() {
  TokenShardIndex index;
  index.tokenizer = "bpe";
  index.tokenizer_fingerprint = 0x0123456789abcdefULL;
  index.vocab_size = 512;
  index.bos_id = 503;
  index.sources = {"corpus/a.jsonl"};
  index.shards = {{"shard_00000.bin", DataSplit::train, 100, 3, 0xffULL},
                  {"shard_00001.bin", DataSplit::train, 50, 1, 0xeeULL},
                  {"shard_00002.bin", DataSplit::val, 20, 0, 0xddULL}};
  return index;
}

TEST(TokenShardIndex, RoundTrips) {
  TempDir dir;
  sample_index().save(dir.path);
  const TokenShardIndex index = TokenShardIndex::load(dir.path);
  EXPECT_EQ(index.tokenizer, "bpe");
  EXPECT_EQ(index.tokenizer_fingerprint, 0x0123456789abcdefULL);
  EXPECT_EQ(index.vocab_size, 512u);
  EXPECT_EQ(index.bos_id, 503);
  EXPECT_EQ(index.sources, std::vector<std::string>{"corpus/a.jsonl"});
  ASSERT_EQ(index.shards.size(), 3u);
  EXPECT_EQ(index.shards[1].file, "shard_00001.bin");
  EXPECT_EQ(index.shards[1].documents, 1u);
  EXPECT_EQ(index.shards[1].checksum, 0xeeULL);
  EXPECT_EQ(index.split(DataSplit::train).size(), 2u);
  EXPECT_EQ(index.split_tokens(DataSplit::train), 150u);
  EXPECT_EQ(index.split_tokens(DataSplit::val), 20u);
}

TEST(TokenShardIndex, RefusesMissingOrBrokenIndexes) {
  TempDir dir;
  auto expect_refused = [&](const std::string& fragment) {
    try {
      TokenShardIndex::load(dir.path);
      ADD_FAILURE() << "loaded an index that " << fragment;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("nanochat run data"), std::string::npos) << e.what();
    }
  };
  expect_refused("is missing");
  write_bytes(dir.path / "index.json", "{\"format\": ");
  expect_refused("malformed");
  TokenShardIndex index = sample_index();
  index.shards.pop_back();
  index.save(dir.path);
  expect_refused("no val shard");
  index = sample_index();
  index.shards[0].file = "../elsewhere.bin";
  index.save(dir.path);
  expect_refused("outside its folder");
}

// The smallest tokenizer with a vocabulary: bytes only, one special token.
class ByteTokenizer final : public Tokenizer {
 public:
  std::string pattern_text = "p";
  std::string last_byte = std::string(1, '\xff');

  void train(DocumentSource&, const TokenizerTrainOptions&) override {}
  void save(const fs::path&) const override {}
  void load(const fs::path&) override {}
  std::vector<TokenId> encode(std::string_view, bool) const override { return {}; }
  std::vector<std::vector<TokenId>> encode_batch(const std::vector<std::string>&, bool, std::optional<TokenId>,
                                                 unsigned) const override {
    return {};
  }
  std::string decode(const std::vector<TokenId>&) const override { return ""; }
  size_t vocab_size() const override { return 257; }
  std::string pattern() const override { return pattern_text; }
  std::string token_bytes(TokenId id) const override {
    if (id == 256) return special_tokens::bos;
    return id == 255 ? last_byte : std::string(1, static_cast<char>(id));
  }
  bool is_special(TokenId id) const override { return id == 256; }
  std::optional<TokenId> find_token(std::string_view) const override { return std::nullopt; }
  TokenId special_id(std::string_view) const override { return 256; }
};

TEST(TokenizerFingerprint, ChangesWithAnyTokenOrThePattern) {
  ByteTokenizer tokenizer;
  const uint64_t base = tokenizer_fingerprint(tokenizer);
  EXPECT_EQ(tokenizer_fingerprint(ByteTokenizer()), base);
  tokenizer.last_byte = "ab";
  EXPECT_NE(tokenizer_fingerprint(tokenizer), base);
  ByteTokenizer other_pattern;
  other_pattern.pattern_text = "q";
  EXPECT_NE(tokenizer_fingerprint(other_pattern), base);
}

}  // namespace
