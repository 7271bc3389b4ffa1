// Pretraining token shards: the file format `nanochat run data` writes under base_data/ and the
// data loader reads, and the folder index that says which shards make the train and val splits.
// Torch-free.
//
// A shard (shard_NNNNN.bin) is a 64-byte header followed by the tokens, all little-endian:
//
//   offset size  field
//        0    8  magic "NCTOKENS"
//        8    4  u32 format version (1)
//       12    4  u32 token width in bytes: 2 (uint16, when vocab_size <= 65536) or 4 (uint32)
//       16    8  u64 token count
//       24    8  u64 document count: documents that start in this shard (each starts with BOS;
//                a document may continue into the next shard, the splits are one stream)
//       32    8  u64 XXH64 (seed 0) of the payload bytes
//       40    4  u32 vocab size: every token is below it
//       44   12  reserved, zero
//       56    8  u64 XXH64 (seed 0) of header bytes 0..55
//       64       payload: token count x token width bytes; the file ends there
//
// index.json beside the shards lists them in stream order with their split, token and document
// counts and checksums, and the tokenizer they were made with (vocab size, BOS id, fingerprint),
// so a loader refuses shards made with another tokenizer. It is written last: a folder without
// one is an unfinished `nanochat run data`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "nanochat/tokenizer.hpp"
#include "nanochat/xxh64.hpp"  // the shard checksum

namespace nanochat {

inline constexpr std::string_view kTokenShardMagic = "NCTOKENS";
inline constexpr uint32_t kTokenShardVersion = 1;
inline constexpr size_t kTokenShardHeaderSize = 64;

// 2 when every id of a vocabulary this size fits in uint16, else 4.
uint32_t token_width_for_vocab(uint64_t vocab_size);

struct TokenShardHeader {
  uint32_t token_width = 2;
  uint64_t tokens = 0;
  uint64_t documents = 0;
  uint64_t payload_checksum = 0;
  uint32_t vocab_size = 0;
};

// Writes a shard atomically (AtomicFileWriter) and returns its header. Throws Error when a
// token is negative or not below vocab_size.
TokenShardHeader write_token_shard(const std::filesystem::path& path, const TokenId* tokens, size_t count,
                                   uint64_t documents, uint32_t vocab_size);

// A shard mapped read-only. Opening checks the header, that the file size is exactly header +
// payload and (with verify) the payload checksum and that every token is below the vocab size;
// a truncated or corrupt file throws Error naming the file and the defect. Move-only.
class TokenShard {
 public:
  explicit TokenShard(const std::filesystem::path& path, bool verify = true);
  ~TokenShard();
  TokenShard(TokenShard&& other) noexcept;
  TokenShard& operator=(TokenShard&& other) noexcept;
  TokenShard(const TokenShard&) = delete;
  TokenShard& operator=(const TokenShard&) = delete;

  const std::filesystem::path& path() const { return path_; }
  const TokenShardHeader& header() const { return header_; }
  uint64_t size() const { return header_.tokens; }

  TokenId at(uint64_t index) const;
  // Tokens [begin, begin + count) into `out`; throws Error when the range is outside the shard.
  void read(uint64_t begin, uint64_t count, int64_t* out) const;
  std::vector<TokenId> read(uint64_t begin, uint64_t count) const;

 private:
  void check_range(uint64_t begin, uint64_t count) const;

  std::filesystem::path path_;
  TokenShardHeader header_;
  const unsigned char* map_ = nullptr;
  size_t map_size_ = 0;
};

enum class DataSplit { train, val };
const char* data_split_name(DataSplit split);

struct TokenShardEntry {
  std::string file;  // name inside the data folder, e.g. "shard_00000.bin"
  DataSplit split = DataSplit::train;
  uint64_t tokens = 0;
  uint64_t documents = 0;
  uint64_t checksum = 0;  // the shard's payload XXH64
};

struct TokenShardIndex {
  static constexpr const char* kFile = "index.json";

  std::string tokenizer;  // the plugin name, e.g. "bpe"
  uint64_t tokenizer_fingerprint = 0;
  uint32_t vocab_size = 0;
  TokenId bos_id = 0;
  std::vector<std::string> sources;  // the corpora, as given
  std::vector<TokenShardEntry> shards;  // in stream order

  // The shards of one split, in stream order.
  std::vector<TokenShardEntry> split(DataSplit split) const;
  uint64_t split_tokens(DataSplit split) const;

  // index.json in `dir`, written atomically.
  void save(const std::filesystem::path& dir) const;
  // Throws Error naming the file (and saying to run `nanochat run data`) when it is missing,
  // malformed, or lists no train or no val shard.
  static TokenShardIndex load(const std::filesystem::path& dir);
};

// Identifies a tokenizer by what it encodes to, whatever its files look like: XXH64 over its
// split pattern and, in id order, every token's bytes and whether it is special.
uint64_t tokenizer_fingerprint(const Tokenizer& tokenizer);

}  // namespace nanochat
