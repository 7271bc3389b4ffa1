// A file read in blocks through zlib, whether or not it is gzip-compressed (gzread passes
// plain files through). Internal to libnanochat_core: the corpus reader and the task data
// readers share it.
#pragma once

#include <zlib.h>

#include <filesystem>
#include <string>

namespace nanochat {

class GzFile {
 public:
  // Throws Error naming the file when it cannot be opened.
  explicit GzFile(const std::filesystem::path& path);
  ~GzFile();
  GzFile(const GzFile&) = delete;
  GzFile& operator=(const GzFile&) = delete;

  // Appends up to `max` bytes to `out`; returns false at the end of the file. Throws Error
  // naming the file on a read error or truncated gzip data.
  bool read(std::string& out, size_t max);

 private:
  std::filesystem::path path_;
  gzFile file_ = nullptr;
};

}  // namespace nanochat
