// The huge-page block behind the model's weights (see nanochat/huge_page_arena.hpp).
#include "nanochat/huge_page_arena.hpp"

#include <ATen/ATen.h>

#include <fmt/format.h>

#include <cstdlib>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "nanochat/error.hpp"

namespace nanochat {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;
constexpr size_t kAlignment = 64;

size_t round_up(size_t value, size_t multiple) { return (value + multiple - 1) / multiple * multiple; }

}  // namespace

HugePageArena::HugePageArena(size_t bytes) : capacity_(round_up(bytes, kHugePage)) {
  void* block = std::aligned_alloc(kHugePage, capacity_);
  if (block == nullptr) {
    throw Error(fmt::format("cannot allocate {:.1f} MB of host memory for the model's weights", capacity_ / 1e6));
  }
#if defined(MADV_HUGEPAGE)
  // Advice only: where transparent huge pages are off, the block simply keeps 4 KB pages.
  madvise(block, capacity_, MADV_HUGEPAGE);
#endif
  block_.reset(block, [](void* p) { std::free(p); });
}

at::Tensor HugePageArena::take(at::IntArrayRef sizes, at::ScalarType dtype) {
  int64_t elements = 1;
  for (int64_t size : sizes) elements *= size;
  const size_t bytes = static_cast<size_t>(elements) * c10::elementSize(dtype);
  const size_t offset = round_up(used_, kAlignment);
  if (offset + bytes > capacity_) {
    throw Error(fmt::format("huge-page arena of {} bytes has no room for {} more", capacity_, bytes));
  }
  used_ = offset + bytes;
  void* data = static_cast<char*>(block_.get()) + offset;
  // Each tensor holds the block, so it outlives the arena object as long as tensors do.
  return at::from_blob(
      data, sizes, [block = block_](void*) {}, at::TensorOptions().dtype(dtype).device(at::kCPU));
}

}  // namespace nanochat
