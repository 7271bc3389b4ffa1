// The pretraining data loader: the train (or val) shards of base_data/ read as one token stream,
// cut into rows of T+1 tokens, served as int64 (B, T) inputs and targets on the device.
//
// Which tokens a batch holds is a pure function of (batch number, rank, world size), so runs are
// reproducible and a resume continues exactly:
//   - row g of the stream is tokens [j·T, j·T + T + 1) with j = g mod R, where R = (N - 1) / T
//     rows fit in the split's N tokens (rows overlap by the one token that is both the last
//     target of a row and the first input of the next; the epoch of row g is g / R);
//   - the b-th batch of rank r in a world of w holds rows (b·w + r)·B ... (b·w + r)·B + B - 1.
// So the w ranks' b-th batches, stacked in rank order, are exactly the b-th batch of a world of
// one with batch w·B, and batches b·a ... b·a + a - 1 (gradient accumulation a) cover the same
// rows whatever the split of the total batch into B, a and w.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "nanochat/token_shard.hpp"

namespace nanochat {

struct DataLoaderOptions {
  std::filesystem::path data_dir;  // the shard folder, usually artifact_dir(Artifact::base_data, base)
  DataSplit split = DataSplit::train;
  int64_t batch_size = 1;  // B, rows per rank and batch
  int64_t seq_len = 1;     // T
  int rank = 0;
  int world_size = 1;
  c10::Device device = c10::Device(c10::kCPU);
  // When set, shards made with a tokenizer of another fingerprint are refused.
  std::optional<uint64_t> tokenizer_fingerprint;
  // Check every shard's payload checksum and token range when opening (reads each shard once).
  bool verify_checksums = true;
};

struct Batch {
  at::Tensor inputs;   // int64 (B, T) on the device
  at::Tensor targets;  // int64 (B, T): inputs shifted by one token
  uint64_t epoch = 0;  // epoch of the batch's first row
};

// Where a loader stands: the rows taken so far by all ranks together, and what they were taken
// from. Saved in checkpoint metadata as JSON.
struct DataLoaderState {
  std::string split = "train";
  std::string dataset;    // fingerprint (hex) of the split's shards and tokenizer
  int64_t seq_len = 0;
  uint64_t rows = 0;      // rows consumed by all ranks: batches · world_size · batch_size
  int64_t batch_size = 0;  // of the run that saved it, for messages and checks
  int world_size = 0;
  uint64_t epoch = 0;     // informational: the epoch of the next row

  std::string to_json() const;
  // Throws Error on malformed JSON, naming the field.
  static DataLoaderState from_json(std::string_view json);
};

class TokenStream;

class DataLoader {
 public:
  // Opens the split's shards listed in the folder's index.json. Throws Error when the index or
  // a shard is missing, truncated or corrupt, when a shard does not match the index, when the
  // tokenizer fingerprint differs, or when the split holds fewer than T + 1 tokens.
  explicit DataLoader(const DataLoaderOptions& options);

  // This rank's next batch.
  Batch next();
  // This rank's batch number `index`, without moving.
  Batch batch_at(uint64_t index) const;

  // Batches this rank has taken.
  uint64_t position() const { return position_; }
  DataLoaderState state() const;
  // Continues after the batches a saved state had taken. Any batch size and world size may
  // resume as long as the rows taken so far are a whole number of their batches
  // (rows % (world_size · batch_size) == 0); a state of another split, shard set, tokenizer or
  // sequence length is refused with an Error that says which.
  void restore(const DataLoaderState& state);

  uint64_t tokens() const;         // N, tokens in the split
  uint64_t rows_per_epoch() const;  // R
  const DataLoaderOptions& options() const { return options_; }

 private:
  DataLoaderOptions options_;
  std::shared_ptr<const TokenStream> stream_;
  uint64_t position_ = 0;
};

// A fixed evaluation pass, the same at every call: batches 0, 1, ... of a fresh loader (usually
// the val split), as many as make eval_tokens across all ranks (nanochat: eval_tokens /
// (B·T·world), at least 1), but no more than one epoch of rows when the split is that small.
class EvalBatches {
 public:
  EvalBatches(const DataLoader& loader, uint64_t eval_tokens);

  uint64_t steps() const { return steps_; }
  // The next batch, or nullopt after steps() batches.
  std::optional<Batch> next();

 private:
  DataLoader loader_;
  uint64_t steps_ = 0;
  uint64_t taken_ = 0;
};

}  // namespace nanochat
