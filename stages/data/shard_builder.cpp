// The data stage's shard cutting (shard_builder.hpp). Up to two shards of tokens stay in memory:
// a train shard is written only while at least a full shard remains behind it, so the val
// shard can be cut from the end once the stream's length is known.
#include "shard_builder.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "nanochat/error.hpp"

namespace fs = std::filesystem;

namespace nanochat::data_stage {

std::string shard_file_name(size_t index) { return fmt::format("shard_{:05d}.bin", index); }

ShardBuilder::ShardBuilder(fs::path dir, uint64_t shard_tokens, double val_fraction, uint32_t vocab_size,
                           TokenId bos_id)
    : dir_(std::move(dir)),
      shard_tokens_(shard_tokens),
      val_fraction_(val_fraction),
      vocab_size_(vocab_size),
      bos_id_(bos_id) {
  if (shard_tokens_ == 0) throw UsageError("--shard-tokens must be at least 1");
  if (!(val_fraction_ > 0 && val_fraction_ < 1)) {
    throw UsageError(fmt::format("--val-fraction must be between 0 and 1 (exclusive), not {}", val_fraction_));
  }
}

void ShardBuilder::add(const std::vector<std::vector<TokenId>>& documents) {
  for (const auto& document : documents) {
    pending_.insert(pending_.end(), document.begin(), document.end());
    total_ += document.size();
  }
  while (pending_.size() >= 2 * shard_tokens_) write_shard(DataSplit::train, shard_tokens_);
}

std::vector<TokenShardEntry> ShardBuilder::finish() {
  if (total_ < 2) {
    throw Error(fmt::format("the corpus gave {} tokens, too few for a train and a val shard; give a bigger corpus",
                            total_));
  }
  const auto wanted = static_cast<uint64_t>(std::ceil(static_cast<double>(total_) * val_fraction_));
  const uint64_t val = std::clamp<uint64_t>(wanted, 1, std::min(shard_tokens_, total_ - 1));
  while (pending_.size() > val) write_shard(DataSplit::train, std::min(shard_tokens_, pending_.size() - val));
  write_shard(DataSplit::val, pending_.size());
  return shards_;
}

void ShardBuilder::write_shard(DataSplit split, uint64_t count) {
  TokenShardEntry entry;
  entry.file = shard_file_name(shards_.size());
  entry.split = split;
  entry.tokens = count;
  entry.documents = static_cast<uint64_t>(std::count(pending_.begin(), pending_.begin() + count, bos_id_));
  entry.checksum =
      write_token_shard(dir_ / entry.file, pending_.data(), count, entry.documents, vocab_size_).payload_checksum;
  pending_.erase(pending_.begin(), pending_.begin() + count);
  shards_.push_back(entry);
  if (on_shard) on_shard(entry);
}

}  // namespace nanochat::data_stage
