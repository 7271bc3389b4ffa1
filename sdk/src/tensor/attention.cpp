// Causal attention through LibTorch's scaled_dot_product_attention, with nanochat's three
// cases for queries that continue a KV cache, and the written-out softmax it must equal.
#include <ATen/ATen.h>

#include <cmath>
#include <limits>
#include <string>

#include "nanochat/error.hpp"
#include "nanochat/gpt_ops.hpp"

namespace nanochat::ops {
namespace {

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
