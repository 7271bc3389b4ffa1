// XXH64, xxHash's 64-bit hash (from Debian's libxxhash): the checksum of token shards and of
// checkpoint files. Fast enough (several GB/s) that hashing a file just written costs little
// next to writing it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

namespace nanochat {

// XXH64 of `size` bytes.
uint64_t xxh64(const void* data, size_t size, uint64_t seed = 0);

struct FileDigest {
  uint64_t xxh64 = 0;  // seed 0
  uint64_t bytes = 0;
};

// XXH64 and size of a whole file, read in blocks (checkpoints can be gigabytes). Throws
// Error naming the file when it cannot be read.
FileDigest digest_file(const std::filesystem::path& file);

// A 64-bit value as 16 lowercase hex digits (how index.json, loader states and checkpoint
// metas store hashes).
std::string hex64(uint64_t value);

}  // namespace nanochat
