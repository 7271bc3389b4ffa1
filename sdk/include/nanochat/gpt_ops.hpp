// The GPT's building blocks as functions with autograd. Each has a fused CPU kernel (fp32
// and bf16; forward and backward each one pass over the data, where ATen would make
// several) and a plain ATen reference beside it. CUDA runs the reference, whose kernels
// are fast there; the tests check every fused kernel against its reference.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <utility>

namespace nanochat::ops {

// x Wᵀ for x (..., in) and weight (out, in), as at::linear without bias. On the CPU in
// fp32 with at most 16 rows and no gradient wanted (decoding), a kernel that streams each
// weight row once for all rows of x; otherwise at::linear.
at::Tensor linear(const at::Tensor& x, const at::Tensor& weight);

// Parameter-free RMSNorm over the last dim with the dtype's epsilon, as F.rms_norm(x).
at::Tensor rms_norm(const at::Tensor& x);
at::Tensor rms_norm_reference(const at::Tensor& x);

// Rotary embedding then RMSNorm (nanochat's order) of q or k, x of shape (B, T, H, D)
// with cos, sin of shape (T, D/2) in fp32. Halves x1 = x[..., :D/2], x2 = x[..., D/2:]
// become y1 = x1·cos + x2·sin, y2 = -x1·sin + x2·cos.
at::Tensor rotary_rms_norm(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);
at::Tensor rotary_rms_norm_reference(const at::Tensor& x, const at::Tensor& cos,
                                     const at::Tensor& sin);

// cos and sin tables (positions, head_dim/2) in fp32 for theta = pos / base^(2i/head_dim),
// rounded through bf16 as nanochat caches them, so both models see the same encoding.
std::pair<at::Tensor, at::Tensor> rotary_tables(int64_t positions, int64_t head_dim,
                                                double base);

// relu(x)², the MLP activation.
at::Tensor relu_squared(const at::Tensor& x);
at::Tensor relu_squared_reference(const at::Tensor& x);

// Attention of q (B, H, Tq, D) over k, v (B, Hkv, Tk, D) with H a multiple of Hkv, the
// queries being the last Tq of the Tk positions: causal when Tq == Tk, all keys when
// Tq == 1, else the cached prefix plus causal within the chunk. Scale 1/sqrt(D).
// Runs scaled_dot_product_attention (flash kernels where the device has them).
at::Tensor causal_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v);
// The same as softmax(q kᵀ/√D + mask) v, written out.
at::Tensor causal_attention_reference(const at::Tensor& q, const at::Tensor& k,
                                      const at::Tensor& v);

// Per-row cross-entropy (N,) in fp32 of logits = softcap·tanh((x Wᵀ)[:, :vocab]/softcap)
// for x (N, d), weight (padded vocab, d) and targets (N,) int64, where a target of -1
// gives a loss of 0 and no gradient. The fused CPU version never materializes more than
// the raw logits: it computes their gradient while the rows are in cache.
at::Tensor softcap_cross_entropy(const at::Tensor& x, const at::Tensor& weight,
                                 const at::Tensor& targets, int64_t vocab_size, double softcap);
at::Tensor softcap_cross_entropy_reference(const at::Tensor& x, const at::Tensor& weight,
                                           const at::Tensor& targets, int64_t vocab_size,
                                           double softcap);

// Softcapped logits (..., vocab) in fp32 of x (..., d), for inference: through linear(),
// and on the CPU without a gradient the softcap in place in one pass.
at::Tensor softcap_logits(const at::Tensor& x, const at::Tensor& weight, int64_t vocab_size,
                          double softcap);

}  // namespace nanochat::ops
