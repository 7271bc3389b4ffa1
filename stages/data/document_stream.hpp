// What the data stage tokenizes: the --corpus paths in order as one document stream. A path is
// a .parquet file, a folder holding .parquet files (read as Parquet, row group by row group;
// other files in it are ignored), or anything the corpus reader takes (.txt, .jsonl, .gz).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "nanochat/corpus.hpp"
#include "nanochat/parquet_reader.hpp"

namespace nanochat::data_stage {

struct StreamOptions {
  std::string text_field = "text";  // JSONL field and Parquet column
  uint64_t max_chars = 0;           // stop after the document that crosses it; 0 = everything
  bool skip_bad = false;            // as CorpusOptions::skip_bad (text corpora only)
};

class DocumentStream : public DocumentSource {
 public:
  // Throws Error when a corpus path does not exist.
  DocumentStream(std::vector<std::filesystem::path> corpora, StreamOptions options);
  ~DocumentStream() override;

  bool next(std::string& document) override;

  uint64_t documents() const { return documents_; }
  uint64_t bytes() const { return bytes_; }
  // Malformed lines and unreadable files skipped by the corpus reader (with skip_bad).
  uint64_t skipped() const { return skipped_; }

 private:
  // Opens corpora_[current_]; false when there is none left.
  bool open_next();
  bool next_from_parquet(std::string& document);
  void close_current();

  std::vector<std::filesystem::path> corpora_;
  StreamOptions options_;
  size_t current_ = 0;

  std::unique_ptr<CorpusReader> text_;
  std::vector<std::filesystem::path> parquet_files_;
  size_t parquet_file_ = 0;
  std::unique_ptr<ParquetReader> parquet_;
  size_t row_group_ = 0;
  std::vector<std::string> rows_;
  size_t row_ = 0;

  uint64_t documents_ = 0;
  uint64_t bytes_ = 0;
  uint64_t chars_ = 0;
  uint64_t skipped_ = 0;
};

}  // namespace nanochat::data_stage
