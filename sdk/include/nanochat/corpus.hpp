// Reading a text corpus as a stream of documents, for every stage that learns from raw text
// (tokenizer training, evaluation). A corpus is a file or a folder (searched recursively,
// in sorted order) of:
//   .txt            one document per file
//   .jsonl          one document per line, the string field `text_field` of a JSON object
//   .txt.gz, .jsonl.gz   the same, gzip-compressed
// Other files in a folder (README.md, .tsv, ...) are ignored; a file named explicitly must
// have one of these extensions. Documents stream: the corpus is never held in memory.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace nanochat {

// A stream of documents, e.g. what a tokenizer trains on.
class DocumentSource {
 public:
  virtual ~DocumentSource() = default;
  // Fills `document` with the next document and returns true, or returns false at the end.
  virtual bool next(std::string& document) = 0;
};

struct CorpusOptions {
  std::string text_field = "text";  // the JSONL field holding a document's text
  // Stop after the document that brings the total past this many characters (Unicode code
  // points, after the cap), as nanochat's tok_train does; 0 = read everything.
  uint64_t max_chars = 0;
  // Keep the first doc_cap characters of each document (nanochat: 10,000); 0 = no cap.
  uint64_t doc_cap = 10000;
  // Malformed input (a JSONL line that is not an object with a string `text_field`, a file
  // that cannot be read or decompressed): false = throw Error naming the file and line;
  // true = skip it, count it in CorpusStats and go on.
  bool skip_bad = false;
};

struct CorpusStats {
  uint64_t files = 0;          // files opened
  uint64_t documents = 0;      // documents returned
  uint64_t chars = 0;          // characters returned (after the cap)
  uint64_t bytes = 0;          // UTF-8 bytes returned (after the cap)
  uint64_t capped = 0;         // documents shortened by doc_cap
  uint64_t skipped_lines = 0;  // malformed JSONL lines skipped (skip_bad)
  uint64_t skipped_files = 0;  // unreadable files skipped (skip_bad)
  uint64_t repaired = 0;       // documents whose invalid UTF-8 was replaced by U+FFFD
};

// The corpus files under `path` in reading order: `path` itself when it is a file, else the
// matching files below it sorted by path. Throws Error when `path` does not exist, names a
// file of an unknown kind, or holds no corpus file.
std::vector<std::filesystem::path> list_corpus_files(const std::filesystem::path& path);

class CorpusReader : public DocumentSource {
 public:
  // Reads the corpora in order, as one stream.
  explicit CorpusReader(const std::vector<std::filesystem::path>& paths, CorpusOptions options = {});
  explicit CorpusReader(const std::filesystem::path& path, CorpusOptions options = {});
  ~CorpusReader() override;
  CorpusReader(const CorpusReader&) = delete;
  CorpusReader& operator=(const CorpusReader&) = delete;

  // Documents are valid UTF-8: invalid sequences in a .txt are replaced by U+FFFD (and
  // counted); empty documents are returned like any other.
  bool next(std::string& document) override;

  const CorpusStats& stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nanochat
