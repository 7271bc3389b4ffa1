// Rendered conversations as training batches for the chat stages (nanochat's mid_train.py
// and chat_sft.py):
//   - PackedRows: every conversation's tokens in one stream, cut into rows of T+1 tokens
//     (row j is tokens [j·T, j·T + T + 1)), every token a target — midtraining;
//   - PaddedRows: one conversation per row, padded with <|assistant_end|> to the longest
//     row of the micro-batch, targets -1 where the render mask is 0 and on padding — SFT
//     (a conversation cut so short that it trains on nothing is left out).
// Both hand out rows as the pretraining loader does: the rows (or conversations) of a step
// are the same whatever the split into ranks, device batch and accumulation, so 2 ranks
// train like 1 process, and the position is one number, so a resume is exact.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "nanochat/conversation.hpp"
#include "nanochat/train_loop.hpp"

namespace nanochat {

// Where a rank stands in a list of rows shared by all ranks.
struct RowCursor {
  int rank = 0;
  int world_size = 1;
  uint64_t taken = 0;  // rows taken by all ranks together

  // The first row of this rank's next micro-batch of `rows` rows; advances past the
  // micro-batches of every rank.
  uint64_t advance(int64_t rows);
};

class PackedRows : public TrainData {
 public:
  PackedRows(std::vector<TokenId> stream, int64_t seq_len, int rank, int world_size, c10::Device device);

  uint64_t rows() const { return rows_; }          // rows in one epoch
  uint64_t tokens() const { return stream_.size(); }
  Batch next(int64_t rows) override;
  nlohmann::json state() const override;
  void restore(const nlohmann::json& state) override;
  // Rows [first, first + count) wrapped around the epoch, as a batch.
  Batch batch(uint64_t first, int64_t count) const;

 private:
  std::vector<TokenId> stream_;
  int64_t seq_len_;
  uint64_t rows_;
  RowCursor cursor_;
  c10::Device device_;
};

class PaddedRows : public TrainData {
 public:
  PaddedRows(std::vector<RenderedConversation> rows, TokenId pad, int rank, int world_size, c10::Device device);

  uint64_t rows() const { return rows_.size(); }
  // Conversations left out because no token they train on fits in the row.
  uint64_t dropped() const { return dropped_; }
  Batch next(int64_t rows) override;
  nlohmann::json state() const override;
  void restore(const nlohmann::json& state) override;
  // Conversations [first, first + count) wrapped around the epoch, as a batch.
  Batch batch(uint64_t first, int64_t count) const;

 private:
  std::vector<RenderedConversation> rows_;
  uint64_t dropped_ = 0;
  TokenId pad_;
  RowCursor cursor_;
  c10::Device device_;
};

// A fixed evaluation pass over a TrainData-like list of rows: this rank's batches of
// `batch_rows` rows, strided over the ranks, covering at most `max_rows` rows.
template <typename Rows>
std::vector<Batch> eval_batches(const Rows& rows, int64_t batch_rows, uint64_t max_rows, int rank, int world_size) {
  std::vector<Batch> batches;
  const uint64_t total = std::min<uint64_t>(rows.rows(), max_rows);
  const uint64_t per_round = static_cast<uint64_t>(batch_rows) * static_cast<uint64_t>(world_size);
  for (uint64_t first = static_cast<uint64_t>(rank) * batch_rows; first < total; first += per_round) {
    batches.push_back(rows.batch(first, static_cast<int64_t>(std::min<uint64_t>(batch_rows, total - first))));
  }
  return batches;
}

}  // namespace nanochat
