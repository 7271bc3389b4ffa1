// The data stage's document stream (document_stream.hpp): text corpora through the SDK's corpus
// reader, Parquet through its column reader, one row group in memory at a time.
#include "document_stream.hpp"

#include <algorithm>
#include <system_error>

#include <fmt/format.h>

#include "nanochat/error.hpp"
#include "nanochat/utf8.hpp"

namespace fs = std::filesystem;

namespace nanochat::data_stage {
namespace {

bool is_parquet(const fs::path& path) { return path.extension() == ".parquet"; }

// The Parquet files a --corpus path names: itself, or those below a folder in sorted order.
std::vector<fs::path> parquet_files_of(const fs::path& path) {
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) return is_parquet(path) ? std::vector<fs::path>{path} : std::vector<fs::path>{};
  std::vector<fs::path> files;
  if (!fs::is_directory(path, ec)) return files;
  for (fs::recursive_directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec) && is_parquet(it->path())) files.push_back(it->path());
  }
  if (ec) throw Error(fmt::format("cannot list corpus folder '{}': {}", path.string(), ec.message()));
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

DocumentStream::DocumentStream(std::vector<fs::path> corpora, StreamOptions options)
    : corpora_(std::move(corpora)), options_(std::move(options)) {
  // Checked up front so a mistyped path fails before anything is written.
  for (const fs::path& path : corpora_) {
    std::error_code ec;
    if (!fs::exists(path, ec)) throw Error(fmt::format("corpus '{}' does not exist", path.string()));
  }
}

DocumentStream::~DocumentStream() = default;

bool DocumentStream::open_next() {
  close_current();
  if (current_ == corpora_.size()) return false;
  const fs::path& path = corpora_[current_++];
  parquet_files_ = parquet_files_of(path);
  if (parquet_files_.empty()) {
    CorpusOptions reader;
    reader.text_field = options_.text_field;
    reader.doc_cap = 0;  // pretraining keeps whole documents
    reader.skip_bad = options_.skip_bad;
    text_ = std::make_unique<CorpusReader>(path, reader);
  }
  return true;
}

void DocumentStream::close_current() {
  if (text_) {
    skipped_ += text_->stats().skipped_lines + text_->stats().skipped_files;
    text_.reset();
  }
  parquet_.reset();
  parquet_files_.clear();
  parquet_file_ = 0;
  row_group_ = 0;
  rows_.clear();
  row_ = 0;
}

bool DocumentStream::next_from_parquet(std::string& document) {
  while (row_ == rows_.size()) {
    if (parquet_ && row_group_ < parquet_->num_row_groups()) {
      rows_ = parquet_->read_row_group(row_group_++);
      row_ = 0;
    } else if (parquet_file_ < parquet_files_.size()) {
      parquet_ = std::make_unique<ParquetReader>(parquet_files_[parquet_file_++].string(), options_.text_field);
      row_group_ = 0;
    } else {
      return false;
    }
  }
  document = std::move(rows_[row_++]);
  return true;
}

bool DocumentStream::next(std::string& document) {
  if (options_.max_chars != 0 && chars_ >= options_.max_chars) return false;
  for (;;) {
    const bool got = text_ ? text_->next(document) : next_from_parquet(document);
    if (got) break;
    if (!open_next()) return false;
  }
  ++documents_;
  bytes_ += document.size();
  if (options_.max_chars != 0) chars_ += utf8_length(document);
  return true;
}

}  // namespace nanochat::data_stage
