// Packed and padded chat rows (see nanochat/chat_data.hpp).
#include "nanochat/chat_data.hpp"

#include <ATen/ATen.h>

#include <algorithm>

#include "nanochat/error.hpp"

namespace nanochat {
namespace {

Batch to_device(at::Tensor inputs, at::Tensor targets, c10::Device device) {
  Batch batch;
  batch.inputs = inputs.to(device);
  batch.targets = targets.to(device);
  return batch;
}

uint64_t taken_from(const nlohmann::json& state, const char* kind, uint64_t rows) {
  if (!state.is_object() || state.value("kind", "") != kind || !state.contains("taken")) {
    throw Error(std::string("the checkpoint's data position is not that of ") + kind +
                " rows: it was saved by another stage or is damaged");
  }
  const uint64_t saved_rows = state.value("rows", uint64_t{0});
  if (saved_rows != rows) {
    throw Error(std::string("the checkpoint was saved over ") + std::to_string(saved_rows) + " " + kind +
                " rows and this run has " + std::to_string(rows) + ": the mixture, seed or tokenizer differ");
  }
  return state.at("taken").get<uint64_t>();
}

}  // namespace

uint64_t RowCursor::advance(int64_t rows) {
  const uint64_t first = taken + static_cast<uint64_t>(rank) * static_cast<uint64_t>(rows);
  taken += static_cast<uint64_t>(rows) * static_cast<uint64_t>(world_size);
  return first;
}

PackedRows::PackedRows(std::vector<TokenId> stream, int64_t seq_len, int rank, int world_size, c10::Device device)
    : stream_(std::move(stream)), seq_len_(seq_len), cursor_{rank, world_size, 0}, device_(device) {
  if (seq_len_ < 1 || stream_.size() < static_cast<size_t>(seq_len_) + 1) {
    throw Error("the rendered conversations hold " + std::to_string(stream_.size()) + " tokens, fewer than one row of " +
                std::to_string(seq_len_ + 1) + ": use more data or a shorter --max-seq-len");
  }
  rows_ = (stream_.size() - 1) / static_cast<uint64_t>(seq_len_);
}

Batch PackedRows::batch(uint64_t first, int64_t count) const {
  at::Tensor rows = at::empty({count, seq_len_ + 1}, at::kLong);
  auto out = rows.accessor<int64_t, 2>();
  for (int64_t r = 0; r < count; ++r) {
    const uint64_t start = ((first + static_cast<uint64_t>(r)) % rows_) * static_cast<uint64_t>(seq_len_);
    for (int64_t t = 0; t <= seq_len_; ++t) out[r][t] = stream_[start + static_cast<uint64_t>(t)];
  }
  return to_device(rows.narrow(1, 0, seq_len_), rows.narrow(1, 1, seq_len_), device_);
}

Batch PackedRows::next(int64_t rows) { return batch(cursor_.advance(rows), rows); }

nlohmann::json PackedRows::state() const { return {{"kind", "packed"}, {"rows", rows_}, {"taken", cursor_.taken}}; }

void PackedRows::restore(const nlohmann::json& state) { cursor_.taken = taken_from(state, "packed", rows_); }

PaddedRows::PaddedRows(std::vector<RenderedConversation> rows, TokenId pad, int rank, int world_size, c10::Device device)
    : pad_(pad), cursor_{rank, world_size, 0}, device_(device) {
  for (auto& row : rows) {
    // Only targets 1.. train (the first token is never a target).
    if (std::find(row.mask.begin() + (row.mask.empty() ? 0 : 1), row.mask.end(), 1) != row.mask.end()) {
      rows_.push_back(std::move(row));
    } else {
      ++dropped_;
    }
  }
  if (rows_.empty()) throw Error("no conversations to train on: the mixture is empty or no row keeps a trained token");
}

Batch PaddedRows::batch(uint64_t first, int64_t count) const {
  size_t longest = 2;
  for (int64_t r = 0; r < count; ++r) longest = std::max(longest, rows_[(first + static_cast<uint64_t>(r)) % rows_.size()].ids.size());
  const int64_t columns = static_cast<int64_t>(longest) - 1;
  at::Tensor inputs = at::full({count, columns}, static_cast<int64_t>(pad_), at::kLong);
  at::Tensor targets = at::full({count, columns}, int64_t{-1}, at::kLong);
  auto in = inputs.accessor<int64_t, 2>();
  auto out = targets.accessor<int64_t, 2>();
  for (int64_t r = 0; r < count; ++r) {
    const RenderedConversation& row = rows_[(first + static_cast<uint64_t>(r)) % rows_.size()];
    for (size_t t = 0; t + 1 < row.ids.size(); ++t) {
      in[r][static_cast<int64_t>(t)] = row.ids[t];
      // The target of position t is token t+1, trained only where the render marks it.
      if (row.mask[t + 1]) out[r][static_cast<int64_t>(t)] = row.ids[t + 1];
    }
  }
  return to_device(inputs, targets, device_);
}

Batch PaddedRows::next(int64_t rows) { return batch(cursor_.advance(rows), rows); }

nlohmann::json PaddedRows::state() const {
  return {{"kind", "padded"}, {"rows", static_cast<uint64_t>(rows_.size())}, {"taken", cursor_.taken}};
}

void PaddedRows::restore(const nlohmann::json& state) { cursor_.taken = taken_from(state, "padded", rows_.size()); }

}  // namespace nanochat
