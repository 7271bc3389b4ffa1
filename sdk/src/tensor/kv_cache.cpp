// The KV cache of incremental decoding (nanochat engine.py's KVCache).
#include "nanochat/kv_cache.hpp"

#include <ATen/ATen.h>

#include <fmt/format.h>

#include "nanochat/error.hpp"

namespace nanochat {
namespace {

constexpr int64_t kGrowBlock = 1024;
constexpr int64_t kTimeDim = 4;  // of (layers, 2, batch, heads, time, head_dim)

}  // namespace

KVCache::KVCache(int64_t batch_size, int64_t num_kv_heads, int64_t head_dim, int64_t num_layers,
                 int64_t capacity)
    : batch_size_(batch_size),
      num_kv_heads_(num_kv_heads),
      head_dim_(head_dim),
      num_layers_(num_layers),
      capacity_(capacity) {
  if (batch_size < 1 || num_kv_heads < 1 || head_dim < 1 || num_layers < 1 || capacity < 1) {
    throw Error(fmt::format("KV cache: batch {}, heads {}, head dim {}, layers {} and capacity {} "
                            "must all be positive",
                            batch_size, num_kv_heads, head_dim, num_layers, capacity));
  }
}

void KVCache::grow(int64_t needed) {
  // nanochat's rule: room for 1024 more than needed, in whole 1024-position blocks, so a
  // long generation reallocates rarely.
  int64_t new_capacity = (needed + kGrowBlock + kGrowBlock - 1) / kGrowBlock * kGrowBlock;
  if (storage_.defined()) {
    std::vector<int64_t> shape(storage_.sizes().begin(), storage_.sizes().end());
    shape[kTimeDim] = new_capacity;
    at::Tensor grown = at::empty(shape, storage_.options());
    grown.narrow(kTimeDim, 0, capacity_).copy_(storage_);
    storage_ = grown;
  }
  capacity_ = new_capacity;
}

std::pair<at::Tensor, at::Tensor> KVCache::insert(int64_t layer, const at::Tensor& k,
                                                  const at::Tensor& v) {
  if (layer < 0 || layer >= num_layers_) {
    throw Error(fmt::format("KV cache: layer {} out of range [0, {})", layer, num_layers_));
  }
  if (k.dim() != 4 || k.size(0) != batch_size_ || k.size(1) != num_kv_heads_ ||
      k.size(3) != head_dim_ || v.sizes() != k.sizes()) {
    throw Error(fmt::format("KV cache: expected k and v of shape ({}, {}, T, {}), got {} and {}",
                            batch_size_, num_kv_heads_, head_dim_, c10::str(k.sizes()),
                            c10::str(v.sizes())));
  }
  const int64_t t0 = pos_, t1 = pos_ + k.size(2);
  if (t1 > capacity_) grow(t1);
  if (!storage_.defined()) {
    storage_ = at::empty({num_layers_, 2, batch_size_, num_kv_heads_, capacity_, head_dim_},
                         k.options());
  }
  at::Tensor keys = storage_.select(0, layer).select(0, 0);
  at::Tensor values = storage_.select(0, layer).select(0, 1);
  keys.narrow(2, t0, t1 - t0).copy_(k);
  values.narrow(2, t0, t1 - t0).copy_(v);
  if (layer == num_layers_ - 1) pos_ = t1;
  return {keys.narrow(2, 0, t1), values.narrow(2, 0, t1)};
}

void KVCache::prefill(const KVCache& other) {
  if (storage_.defined() && pos_ > 0) throw Error("KV cache: prefill needs an empty cache");
  if (!other.storage_.defined()) throw Error("KV cache: prefill source holds nothing yet");
  if (other.num_layers_ != num_layers_ || other.num_kv_heads_ != num_kv_heads_ ||
      other.head_dim_ != head_dim_ || (other.batch_size_ != batch_size_ && other.batch_size_ != 1)) {
    throw Error(fmt::format("KV cache: cannot prefill (layers {}, batch {}, heads {}, head dim {}) "
                            "from (layers {}, batch {}, heads {}, head dim {})",
                            num_layers_, batch_size_, num_kv_heads_, head_dim_, other.num_layers_,
                            other.batch_size_, other.num_kv_heads_, other.head_dim_));
  }
  if (other.pos_ > capacity_) grow(other.pos_);
  storage_ = at::empty({num_layers_, 2, batch_size_, num_kv_heads_, capacity_, head_dim_},
                       other.storage_.options());
  storage_.narrow(kTimeDim, 0, other.pos_).copy_(other.storage_.narrow(kTimeDim, 0, other.pos_));
  pos_ = other.pos_;
}

}  // namespace nanochat
