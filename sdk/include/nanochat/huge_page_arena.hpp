// Host tensors carved out of one block of memory that asks Linux for 2 MB pages
// (transparent huge pages, madvise mode). Decoding streams every weight of the model once
// per token; with 4 KB pages that stream takes a TLB miss every 4 KB, which costs 10-15%
// of its speed. The block lives until the last tensor taken from it is gone.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstddef>
#include <memory>

namespace nanochat {

class HugePageArena {
 public:
  // Reserves `bytes` (rounded up to whole 2 MB pages); pages are mapped when first written.
  // Throws Error when the memory cannot be had.
  explicit HugePageArena(size_t bytes);

  // An uninitialized CPU tensor of `sizes` and `dtype`, 64-byte aligned, from the block.
  // Throws Error when the block has no room left.
  at::Tensor take(at::IntArrayRef sizes, at::ScalarType dtype);

  size_t capacity() const { return capacity_; }

 private:
  std::shared_ptr<void> block_;
  size_t capacity_;
  size_t used_ = 0;
};

}  // namespace nanochat
