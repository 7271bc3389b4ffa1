// Reads one string column from a Parquet file without Arrow or torch: the format of nanochat's
// pretraining shards (FineWeb-Edu / ClimbMix: a `text` column, row groups of ~1024 documents,
// zstd or snappy). Supports top-level required/optional BYTE_ARRAY columns, PLAIN and dictionary
// encodings, data pages v1 and v2, and none/snappy/gzip/zstd compression. Files are untrusted:
// anything malformed or unsupported throws nanochat::Error with a one-line message naming the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace nanochat {

class ParquetReader {
 public:
  // Opens `path`, checks and parses its footer and selects `column`. Throws Error if the file is
  // not Parquet, is malformed, or has no such column (the message lists the columns it has).
  explicit ParquetReader(const std::string& path, const std::string& column = "text");
  ~ParquetReader();
  ParquetReader(ParquetReader&&) noexcept;
  ParquetReader& operator=(ParquetReader&&) noexcept;
  ParquetReader(const ParquetReader&) = delete;
  ParquetReader& operator=(const ParquetReader&) = delete;

  // Every leaf column of the file at `path` as a dotted path, in schema order (nested ones are
  // listed but cannot be read).
  static std::vector<std::string> list_columns(const std::string& path);

  const std::string& path() const;
  const std::string& column() const;

  std::size_t num_row_groups() const;
  std::int64_t num_rows() const;
  std::int64_t num_rows(std::size_t row_group) const;

  // The column's values in row group `row_group`, in row order, nulls skipped. Safe to call
  // from several threads at once (reads use pread on one descriptor).
  std::vector<std::string> read_row_group(std::size_t row_group) const;
  // Same, one entry per row, with nulls as std::nullopt.
  std::vector<std::optional<std::string>> read_row_group_nullable(std::size_t row_group) const;

  // Streams row groups first, first + stride, ... to fn(index, texts) - nanochat's loader uses
  // first = rank, stride = world size. fn returns false to stop early.
  void for_each_row_group(const std::function<bool(std::size_t, std::vector<std::string>&)>& fn,
                          std::size_t first = 0, std::size_t stride = 1) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nanochat
