// x Wᵀ for the GPT's matrices. Decoding multiplies a handful of rows by every weight
// matrix once per token, so its speed is the speed at which the weights stream from
// memory; ATen's GEMM reaches about a third of that for one row on the CPU. The
// streaming kernel reads each weight row once, front to back, and multiplies it by every
// row of x while it is in cache. Many rows (prefill, training) stay with ATen's GEMM.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <vector>

#include "fast_math.hpp"
#include "nanochat/gpt_ops.hpp"

namespace nanochat::ops {
namespace {

// Up to this many rows of x, streaming the weights beats the GEMM (measured on 2 AVX2
// cores: 3-4.6× at one row, 2× at eight).
constexpr int64_t kStreamRows = 16;
// Weight rows multiplied against all rows of x before moving on: small enough to stay in
// L1/L2 while each pair of x rows passes over them.
constexpr int64_t kRowBlock = 8;
// Independent accumulators per dot product (two AVX2 registers), so the adds pipeline.
using fast::kLanes;

// dot(w, a) and dot(w, b) in one pass over w.
__attribute__((always_inline)) inline void dot2(const float* w, const float* a, const float* b, int64_t n,
                                                float* out_a, float* out_b) {
  float acc_a[kLanes] = {}, acc_b[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int l = 0; l < kLanes; ++l) {
      acc_a[l] += w[i + l] * a[i + l];
      acc_b[l] += w[i + l] * b[i + l];
    }
  }
  float total_a = 0.0f, total_b = 0.0f;
  for (; i < n; ++i) {
    total_a += w[i] * a[i];
    total_b += w[i] * b[i];
  }
  for (int l = 0; l < kLanes; ++l) {
    total_a += acc_a[l];
    total_b += acc_b[l];
  }
  *out_a = total_a;
  *out_b = total_b;
}

struct StreamShape {
  int64_t rows, in, out;
};

// y[r, o] = dot(w[o, :], x[r, :]) for o in [begin, end).
NANOCHAT_SIMD_CLONES void stream_linear_f32(const float* w, const float* x, float* y, StreamShape shape,
                                            int64_t begin, int64_t end) {
  const int64_t in = shape.in, out = shape.out;
  for (int64_t block = begin; block < end; block += kRowBlock) {
    const int64_t block_end = std::min(end, block + kRowBlock);
    int64_t r = 0;
    for (; r + 2 <= shape.rows; r += 2) {
      for (int64_t o = block; o < block_end; ++o) {
        dot2(w + o * in, x + r * in, x + (r + 1) * in, in, &y[r * out + o], &y[(r + 1) * out + o]);
      }
    }
    if (r < shape.rows) {
      for (int64_t o = block; o < block_end; ++o) y[r * out + o] = fast::dot(w + o * in, x + r * in, in);
    }
  }
}

bool streams(const at::Tensor& x, const at::Tensor& weight) {
  if (!x.device().is_cpu() || !weight.device().is_cpu()) return false;
  if (x.scalar_type() != at::kFloat || weight.scalar_type() != at::kFloat) return false;
  if (weight.dim() != 2 || !weight.is_contiguous() || x.dim() < 1 || x.size(-1) != weight.size(1)) return false;
  if (at::GradMode::is_enabled() && (x.requires_grad() || weight.requires_grad())) return false;
  const int64_t in = weight.size(1);
  return in > 0 && x.numel() / in <= kStreamRows;
}

}  // namespace

at::Tensor linear(const at::Tensor& x, const at::Tensor& weight) {
  if (!streams(x, weight)) return at::linear(x, weight);
  const at::Tensor input = x.contiguous();
  const StreamShape shape{input.numel() / weight.size(1), weight.size(1), weight.size(0)};
  std::vector<int64_t> sizes(x.sizes().begin(), x.sizes().end());
  sizes.back() = shape.out;
  at::Tensor y = at::empty(sizes, x.options());
  if (shape.rows == 0) return y;
  const float* w = weight.const_data_ptr<float>();
  const float* xs = input.const_data_ptr<float>();
  float* ys = y.data_ptr<float>();
  // One contiguous share of the rows per thread, which the prefetchers stream best (taking
  // smaller chunks in turn measured slower), with enough weights to outweigh a task.
  const int64_t grain = std::max<int64_t>(kRowBlock, 65536 / shape.in);
  at::parallel_for(0, shape.out, grain, [&](int64_t begin, int64_t end) {
    stream_linear_f32(w, xs, ys, shape, begin, end);
  });
  return y;
}

}  // namespace nanochat::ops
