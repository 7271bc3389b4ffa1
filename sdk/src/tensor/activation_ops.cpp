// relu(x)², the MLP's activation. The fused CPU version is one pass each way; autograd
// over relu and square would make two forward and three backward, on the MLP's widest
// activation (4·d per token).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include "fast_math.hpp"
#include "nanochat/gpt_ops.hpp"

namespace nanochat::ops {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

constexpr int64_t kGrain = 32768;

template <class T>
__attribute__((always_inline)) inline void relu_squared_forward_range(const T* x, T* y,
                                                                      int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) {
    float v = fast::relu(fast::load(x[i]));
    fast::store(&y[i], v * v);
  }
}

template <class T>
__attribute__((always_inline)) inline void relu_squared_backward_range(const T* x, const T* gy,
                                                                       T* gx, int64_t begin,
                                                                       int64_t end) {
  for (int64_t i = begin; i < end; ++i) {
    float v = fast::relu(fast::load(x[i]));
    fast::store(&gx[i], 2.0f * v * fast::load(gy[i]));
  }
}

NANOCHAT_SIMD_CLONES void relu_squared_forward_f32(const float* x, float* y, int64_t begin,
                                                   int64_t end) {
  relu_squared_forward_range(x, y, begin, end);
}
NANOCHAT_SIMD_CLONES void relu_squared_forward_bf16(const c10::BFloat16* x, c10::BFloat16* y,
                                                    int64_t begin, int64_t end) {
  relu_squared_forward_range(x, y, begin, end);
}
NANOCHAT_SIMD_CLONES void relu_squared_backward_f32(const float* x, const float* gy, float* gx,
                                                    int64_t begin, int64_t end) {
  relu_squared_backward_range(x, gy, gx, begin, end);
}
NANOCHAT_SIMD_CLONES void relu_squared_backward_bf16(const c10::BFloat16* x,
                                                     const c10::BFloat16* gy, c10::BFloat16* gx,
                                                     int64_t begin, int64_t end) {
  relu_squared_backward_range(x, gy, gx, begin, end);
}

struct ReluSquaredFunction : public torch::autograd::Function<ReluSquaredFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& input) {
    at::Tensor x = input.contiguous();
    at::Tensor y = at::empty_like(x);
    bool is_float = x.scalar_type() == at::kFloat;
    at::parallel_for(0, x.numel(), kGrain, [&](int64_t begin, int64_t end) {
      if (is_float) {
        relu_squared_forward_f32(x.const_data_ptr<float>(), y.data_ptr<float>(), begin, end);
      } else {
        relu_squared_forward_bf16(x.const_data_ptr<c10::BFloat16>(), y.data_ptr<c10::BFloat16>(),
                                  begin, end);
      }
    });
    ctx->save_for_backward({x});
    return y;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    at::Tensor x = ctx->get_saved_variables()[0];
    at::Tensor gy = grads[0].to(x.scalar_type()).contiguous();
    at::Tensor gx = at::empty_like(x);
    bool is_float = x.scalar_type() == at::kFloat;
    at::parallel_for(0, x.numel(), kGrain, [&](int64_t begin, int64_t end) {
      if (is_float) {
        relu_squared_backward_f32(x.const_data_ptr<float>(), gy.const_data_ptr<float>(),
                                  gx.data_ptr<float>(), begin, end);
      } else {
        relu_squared_backward_bf16(x.const_data_ptr<c10::BFloat16>(),
                                   gy.const_data_ptr<c10::BFloat16>(),
                                   gx.data_ptr<c10::BFloat16>(), begin, end);
      }
    });
    return {gx};
  }
};

}  // namespace

at::Tensor relu_squared(const at::Tensor& x) {
  bool fused = x.device().is_cpu() &&
               (x.scalar_type() == at::kFloat || x.scalar_type() == at::kBFloat16);
  if (!fused) return relu_squared_reference(x);
  return ReluSquaredFunction::apply(x);
}

at::Tensor relu_squared_reference(const at::Tensor& x) { return at::relu(x).square(); }

}  // namespace nanochat::ops
