// The corpus reader: .txt and .jsonl, gzip-compressed or not, folders in sorted order,
// --text-field, the document cap and max-chars in characters (nanochat's semantics), and
// errors that name the file and line, or skips that are counted.
#include <gtest/gtest.h>
#include <zlib.h>

#include <functional>

#include "nanochat/corpus.hpp"
#include "nanochat/error.hpp"
#include "tokenizer_test_support.hpp"

#include "../integration/host_process.hpp"

namespace fs = std::filesystem;
using nanochat::CorpusOptions;
using nanochat::CorpusReader;
using nanochat::test::write_text;

namespace {

void write_gz(const fs::path& file, const std::string& text) {
  gzFile gz = gzopen(file.c_str(), "wb");
  ASSERT_NE(gz, nullptr);
  ASSERT_EQ(gzwrite(gz, text.data(), static_cast<unsigned>(text.size())), static_cast<int>(text.size()));
  gzclose(gz);
}

std::vector<std::string> read_all(CorpusReader& reader) {
  std::vector<std::string> docs;
  std::string doc;
  while (reader.next(doc)) docs.push_back(doc);
  return docs;
}

std::vector<std::string> read_all(const fs::path& path, CorpusOptions options = {}) {
  CorpusReader reader(path, options);
  return read_all(reader);
}

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const nanochat::Error& e) {
    return e.what();
  }
  return "(no error)";
}

class CorpusReaderTest : public ::testing::Test {
 protected:
  nanochat::test::ScratchDir scratch;
  fs::path at(const std::string& name) {
    const fs::path path = scratch.path / name;
    fs::create_directories(path.parent_path());
    return path;
  }
};

}  // namespace

TEST_F(CorpusReaderTest, ReadsEveryKindOfFileInSortedOrder) {
  write_text(at("b/one.txt"), "a whole file\nis one document\n");
  write_text(at("a.jsonl"), "{\"text\": \"first\"}\n{\"text\": \"second\\nline\", \"id\": 2}\n\n{\"text\": \"\"}");
  write_gz(at("c/d/z.jsonl.gz"), "{\"text\": \"gzipped \\u00e9\"}\n");
  write_gz(at("c/e.txt.gz"), "gz text");
  write_text(at("README.md"), "not a corpus file");
  write_text(at("b/notes.tsv"), "neither");
  EXPECT_EQ(read_all(scratch.path),
            (std::vector<std::string>{"first", "second\nline", "", "a whole file\nis one document\n",
                                      "gzipped \xc3\xa9", "gz text"}));
  EXPECT_EQ(nanochat::list_corpus_files(scratch.path).size(), 4u);
}

TEST_F(CorpusReaderTest, ReadsAnotherTextField) {
  write_text(at("x.jsonl"), "{\"content\": \"hi\", \"text\": 3}\n");
  CorpusOptions options;
  options.text_field = "content";
  EXPECT_EQ(read_all(at("x.jsonl"), options), std::vector<std::string>{"hi"});
}

TEST_F(CorpusReaderTest, CapsDocumentsInCharacters) {
  write_text(at("x.jsonl"), "{\"text\": \"\\u00e9t\\u00e9 \\u4e16\\u754c!\"}\n{\"text\": \"ab\"}\n");
  CorpusOptions options;
  options.doc_cap = 4;
  CorpusReader reader(at("x.jsonl"), options);
  EXPECT_EQ(read_all(reader), (std::vector<std::string>{"\xc3\xa9t\xc3\xa9 ", "ab"}));
  EXPECT_EQ(reader.stats().capped, 1u);
  EXPECT_EQ(reader.stats().chars, 6u);
  options.doc_cap = 0;
  EXPECT_EQ(read_all(at("x.jsonl"), options)[0], "\xc3\xa9t\xc3\xa9 \xe4\xb8\x96\xe7\x95\x8c!");
}

TEST_F(CorpusReaderTest, MaxCharsKeepsTheDocumentThatCrossesTheLimit) {
  write_text(at("x.jsonl"), "{\"text\": \"aaaa\"}\n{\"text\": \"bbbb\"}\n{\"text\": \"cccc\"}\n");
  CorpusOptions options;
  options.max_chars = 5;
  EXPECT_EQ(read_all(at("x.jsonl"), options), (std::vector<std::string>{"aaaa", "bbbb"}));
  options.max_chars = 8;
  EXPECT_EQ(read_all(at("x.jsonl"), options).size(), 3u);  // 8 is not past 8
}

TEST_F(CorpusReaderTest, MalformedLineNamesFileAndLine) {
  write_text(at("x.jsonl"), "{\"text\": \"ok\"}\n{\"text\": \"broken\n{\"other\": 1}\n[1]\n{\"text\": \"fine\"}\n");
  const std::string message = error_of([&] { read_all(at("x.jsonl")); });
  EXPECT_NE(message.find("x.jsonl:2: not a JSON object"), std::string::npos) << message;
  CorpusOptions options;
  options.skip_bad = true;
  CorpusReader reader(at("x.jsonl"), options);
  EXPECT_EQ(read_all(reader), (std::vector<std::string>{"ok", "fine"}));
  EXPECT_EQ(reader.stats().skipped_lines, 3u);
}

TEST_F(CorpusReaderTest, MissingOrMistypedFieldIsAClearError) {
  write_text(at("x.jsonl"), "{\"body\": \"hi\"}\n");
  EXPECT_NE(error_of([&] { read_all(at("x.jsonl")); }).find("x.jsonl:1: no field \"text\""), std::string::npos);
  write_text(at("y.jsonl"), "{\"text\": null}\n");
  EXPECT_NE(error_of([&] { read_all(at("y.jsonl")); }).find("y.jsonl:1: field \"text\" is not a string"),
            std::string::npos);
}

TEST_F(CorpusReaderTest, CorruptGzipIsAnErrorOrASkip) {
  write_gz(at("a.jsonl.gz"), std::string(100000, ' ') + "{\"text\": \"x\"}\n");
  std::string bytes = nanochat::test::read_text(at("a.jsonl.gz"));
  write_text(at("a.jsonl.gz"), bytes.substr(0, bytes.size() / 2));
  write_text(at("b.jsonl"), "{\"text\": \"after\"}\n");
  const std::string message = error_of([&] { read_all(scratch.path); });
  EXPECT_NE(message.find("a.jsonl.gz: cannot read"), std::string::npos) << message;
  CorpusOptions options;
  options.skip_bad = true;
  CorpusReader reader(scratch.path, options);
  EXPECT_EQ(read_all(reader), std::vector<std::string>{"after"});
  EXPECT_EQ(reader.stats().skipped_files, 1u);
}

TEST_F(CorpusReaderTest, RepairsInvalidUtf8InText) {
  write_text(at("latin1.txt"), "caf\xe9");
  CorpusReader reader(at("latin1.txt"));
  EXPECT_EQ(read_all(reader), std::vector<std::string>{"caf\xef\xbf\xbd"});
  EXPECT_EQ(reader.stats().repaired, 1u);
}

TEST_F(CorpusReaderTest, BadPathsAreClearErrors) {
  EXPECT_NE(error_of([&] { CorpusReader reader(scratch.path / "nope"); }).find("does not exist"), std::string::npos);
  fs::create_directories(scratch.path / "empty");
  EXPECT_NE(error_of([&] { CorpusReader reader(scratch.path / "empty"); }).find("holds no .txt"), std::string::npos);
  write_text(at("data.csv"), "a,b");
  EXPECT_NE(error_of([&] { CorpusReader reader(at("data.csv")); }).find("is not .txt, .jsonl"), std::string::npos);
}

TEST(CorpusReaderShared, StreamsTheGutenbergCorpus) {
  NANOCHAT_REQUIRE_SHARED_DATA(data);
  CorpusReader reader(data / "pretrain_gutenberg");
  const std::vector<std::string> docs = read_all(reader);
  EXPECT_EQ(docs.size(), 6256u);
  EXPECT_EQ(reader.stats().files, 8u);
  EXPECT_GT(reader.stats().bytes, 20'000'000u);
  EXPECT_EQ(docs[0].substr(0, 14), "[Illustration]");
}
