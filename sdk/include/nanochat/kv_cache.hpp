// Keys and values of past positions for incremental decoding, as nanochat's engine keeps
// them: one tensor (layers, 2, batch, kv_heads, time, head_dim), allocated on the first
// insert in the keys' dtype and device, growing by whole 1024-position blocks.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <utility>

namespace nanochat {

class KVCache {
 public:
  // `capacity` positions are reserved at first use; more are added as needed.
  KVCache(int64_t batch_size, int64_t num_kv_heads, int64_t head_dim, int64_t num_layers,
          int64_t capacity);

  int64_t batch_size() const { return batch_size_; }
  int64_t num_layers() const { return num_layers_; }
  // Positions already stored (and the rotary offset of the next token).
  int64_t pos() const { return pos_; }
  // Positions the storage holds before it must grow.
  int64_t capacity() const { return capacity_; }
  const at::Tensor& storage() const { return storage_; }

  // Stores k, v (batch, kv_heads, T, head_dim) of `layer` at [pos, pos+T) and returns
  // views of [0, pos+T). The last layer's insert advances pos by T.
  std::pair<at::Tensor, at::Tensor> insert(int64_t layer, const at::Tensor& k, const at::Tensor& v);

  // Starts this (empty) cache from another one's content, e.g. a prompt prefilled once at
  // batch 1 and then sampled many times: batch 1 is broadcast to this batch size.
  void prefill(const KVCache& other);

  void reset() { pos_ = 0; }

 private:
  void grow(int64_t needed);

  int64_t batch_size_;
  int64_t num_kv_heads_;
  int64_t head_dim_;
  int64_t num_layers_;
  int64_t capacity_;
  int64_t pos_ = 0;
  at::Tensor storage_;
};

}  // namespace nanochat
