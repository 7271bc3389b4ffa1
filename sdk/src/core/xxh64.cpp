// XXH64 through libxxhash, streamed over files.
#include "nanochat/xxh64.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <xxhash.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "nanochat/error.hpp"

namespace nanochat {
namespace {

// 1 MiB reads: large enough that the syscalls cost nothing next to the hashing, small
// enough to stay in L2 while it is hashed.
constexpr size_t kBlockBytes = size_t{1} << 20;

struct StateDeleter {
  void operator()(XXH64_state_t* state) const { XXH64_freeState(state); }
};

struct FdCloser {
  int fd;
  ~FdCloser() { ::close(fd); }
};

[[noreturn]] void fail(const std::filesystem::path& file, const char* what, int err) {
  throw Error(fmt::format("cannot {} {}: {}", what, file.string(), std::strerror(err)));
}

}  // namespace

uint64_t xxh64(const void* data, size_t size, uint64_t seed) { return XXH64(data, size, seed); }

FileDigest digest_file(const std::filesystem::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(file, "open", errno);
  FdCloser closer{fd};
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  std::unique_ptr<XXH64_state_t, StateDeleter> state(XXH64_createState());
  if (!state || XXH64_reset(state.get(), 0) != XXH_OK) throw Error("XXH64: cannot allocate the hash state");
  std::vector<unsigned char> block(kBlockBytes);
  FileDigest digest;
  for (;;) {
    const ssize_t got = ::read(fd, block.data(), block.size());
    if (got < 0) {
      if (errno == EINTR) continue;
      fail(file, "read", errno);
    }
    if (got == 0) break;
    XXH64_update(state.get(), block.data(), static_cast<size_t>(got));
    digest.bytes += static_cast<uint64_t>(got);
  }
  digest.xxh64 = XXH64_digest(state.get());
  return digest;
}

std::string hex64(uint64_t value) { return fmt::format("{:016x}", value); }

}  // namespace nanochat
