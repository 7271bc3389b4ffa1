// GzFile (see gz_file.hpp).
#include "gz_file.hpp"

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "nanochat/error.hpp"

namespace nanochat {

GzFile::GzFile(const std::filesystem::path& path) : path_(path) {
  file_ = gzopen(path.c_str(), "rb");
  if (file_ == nullptr) {
    throw Error(fmt::format("{}: cannot open: {}", path.string(), errno ? std::strerror(errno) : "out of memory"));
  }
  gzbuffer(file_, 1 << 17);
}

GzFile::~GzFile() { gzclose(file_); }

bool GzFile::read(std::string& out, size_t max) {
  const size_t old = out.size();
  out.resize(old + max);
  const int n = gzread(file_, out.data() + old, static_cast<unsigned>(max));
  if (n < 0) {
    int code = 0;
    const char* message = gzerror(file_, &code);
    out.resize(old);
    throw Error(fmt::format("{}: cannot read: {}", path_.string(), code == Z_ERRNO ? std::strerror(errno) : message));
  }
  out.resize(old + static_cast<size_t>(n));
  if (n == 0) {
    int code = 0;
    gzerror(file_, &code);
    if (code == Z_BUF_ERROR) throw Error(fmt::format("{}: cannot read: the gzip data is truncated", path_.string()));
  }
  return n > 0;
}

}  // namespace nanochat
