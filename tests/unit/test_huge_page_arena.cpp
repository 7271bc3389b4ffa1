// The huge-page arena behind the model's CPU weights: aligned, non-overlapping tensors that
// outlive the arena object, and a clear error when it is full.
#include "nanochat/huge_page_arena.hpp"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdint>

#include "nanochat/error.hpp"

using nanochat::HugePageArena;

TEST(HugePageArenaTest, TensorsAreAlignedAndDisjoint) {
  HugePageArena arena(1000);
  EXPECT_EQ(arena.capacity(), size_t{2} << 20);  // whole 2 MB pages
  at::Tensor a = arena.take({3, 5}, at::kFloat);
  at::Tensor b = arena.take({7}, at::kFloat);
  at::Tensor c = arena.take({2, 2}, at::kLong);
  for (const at::Tensor& t : {a, b, c}) {
    EXPECT_TRUE(t.device().is_cpu());
    EXPECT_TRUE(t.is_contiguous());
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data_ptr()) % 64, 0u);
  }
  EXPECT_EQ(c.scalar_type(), at::kLong);
  a.fill_(1.0f);
  b.fill_(2.0f);
  c.fill_(3);
  EXPECT_EQ(a.sum().item<float>(), 15.0f);
  EXPECT_EQ(b.sum().item<float>(), 14.0f);
  EXPECT_EQ(c.sum().item<int64_t>(), 12);
  EXPECT_GE(static_cast<char*>(b.data_ptr()), static_cast<char*>(a.data_ptr()) + a.nbytes());
}

TEST(HugePageArenaTest, TensorsOutliveTheArena) {
  at::Tensor kept;
  {
    HugePageArena arena(4096);
    kept = arena.take({256}, at::kFloat).fill_(4.0f);
  }
  EXPECT_EQ((kept * 2).sum().item<float>(), 2048.0f);
}

TEST(HugePageArenaTest, FullArenaThrows) {
  HugePageArena arena(1);
  arena.take({(int64_t{2} << 20) / 4}, at::kFloat);  // exactly the 2 MB
  EXPECT_THROW(arena.take({1}, at::kFloat), nanochat::Error);
}
