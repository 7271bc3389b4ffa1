// Causal attention through LibTorch's scaled_dot_product_attention, with nanochat's three
// cases for queries that continue a KV cache, and the written-out softmax it must equal.
// Decoding (one query per row, on the CPU, no gradient) has a kernel of its own: it reads
// each cached key and value once, where SDPA's reached about half the memory bandwidth at
// long contexts.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "fast_math.hpp"
#include "nanochat/error.hpp"
#include "nanochat/gpt_ops.hpp"

namespace nanochat::ops {
namespace {

struct DecodeShape {
  int64_t keys, dim;
  float scale;
};

// One query row q (dim) over `keys` cached rows of k and v (row stride `stride`):
// out = softmax(q·kᵀ·scale)·v, with the scores in `scores` (keys floats).
NANOCHAT_SIMD_CLONES void decode_attention_row(const float* q, const float* k, const float* v, int64_t stride,
                                               float* out, float* scores, DecodeShape shape) {
  float best = -std::numeric_limits<float>::infinity();
  for (int64_t t = 0; t < shape.keys; ++t) {
    scores[t] = fast::dot(q, k + t * stride, shape.dim) * shape.scale;
    best = fast::max(best, scores[t]);
  }
  float total = 0.0f;
  for (int64_t t = 0; t < shape.keys; ++t) {
    scores[t] = fast::exp(scores[t] - best);
    total += scores[t];
  }
  for (int64_t j = 0; j < shape.dim; ++j) out[j] = 0.0f;
  for (int64_t t = 0; t < shape.keys; ++t) {
    const float* value = v + t * stride;
    const float weight = scores[t] / total;
    for (int64_t j = 0; j < shape.dim; ++j) out[j] += weight * value[j];
  }
}

bool decodes_on_cpu(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
  const bool wants_grad = at::GradMode::is_enabled() && (q.requires_grad() || k.requires_grad() || v.requires_grad());
  // Each (batch, head) block of k and v must be rows of head_dim values (a KV cache's view).
  auto rows_of_dim = [](const at::Tensor& t) { return t.stride(3) == 1 && t.stride(2) >= t.size(3); };
  return q.size(2) == 1 && q.device().is_cpu() && !wants_grad && q.scalar_type() == at::kFloat &&
         k.scalar_type() == at::kFloat && v.scalar_type() == at::kFloat && rows_of_dim(k) && rows_of_dim(v) &&
         k.stride(2) == v.stride(2);
}

at::Tensor decode_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
  const int64_t batch = q.size(0), heads = q.size(1), dim = q.size(3), kv_heads = k.size(1);
  const at::Tensor query = q.contiguous();
  at::Tensor out = at::empty(q.sizes(), q.options());
  const DecodeShape shape{k.size(2), dim, static_cast<float>(1.0 / std::sqrt(static_cast<double>(dim)))};
  const float* qs = query.const_data_ptr<float>();
  const float* ks = k.const_data_ptr<float>();
  const float* vs = v.const_data_ptr<float>();
  float* outs = out.data_ptr<float>();
  at::parallel_for(0, batch * heads, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> scores(static_cast<size_t>(shape.keys));
    for (int64_t row = begin; row < end; ++row) {
      const int64_t b = row / heads, h = row % heads, g = h / (heads / kv_heads);
      decode_attention_row(qs + row * dim, ks + b * k.stride(0) + g * k.stride(1), vs + b * v.stride(0) + g * v.stride(1),
                           k.stride(2), outs + row * dim, scores.data(), shape);
    }
  });
  return out;
}

void check_shapes(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
  bool ok = q.dim() == 4 && k.dim() == 4 && v.sizes() == k.sizes() && q.size(0) == k.size(0) &&
            q.size(3) == k.size(3) && k.size(1) > 0 && q.size(1) % k.size(1) == 0 &&
            q.size(2) <= k.size(2);
  if (!ok) {
    throw Error("causal_attention: expected q (B, H, Tq, D) and k, v (B, Hkv, Tk, D) with H a "
                "multiple of Hkv and Tq <= Tk; got q " + std::string(c10::str(q.sizes())) +
                ", k " + std::string(c10::str(k.sizes())) + ", v " + std::string(c10::str(v.sizes())));
  }
}

// True where query i (the (Tk − Tq + i)-th position) may look: every cached key, then
// causal within the chunk.
at::Tensor prefix_causal_mask(int64_t tq, int64_t tk, const at::Device& device) {
  return at::ones({tq, tk}, at::TensorOptions().dtype(at::kBool).device(device)).tril(tk - tq);
}

}  // namespace

at::Tensor causal_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
  check_shapes(q, k, v);
  const int64_t tq = q.size(2), tk = k.size(2);
  const bool gqa = q.size(1) != k.size(1);
  if (tq == tk) {
    return at::scaled_dot_product_attention(q, k, v, {}, 0.0, /*is_causal=*/true, std::nullopt, gqa);
  }
  if (tq == 1) {
    if (decodes_on_cpu(q, k, v)) return decode_attention(q, k, v);
    return at::scaled_dot_product_attention(q, k, v, {}, 0.0, /*is_causal=*/false, std::nullopt, gqa);
  }
  return at::scaled_dot_product_attention(q, k, v, prefix_causal_mask(tq, tk, q.device()), 0.0,
                                          /*is_causal=*/false, std::nullopt, gqa);
}

at::Tensor causal_attention_reference(const at::Tensor& q, const at::Tensor& k,
                                      const at::Tensor& v) {
  check_shapes(q, k, v);
  const int64_t repeats = q.size(1) / k.size(1);
  at::Tensor keys = k.repeat_interleave(repeats, 1).to(at::kFloat);
  at::Tensor values = v.repeat_interleave(repeats, 1).to(at::kFloat);
  at::Tensor scores = at::matmul(q.to(at::kFloat), keys.transpose(-2, -1)) /
                      std::sqrt(static_cast<double>(q.size(3)));
  at::Tensor mask = prefix_causal_mask(q.size(2), k.size(2), q.device());
  scores = scores.masked_fill(mask.logical_not(), -std::numeric_limits<float>::infinity());
  return at::matmul(at::softmax(scores, -1), values).to(q.scalar_type());
}

}  // namespace nanochat::ops
