// Cuts the token stream of the data stage into shards: train shards of --shard-tokens tokens as
// the stream goes, and at the end a validation shard holding the stream's last tokens. The
// validation shard holds val_fraction of all tokens (at least 1, at most one shard), so even a
// corpus smaller than one shard gives a train and a val split. Shards cut the stream anywhere,
// documents included: the loader reads each split as one stream anyway.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <vector>

#include "nanochat/token_shard.hpp"

namespace nanochat::data_stage {

class ShardBuilder {
 public:
  ShardBuilder(std::filesystem::path dir, uint64_t shard_tokens, double val_fraction, uint32_t vocab_size,
               TokenId bos_id);

  // Appends documents (each starting with BOS) and writes the train shards that are full.
  void add(const std::vector<std::vector<TokenId>>& documents);
  // Writes what is left: the last train shards and the val shard. Throws Error when the stream
  // has fewer than 2 tokens (nothing to split).
  std::vector<TokenShardEntry> finish();

  uint64_t tokens() const { return total_; }
  // Called after each shard is written, for progress lines.
  std::function<void(const TokenShardEntry&)> on_shard;

 private:
  // Writes the first `count` pending tokens as the next shard.
  void write_shard(DataSplit split, uint64_t count);

  std::filesystem::path dir_;
  uint64_t shard_tokens_;
  double val_fraction_;
  uint32_t vocab_size_;
  TokenId bos_id_;
  std::vector<TokenId> pending_;
  uint64_t total_ = 0;
  std::vector<TokenShardEntry> shards_;
};

// "shard_00000.bin", ...
std::string shard_file_name(size_t index);

}  // namespace nanochat::data_stage
