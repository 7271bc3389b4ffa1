// The output head: logits = x Wᵀ sliced to the vocabulary, softcapped in fp32, then
// cross-entropy. With a 65,536-token vocabulary this tensor is the largest of the model
// and ATen would sweep it about ten times (slice, cast, divide, tanh, multiply,
// log-softmax, and their backwards). The fused CPU version computes the loss and the
// gradient of the raw logits row by row while the row is in cache, in place of the
// logits; backward is then two matmuls. The reference is the ATen composition (CUDA's).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <atomic>
#include <cmath>
#include <string>
#include <vector>

#include "fast_math.hpp"
#include "nanochat/error.hpp"
#include "nanochat/gpt_ops.hpp"

namespace nanochat::ops {
namespace {

using fast::kLanes;
using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

constexpr int64_t kIgnoreIndex = -1;

struct LossShape {
  int64_t vocab;   // real vocabulary; logits past it are padding
  int64_t padded;  // row length of the logits
  float softcap;
};

// Per row, with s = cap·tanh(z/cap): loss = logsumexp(s) − s[target], and
// d loss/dz = (softmax(s) − onehot(target))·(1 − tanh²). `scratch` holds 2·vocab floats.
// An out-of-range target is reported through `bad_target` and its row left at zero.
template <class T>
__attribute__((always_inline)) inline void softcap_ce_rows(T* logits, const int64_t* targets,
                                                           float* loss, int64_t begin, int64_t end,
                                                           LossShape shape, bool grad,
                                                           float* scratch, int64_t* bad_target) {
  const int64_t vocab = shape.vocab;
  const float cap = shape.softcap, inv_cap = 1.0f / shape.softcap;
  float* th = scratch;
  float* ex = scratch + vocab;
  for (int64_t row = begin; row < end; ++row) {
    T* z = logits + row * shape.padded;
    const int64_t target = targets[row];
    if (target < 0 || target >= vocab) {
      if (target != kIgnoreIndex) *bad_target = target;
      loss[row] = 0.0f;
      if (grad) {
        for (int64_t j = 0; j < shape.padded; ++j) fast::store(&z[j], 0.0f);
      }
      continue;
    }
    // tanh lies in [-1, 1], so -2 is below every value.
    float lane_max[kLanes];
    for (int l = 0; l < kLanes; ++l) lane_max[l] = -2.0f;
    int64_t j = 0;
    for (; j + kLanes <= vocab; j += kLanes) {
      for (int l = 0; l < kLanes; ++l) {
        float t = fast::tanh(fast::load(z[j + l]) * inv_cap);
        th[j + l] = t;
        lane_max[l] = fast::max(lane_max[l], t);
      }
    }
    float t_max = -2.0f;
    for (; j < vocab; ++j) {
      th[j] = fast::tanh(fast::load(z[j]) * inv_cap);
      t_max = fast::max(t_max, th[j]);
    }
    for (int l = 0; l < kLanes; ++l) t_max = fast::max(t_max, lane_max[l]);

    float lane_sum[kLanes] = {};
    for (j = 0; j + kLanes <= vocab; j += kLanes) {
      for (int l = 0; l < kLanes; ++l) {
        float e = fast::exp(cap * (th[j + l] - t_max));
        ex[j + l] = e;
        lane_sum[l] += e;
      }
    }
    float sum = 0.0f;
    for (; j < vocab; ++j) {
      ex[j] = fast::exp(cap * (th[j] - t_max));
      sum += ex[j];
    }
    for (int l = 0; l < kLanes; ++l) sum += lane_sum[l];
    loss[row] = cap * (t_max - th[target]) + std::log(sum);

    if (grad) {
      const float inv_sum = 1.0f / sum;
      for (j = 0; j < vocab; ++j) fast::store(&z[j], ex[j] * inv_sum * (1.0f - th[j] * th[j]));
      fast::store(&z[target], (ex[target] * inv_sum - 1.0f) * (1.0f - th[target] * th[target]));
      for (j = vocab; j < shape.padded; ++j) fast::store(&z[j], 0.0f);
    }
  }
}

NANOCHAT_SIMD_CLONES void softcap_ce_f32(float* logits, const int64_t* targets, float* loss,
                                         int64_t begin, int64_t end, LossShape shape, bool grad,
                                         float* scratch, int64_t* bad_target) {
  softcap_ce_rows(logits, targets, loss, begin, end, shape, grad, scratch, bad_target);
}
NANOCHAT_SIMD_CLONES void softcap_ce_bf16(c10::BFloat16* logits, const int64_t* targets,
                                          float* loss, int64_t begin, int64_t end,
                                          LossShape shape, bool grad, float* scratch,
                                          int64_t* bad_target) {
  softcap_ce_rows(logits, targets, loss, begin, end, shape, grad, scratch, bad_target);
}

struct SoftcapCrossEntropyFunction
    : public torch::autograd::Function<SoftcapCrossEntropyFunction> {
  // keep_grad: compute and save the logits' gradient (false under no_grad or when
  // neither x nor weight needs one).
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight,
                            const at::Tensor& targets, int64_t vocab, double softcap,
                            bool keep_grad) {
    at::Tensor logits = at::mm(x, weight.t());
    const int64_t rows = logits.size(0);
    at::Tensor loss = at::empty({rows}, x.options().dtype(at::kFloat));
    LossShape shape{vocab, logits.size(1), static_cast<float>(softcap)};
    const bool is_float = logits.scalar_type() == at::kFloat;
    std::atomic<int64_t> bad_target{kIgnoreIndex};
    at::parallel_for(0, rows, 1, [&](int64_t begin, int64_t end) {
      std::vector<float> scratch(2 * vocab);
      int64_t bad = kIgnoreIndex;
      if (is_float) {
        softcap_ce_f32(logits.data_ptr<float>(), targets.const_data_ptr<int64_t>(),
                       loss.data_ptr<float>(), begin, end, shape, keep_grad, scratch.data(), &bad);
      } else {
        softcap_ce_bf16(logits.data_ptr<c10::BFloat16>(), targets.const_data_ptr<int64_t>(),
                        loss.data_ptr<float>(), begin, end, shape, keep_grad, scratch.data(), &bad);
      }
      if (bad != kIgnoreIndex) bad_target = bad;
    });
    if (bad_target != kIgnoreIndex) {
      throw Error("target token id " + std::to_string(bad_target.load()) +
                  " is outside the vocabulary [0, " + std::to_string(vocab) +
                  "); use -1 for positions without a target");
    }
    if (keep_grad) ctx->save_for_backward({logits, x, weight});
    return loss;
  }

  // The incoming gradient is one number per row; scaling x (N×d) instead of the logits'
  // gradient (N×V) keeps the extra work small.
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    auto saved = ctx->get_saved_variables();
    const at::Tensor& dlogits = saved[0];
    const at::Tensor& x = saved[1];
    const at::Tensor& weight = saved[2];
    at::Tensor scale = grads[0].to(dlogits.scalar_type()).unsqueeze(1);
    at::Tensor grad_x, grad_weight;
    if (ctx->needs_input_grad(0)) grad_x = at::mm(dlogits, weight).mul_(scale);
    if (ctx->needs_input_grad(1)) grad_weight = at::mm(dlogits.t(), x * scale);
    return {grad_x, grad_weight, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

// The ATen composition, which autograd differentiates (and CUDA runs).
at::Tensor softcap_logits_reference(const at::Tensor& x, const at::Tensor& weight, int64_t vocab_size,
                                    double softcap) {
  at::Tensor logits = at::linear(x, weight).narrow(-1, 0, vocab_size).to(at::kFloat);
  return at::tanh(logits / softcap) * softcap;
}

constexpr int64_t kSoftcapGrain = 32768;

NANOCHAT_SIMD_CLONES void softcap_in_place(float* z, int64_t begin, int64_t end, float cap) {
  const float inv_cap = 1.0f / cap;
  for (int64_t i = begin; i < end; ++i) z[i] = cap * fast::tanh(z[i] * inv_cap);
}

void check_args(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& targets,
                int64_t vocab_size) {
  bool ok = x.dim() == 2 && weight.dim() == 2 && x.size(1) == weight.size(1) &&
            targets.dim() == 1 && targets.size(0) == x.size(0) &&
            targets.scalar_type() == at::kLong && vocab_size > 0 && vocab_size <= weight.size(0);
  if (!ok) {
    throw Error("softcap_cross_entropy: expected x (N, d), weight (V_padded >= vocab " +
                std::to_string(vocab_size) + ", d), int64 targets (N); got x " +
                std::string(c10::str(x.sizes())) + ", weight " + std::string(c10::str(weight.sizes())) +
                ", targets " + std::string(c10::str(targets.sizes())) + " " +
                std::string(c10::toString(targets.scalar_type())));
  }
}

}  // namespace

at::Tensor softcap_cross_entropy(const at::Tensor& x, const at::Tensor& weight,
                                 const at::Tensor& targets, int64_t vocab_size, double softcap) {
  check_args(x, weight, targets, vocab_size);
  bool fused = x.device().is_cpu() && x.scalar_type() == weight.scalar_type() &&
               (x.scalar_type() == at::kFloat || x.scalar_type() == at::kBFloat16);
  if (!fused) return softcap_cross_entropy_reference(x, weight, targets, vocab_size, softcap);
  bool keep_grad = at::GradMode::is_enabled() && (x.requires_grad() || weight.requires_grad());
  return SoftcapCrossEntropyFunction::apply(x, weight, targets.contiguous(), vocab_size, softcap,
                                            keep_grad);
}

at::Tensor softcap_cross_entropy_reference(const at::Tensor& x, const at::Tensor& weight,
                                           const at::Tensor& targets, int64_t vocab_size,
                                           double softcap) {
  check_args(x, weight, targets, vocab_size);
  at::Tensor logits = softcap_logits_reference(x, weight, vocab_size, softcap);
  return at::cross_entropy_loss(logits, targets, {}, at::Reduction::None, kIgnoreIndex);
}

at::Tensor softcap_logits(const at::Tensor& x, const at::Tensor& weight, int64_t vocab_size,
                          double softcap) {
  const bool in_place = x.device().is_cpu() &&
                        !(at::GradMode::is_enabled() && (x.requires_grad() || weight.requires_grad()));
  if (!in_place) return softcap_logits_reference(x, weight, vocab_size, softcap);
  // The padding rows of the weight are never multiplied.
  at::Tensor logits = ops::linear(x, weight.narrow(0, 0, vocab_size)).to(at::kFloat).contiguous();
  float* z = logits.data_ptr<float>();
  const float cap = static_cast<float>(softcap);
  at::parallel_for(0, logits.numel(), kSoftcapGrain,
                   [&](int64_t begin, int64_t end) { softcap_in_place(z, begin, end, cap); });
  return logits;
}

}  // namespace nanochat::ops
