// The splitter against Python's `regex` module (the oracle) with SPEC §2's pattern: on every
// document of ../shared/data/pretrain_* and on hand-picked edge cases; the hand-written
// splitter against PCRE2 too, and the character class tables against the oracle's.
#include <gtest/gtest.h>

#include <random>

#include "nanochat/error.hpp"
#include "splitter.hpp"
#include "tokenizer_test_support.hpp"
#include "unicode_class.hpp"

#include "../integration/host_process.hpp"

namespace fs = std::filesystem;
using namespace nanochat::bpe;

namespace {

std::vector<size_t> ends_of(const Splitter& splitter, const std::string& text) {
  std::vector<size_t> ends;
  splitter.split(text, ends);
  return ends;
}

std::vector<size_t> ends_from_lengths(const std::vector<int64_t>& lengths) {
  std::vector<size_t> ends;
  size_t end = 0;
  for (int64_t length : lengths) ends.push_back(end += static_cast<size_t>(length));
  return ends;
}

std::string show_chunks(const std::string& text, const std::vector<size_t>& ends) {
  std::string out;
  size_t start = 0;
  for (size_t end : ends) {
    out += "[" + text.substr(start, end - start) + "]";
    start = end;
  }
  return out;
}

// Compares each document's chunks by the oracle with ours; reports the first few misses.
void expect_oracle_agrees(const fs::path& python, const std::vector<std::string>& docs) {
  nanochat::test::ScratchDir scratch;
  nanochat::test::write_docs_jsonl(scratch.path / "docs.jsonl", docs);
  nanochat::test::run_oracle(python,
                             {"split", (scratch.path / "docs.jsonl").string(), (scratch.path / "out").string()});
  const auto expected = nanochat::test::read_int_lines(scratch.path / "out");
  ASSERT_EQ(expected.size(), docs.size());
  const auto fast = make_fast_splitter();
  const auto pcre2 = make_pcre2_splitter(kSplitPattern);
  int misses = 0;
  for (size_t i = 0; i < docs.size() && misses < 5; ++i) {
    const std::vector<size_t> want = ends_from_lengths(expected[i]);
    const std::vector<size_t> got = ends_of(*fast, docs[i]);
    if (got != want) {
      ++misses;
      ADD_FAILURE() << "document " << i << " (" << docs[i].size()
                    << " bytes)\n  regex: " << show_chunks(docs[i], want).substr(0, 400)
                    << "\n  ours:  " << show_chunks(docs[i], got).substr(0, 400);
    }
    EXPECT_EQ(ends_of(*pcre2, docs[i]), want) << "PCRE2 differs from regex on document " << i;
  }
}

}  // namespace

TEST(BpeSplitter, MatchesPythonRegexOnEveryPretrainDocument) {
  NANOCHAT_REQUIRE_SHARED_DATA(data);
  NANOCHAT_REQUIRE_ORACLE(python);
  const std::vector<std::string> docs = nanochat::test::pretrain_documents(data);
  ASSERT_GT(docs.size(), 9000u);
  expect_oracle_agrees(python, docs);
}

TEST(BpeSplitter, MatchesPythonRegexOnEdgeCases) {
  NANOCHAT_REQUIRE_ORACLE(python);
  expect_oracle_agrees(python, nanochat::test::edge_case_texts());
}

TEST(BpeSplitter, SplitsAsTheSpecPatternSays) {
  const auto fast = make_fast_splitter();
  auto chunks = [&](const std::string& text) { return show_chunks(text, ends_of(*fast, text)); };
  EXPECT_EQ(chunks("Hello world, it's 2025!"), "[Hello][ world][,][ it]['s][ ][20][25][!]");
  EXPECT_EQ(chunks("a  b\n\n  c"), "[a][ ][ b][\n\n][ ][ c]");
  EXPECT_EQ(chunks("x   "), "[x][   ]");
}

TEST(BpeSplitter, CharacterClassesMatchPythonRegex) {
  NANOCHAT_REQUIRE_ORACLE(python);
  nanochat::test::ScratchDir scratch;
  nanochat::test::run_oracle(python, {"classes", (scratch.path / "classes").string()});
  const std::string expected = nanochat::test::read_text(scratch.path / "classes");
  ASSERT_EQ(expected.size(), 0x110000u);
  int misses = 0;
  for (uint32_t cp = 0; cp < 0x110000 && misses < 10; ++cp) {
    if (cp >= 0xD800 && cp < 0xE000) continue;
    const CharClass cls = classify(cp);
    const char got = cls == CharClass::letter                                 ? 'L'
                     : cls == CharClass::number                               ? 'N'
                     : (cls == CharClass::space || cls == CharClass::newline) ? 'S'
                                                                              : '-';
    if (got != expected[cp]) {
      ++misses;
      ADD_FAILURE() << "U+" << std::hex << cp << ": ours " << got << ", regex " << expected[cp]
                    << " (regenerate plugins/bpe/unicode_classes.inc with tools/gen_unicode_classes.py)";
    }
  }
}

TEST(BpeSplitter, ChunksCoverAnyBytesIncludingInvalidUtf8) {
  std::mt19937 rng(7);
  const auto fast = make_fast_splitter();
  const auto pcre2 = make_pcre2_splitter(kSplitPattern);
  for (int round = 0; round < 200; ++round) {
    std::string text(static_cast<size_t>(rng() % 64), '\0');
    for (char& c : text) c = static_cast<char>(rng() % 4 == 0 ? rng() % 256 : "ab 1'\n\r.\xc3\xa9"[rng() % 11]);
    for (const Splitter* splitter : {fast.get(), pcre2.get()}) {
      const std::vector<size_t> ends = ends_of(*splitter, text);
      size_t start = 0;
      for (size_t end : ends) {
        ASSERT_GT(end, start);
        start = end;
      }
      EXPECT_EQ(start, text.size());
    }
  }
}

TEST(BpeSplitter, FastSplitterIsUsedOnlyForTheSpecPattern) {
  const auto other = make_splitter(R"(\p{L}+|\s+)");
  EXPECT_EQ(ends_of(*other, "ab  cd!"), (std::vector<size_t>{2, 4, 6, 7}));  // '!' unmatched: its own chunk
}

TEST(BpeSplitter, RejectsAPatternThatDoesNotCompile) {
  EXPECT_THROW(make_pcre2_splitter("(unclosed"), nanochat::Error);
}
