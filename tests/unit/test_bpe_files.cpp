// The saved tokenizer folder: save then load gives the same tokenizer; every kind of
// damage (flipped byte, truncation, wrong counts or ids, bad base64, duplicates, a
// missing file) is refused with a message naming the file; base64 is strict.
#include <gtest/gtest.h>
#include <zlib.h>

#include <fmt/format.h>

#include <functional>
#include <nlohmann/json.hpp>

#include "bpe_tokenizer.hpp"
#include "nanochat/error.hpp"
#include "tokenizer_files.hpp"
#include "tokenizer_test_support.hpp"

#include "../integration/host_process.hpp"

namespace fs = std::filesystem;
using namespace nanochat::bpe;
using nanochat::test::read_text;
using nanochat::test::write_text;

namespace {

BpeTokenizer trained_on(const std::vector<std::string>& docs, uint32_t vocab) {
  nanochat::test::VectorSource source(docs);
  BpeTokenizer tokenizer;
  tokenizer.train(source, {vocab, 1, ""});
  return tokenizer;
}

const std::vector<std::string> kDocs = {"the cat sat on the mat", "the dog sat on the log", "hello, world! 123"};

class BpeFolder : public ::testing::Test {
 protected:
  void SetUp() override { trained_on(kDocs, 300).save(scratch.path); }

  fs::path ranks() const { return scratch.path / kRanksFile; }
  fs::path meta() const { return scratch.path / kMetaFile; }

  // Rewrites tokenizer.tiktoken and records its new CRC, so only the structural checks
  // stand between the damage and the encoder.
  void rewrite_ranks_with_valid_crc(const std::string& ranks_text) {
    write_text(ranks(), ranks_text);
    auto json = nlohmann::json::parse(read_text(meta()));
    json["ranks_crc32"] = fmt::format(
        "{:08x}", crc32(0, reinterpret_cast<const Bytef*>(ranks_text.data()), static_cast<uInt>(ranks_text.size())));
    write_text(meta(), json.dump(2));
  }

  void edit_meta(const std::function<void(nlohmann::json&)>& edit) {
    auto json = nlohmann::json::parse(read_text(meta()));
    edit(json);
    write_text(meta(), json.dump(2));
  }

  // Loading must fail with an Error whose message holds `fragment`.
  void expect_refused(const std::string& fragment) {
    BpeTokenizer tokenizer;
    try {
      tokenizer.load(scratch.path);
      FAIL() << "a damaged tokenizer folder was loaded";
    } catch (const nanochat::Error& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << "message: " << e.what();
    }
  }

  nanochat::test::ScratchDir scratch;
};

}  // namespace

TEST_F(BpeFolder, LoadGivesBackTheSavedTokenizer) {
  const BpeTokenizer original = trained_on(kDocs, 300);
  BpeTokenizer loaded;
  loaded.load(scratch.path);
  EXPECT_EQ(loaded.vocab_size(), original.vocab_size());
  EXPECT_EQ(loaded.pattern(), original.pattern());
  for (const std::string& doc : kDocs) EXPECT_EQ(loaded.encode(doc, false), original.encode(doc, false));
  EXPECT_EQ(loaded.special_id("<|output_end|>"), static_cast<nanochat::TokenId>(loaded.vocab_size() - 1));
  // tiktoken's format: "<base64 bytes> <rank>" per line, by rank.
  EXPECT_EQ(read_text(ranks()).substr(0, 9), "AA== 0\nAQ");
}

TEST_F(BpeFolder, RefusesAFlippedByte) {
  std::string text = read_text(ranks());
  text[text.size() / 2] ^= 0x01;
  write_text(ranks(), text);
  expect_refused("CRC-32");
}

TEST_F(BpeFolder, RefusesATruncatedRanksFile) {
  const std::string text = read_text(ranks());
  rewrite_ranks_with_valid_crc(text.substr(0, text.size() - 20));
  expect_refused("tokenizer.tiktoken");
}

TEST_F(BpeFolder, RefusesBadBase64AndOutOfOrderRanks) {
  std::string text = read_text(ranks());
  rewrite_ranks_with_valid_crc("A*== 0\n" + text.substr(text.find('\n') + 1));
  expect_refused("line 1: invalid base64");
  rewrite_ranks_with_valid_crc("AA== 1\n" + text.substr(text.find('\n') + 1));
  expect_refused("line 1: rank 1 where 0 was expected");
}

TEST_F(BpeFolder, RefusesDuplicateTokensAndMissingBytes) {
  std::string text = read_text(ranks());
  const size_t second = text.find('\n') + 1;
  rewrite_ranks_with_valid_crc("AA== 0\nAA== 1\n" + text.substr(text.find('\n', second) + 1));
  expect_refused("same bytes");
  std::string without_first = text.substr(second);
  std::string renumbered;
  int rank = 0;
  for (size_t pos = 0; pos < without_first.size();) {
    const size_t end = without_first.find('\n', pos);
    const std::string line = without_first.substr(pos, end - pos);
    renumbered += line.substr(0, line.find(' ')) + " " + std::to_string(rank++) + "\n";
    pos = end + 1;
  }
  rewrite_ranks_with_valid_crc(renumbered);
  edit_meta([&](nlohmann::json& json) {
    json["ranks_count"] = rank;
    for (auto& [name, id] : json["special_tokens"].items()) id = id.get<int>() - 1;
  });
  expect_refused("no token for the single byte 0x00");
}

TEST_F(BpeFolder, RefusesWrongMetadata) {
  edit_meta([](nlohmann::json& json) {
    json["ranks_count"] = json["ranks_count"].get<int>() + 1;
    for (auto& [name, id] : json["special_tokens"].items()) id = id.get<int>() + 1;
  });
  expect_refused("tokens where tokenizer.json records");
}

TEST_F(BpeFolder, RefusesSpecialTokensWithWrongIds) {
  edit_meta([](nlohmann::json& json) { json["special_tokens"]["<|bos|>"] = 5; });
  expect_refused("special token <|bos|> has id 5");
}

TEST_F(BpeFolder, RefusesAnotherFormatVersionAndBrokenJson) {
  edit_meta([](nlohmann::json& json) { json["version"] = 99; });
  expect_refused("format version 99 is not supported");
  write_text(meta(), "{\"format\": ");
  expect_refused("not valid JSON");
}

TEST_F(BpeFolder, RefusesAPatternThatDoesNotCompile) {
  edit_meta([](nlohmann::json& json) { json["pattern"] = "(\\p{L}"; });
  expect_refused("does not compile");
}

TEST_F(BpeFolder, RefusesAMissingFile) {
  fs::remove(ranks());
  expect_refused("tokenizer.tiktoken: cannot open");
}

TEST(BpeBase64, RoundTripsAndIsStrict) {
  std::string bytes;
  for (int length = 0; length < 10; ++length) {
    std::string data;
    for (int i = 0; i < length; ++i) data += static_cast<char>(i * 37 + 200);
    ASSERT_TRUE(base64_decode(base64_encode(data), bytes));
    EXPECT_EQ(bytes, data);
  }
  EXPECT_EQ(base64_encode("hi!"), "aGkh");
  EXPECT_EQ(base64_encode("h"), "aA==");
  EXPECT_FALSE(base64_decode("aGk", bytes));       // length not a multiple of 4
  EXPECT_FALSE(base64_decode("a=k=", bytes));      // padding in the middle
  EXPECT_FALSE(base64_decode("aB==", bytes));      // stray bits under the padding
  EXPECT_FALSE(base64_decode("aA==aA==", bytes));  // padding before the end
}
