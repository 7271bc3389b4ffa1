// RMSNorm and rotary+QK-norm for the GPT. On the CPU each is one pass forward and one
// backward per row (ATen's composite rms_norm makes about six passes forward and ten
// backward); the reference versions are what CUDA runs and what the tests check against.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <cmath>
#include <limits>
#include <vector>

#include "fast_math.hpp"
#include "nanochat/error.hpp"
#include "nanochat/gpt_ops.hpp"

namespace nanochat::ops {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

// F.rms_norm's default eps is the dtype's machine epsilon (2^-7 for bf16, 2^-23 for fp32).
float dtype_eps(at::ScalarType dtype) {
  return dtype == at::kBFloat16 ? static_cast<float>(std::numeric_limits<c10::BFloat16>::epsilon())
                                : std::numeric_limits<float>::epsilon();
}

bool fused_cpu(const at::Tensor& x) {
  return x.device().is_cpu() && (x.scalar_type() == at::kFloat || x.scalar_type() == at::kBFloat16);
}

// Rows per task: enough elements that a task outweighs the cost of scheduling it.
int64_t grain(int64_t row_size) { return std::max<int64_t>(1, 16384 / std::max<int64_t>(row_size, 1)); }

// --- RMSNorm ------------------------------------------------------------------------
// y = x·r with r = (mean(x²) + eps)^-½; backward gx = r·(gy − y·mean(gy·y)), which needs
// only the output and r, so the input is not kept.

template <class T>
__attribute__((always_inline)) inline void rms_norm_forward_rows(const T* x, T* y, float* rstd,
                                                                 int64_t begin, int64_t end,
                                                                 int64_t dim, float eps) {
  for (int64_t row = begin; row < end; ++row) {
    const T* xr = x + row * dim;
    T* yr = y + row * dim;
    float r = 1.0f / std::sqrt(fast::dot(xr, xr, dim) / static_cast<float>(dim) + eps);
    rstd[row] = r;
    for (int64_t j = 0; j < dim; ++j) fast::store(&yr[j], fast::load(xr[j]) * r);
  }
}

template <class T>
__attribute__((always_inline)) inline void rms_norm_backward_rows(const T* gy, const T* y,
                                                                  const float* rstd, T* gx,
                                                                  int64_t begin, int64_t end,
                                                                  int64_t dim) {
  for (int64_t row = begin; row < end; ++row) {
    const T* gyr = gy + row * dim;
    const T* yr = y + row * dim;
    T* gxr = gx + row * dim;
    float r = rstd[row];
    float mean_gy_y = fast::dot(gyr, yr, dim) / static_cast<float>(dim);
    for (int64_t j = 0; j < dim; ++j) {
      fast::store(&gxr[j], r * (fast::load(gyr[j]) - fast::load(yr[j]) * mean_gy_y));
    }
  }
}

NANOCHAT_SIMD_CLONES void rms_norm_forward_f32(const float* x, float* y, float* rstd, int64_t begin,
                                               int64_t end, int64_t dim, float eps) {
  rms_norm_forward_rows(x, y, rstd, begin, end, dim, eps);
}
NANOCHAT_SIMD_CLONES void rms_norm_forward_bf16(const c10::BFloat16* x, c10::BFloat16* y,
                                                float* rstd, int64_t begin, int64_t end,
                                                int64_t dim, float eps) {
  rms_norm_forward_rows(x, y, rstd, begin, end, dim, eps);
}
NANOCHAT_SIMD_CLONES void rms_norm_backward_f32(const float* gy, const float* y, const float* rstd,
                                                float* gx, int64_t begin, int64_t end,
                                                int64_t dim) {
  rms_norm_backward_rows(gy, y, rstd, gx, begin, end, dim);
}
NANOCHAT_SIMD_CLONES void rms_norm_backward_bf16(const c10::BFloat16* gy, const c10::BFloat16* y,
                                                 const float* rstd, c10::BFloat16* gx,
                                                 int64_t begin, int64_t end, int64_t dim) {
  rms_norm_backward_rows(gy, y, rstd, gx, begin, end, dim);
}

struct RmsNormFunction : public torch::autograd::Function<RmsNormFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& input) {
    at::Tensor x = input.contiguous();
    at::Tensor y = at::empty_like(x);
    int64_t dim = x.size(-1);
    int64_t rows = dim == 0 ? 0 : x.numel() / dim;
    at::Tensor rstd = at::empty({rows}, x.options().dtype(at::kFloat));
    float eps = dtype_eps(x.scalar_type());
    bool is_float = x.scalar_type() == at::kFloat;
    at::parallel_for(0, rows, grain(dim), [&](int64_t begin, int64_t end) {
      if (is_float) {
        rms_norm_forward_f32(x.const_data_ptr<float>(), y.data_ptr<float>(), rstd.data_ptr<float>(),
                             begin, end, dim, eps);
      } else {
        rms_norm_forward_bf16(x.const_data_ptr<c10::BFloat16>(), y.data_ptr<c10::BFloat16>(),
                              rstd.data_ptr<float>(), begin, end, dim, eps);
      }
    });
    ctx->save_for_backward({y, rstd});
    return y;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    auto saved = ctx->get_saved_variables();
    const at::Tensor& y = saved[0];
    const at::Tensor& rstd = saved[1];
    at::Tensor gy = grads[0].to(y.scalar_type()).contiguous();
    at::Tensor gx = at::empty_like(y);
    int64_t dim = y.size(-1);
    int64_t rows = rstd.numel();
    bool is_float = y.scalar_type() == at::kFloat;
    at::parallel_for(0, rows, grain(dim), [&](int64_t begin, int64_t end) {
      if (is_float) {
        rms_norm_backward_f32(gy.const_data_ptr<float>(), y.const_data_ptr<float>(),
                              rstd.const_data_ptr<float>(), gx.data_ptr<float>(), begin, end, dim);
      } else {
        rms_norm_backward_bf16(gy.const_data_ptr<c10::BFloat16>(), y.const_data_ptr<c10::BFloat16>(),
                               rstd.const_data_ptr<float>(), gx.data_ptr<c10::BFloat16>(), begin,
                               end, dim);
      }
    });
    return {gx};
  }
};

// --- Rotary + RMSNorm ---------------------------------------------------------------
// Rows are (b, t, h) of a contiguous (B, T, H, D) tensor; row / H mod T is the position.
// The rotated row stays in fp32 scratch until it is normalized. Backward: the norm's
// gradient, then the rotation's transpose.

struct RotaryShape {
  int64_t heads, seq, dim;
};

template <class T>
__attribute__((always_inline)) inline void rotary_norm_forward_rows(
    const T* x, T* y, float* rstd, const float* cos, const float* sin, int64_t begin,
    int64_t end, RotaryShape shape, float eps, float* scratch) {
  const int64_t dim = shape.dim, half = dim / 2;
  for (int64_t row = begin; row < end; ++row) {
    const T* xr = x + row * dim;
    T* yr = y + row * dim;
    const int64_t t = (row / shape.heads) % shape.seq;
    const float* c = cos + t * half;
    const float* s = sin + t * half;
    for (int64_t i = 0; i < half; ++i) {
      float x1 = fast::load(xr[i]), x2 = fast::load(xr[i + half]);
      scratch[i] = x1 * c[i] + x2 * s[i];
      scratch[i + half] = x2 * c[i] - x1 * s[i];
    }
    float r = 1.0f / std::sqrt(fast::dot(scratch, scratch, dim) / static_cast<float>(dim) + eps);
    rstd[row] = r;
    for (int64_t j = 0; j < dim; ++j) fast::store(&yr[j], scratch[j] * r);
  }
}

template <class T>
__attribute__((always_inline)) inline void rotary_norm_backward_rows(
    const T* gy, const T* y, const float* rstd, const float* cos, const float* sin, T* gx,
    int64_t begin, int64_t end, RotaryShape shape, float* scratch) {
  const int64_t dim = shape.dim, half = dim / 2;
  for (int64_t row = begin; row < end; ++row) {
    const T* gyr = gy + row * dim;
    const T* yr = y + row * dim;
    T* gxr = gx + row * dim;
    const int64_t t = (row / shape.heads) % shape.seq;
    const float* c = cos + t * half;
    const float* s = sin + t * half;
    float r = rstd[row];
    float mean_gy_y = fast::dot(gyr, yr, dim) / static_cast<float>(dim);
    for (int64_t j = 0; j < dim; ++j) {
      scratch[j] = r * (fast::load(gyr[j]) - fast::load(yr[j]) * mean_gy_y);
    }
    for (int64_t i = 0; i < half; ++i) {
      float g1 = scratch[i], g2 = scratch[i + half];
      fast::store(&gxr[i], g1 * c[i] - g2 * s[i]);
      fast::store(&gxr[i + half], g1 * s[i] + g2 * c[i]);
    }
  }
}

NANOCHAT_SIMD_CLONES void rotary_norm_forward_f32(const float* x, float* y, float* rstd,
                                                  const float* cos, const float* sin,
                                                  int64_t begin, int64_t end, RotaryShape shape,
                                                  float eps, float* scratch) {
  rotary_norm_forward_rows(x, y, rstd, cos, sin, begin, end, shape, eps, scratch);
}
NANOCHAT_SIMD_CLONES void rotary_norm_forward_bf16(const c10::BFloat16* x, c10::BFloat16* y,
                                                   float* rstd, const float* cos, const float* sin,
                                                   int64_t begin, int64_t end, RotaryShape shape,
                                                   float eps, float* scratch) {
  rotary_norm_forward_rows(x, y, rstd, cos, sin, begin, end, shape, eps, scratch);
}
NANOCHAT_SIMD_CLONES void rotary_norm_backward_f32(const float* gy, const float* y,
                                                   const float* rstd, const float* cos,
                                                   const float* sin, float* gx, int64_t begin,
                                                   int64_t end, RotaryShape shape,
                                                   float* scratch) {
  rotary_norm_backward_rows(gy, y, rstd, cos, sin, gx, begin, end, shape, scratch);
}
NANOCHAT_SIMD_CLONES void rotary_norm_backward_bf16(const c10::BFloat16* gy, const c10::BFloat16* y,
                                                    const float* rstd, const float* cos,
                                                    const float* sin, c10::BFloat16* gx,
                                                    int64_t begin, int64_t end, RotaryShape shape,
                                                    float* scratch) {
  rotary_norm_backward_rows(gy, y, rstd, cos, sin, gx, begin, end, shape, scratch);
}

struct RotaryNormFunction : public torch::autograd::Function<RotaryNormFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& input, const at::Tensor& cos,
                            const at::Tensor& sin) {
    at::Tensor x = input.contiguous();
    at::Tensor y = at::empty_like(x);
    RotaryShape shape{x.size(2), x.size(1), x.size(3)};
    int64_t rows = x.numel() / shape.dim;
    at::Tensor rstd = at::empty({rows}, x.options().dtype(at::kFloat));
    float eps = dtype_eps(x.scalar_type());
    bool is_float = x.scalar_type() == at::kFloat;
    at::parallel_for(0, rows, grain(shape.dim), [&](int64_t begin, int64_t end) {
      std::vector<float> scratch(shape.dim);
      if (is_float) {
        rotary_norm_forward_f32(x.const_data_ptr<float>(), y.data_ptr<float>(), rstd.data_ptr<float>(),
                                cos.const_data_ptr<float>(), sin.const_data_ptr<float>(), begin, end,
                                shape, eps, scratch.data());
      } else {
        rotary_norm_forward_bf16(x.const_data_ptr<c10::BFloat16>(), y.data_ptr<c10::BFloat16>(),
                                 rstd.data_ptr<float>(), cos.const_data_ptr<float>(),
                                 sin.const_data_ptr<float>(), begin, end, shape, eps,
                                 scratch.data());
      }
    });
    ctx->save_for_backward({y, rstd, cos, sin});
    return y;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    auto saved = ctx->get_saved_variables();
    const at::Tensor& y = saved[0];
    const at::Tensor& rstd = saved[1];
    const at::Tensor& cos = saved[2];
    const at::Tensor& sin = saved[3];
    at::Tensor gy = grads[0].to(y.scalar_type()).contiguous();
    at::Tensor gx = at::empty_like(y);
    RotaryShape shape{y.size(2), y.size(1), y.size(3)};
    int64_t rows = rstd.numel();
    bool is_float = y.scalar_type() == at::kFloat;
    at::parallel_for(0, rows, grain(shape.dim), [&](int64_t begin, int64_t end) {
      std::vector<float> scratch(shape.dim);
      if (is_float) {
        rotary_norm_backward_f32(gy.const_data_ptr<float>(), y.const_data_ptr<float>(),
                                 rstd.const_data_ptr<float>(), cos.const_data_ptr<float>(),
                                 sin.const_data_ptr<float>(), gx.data_ptr<float>(), begin, end,
                                 shape, scratch.data());
      } else {
        rotary_norm_backward_bf16(gy.const_data_ptr<c10::BFloat16>(),
                                  y.const_data_ptr<c10::BFloat16>(), rstd.const_data_ptr<float>(),
                                  cos.const_data_ptr<float>(), sin.const_data_ptr<float>(),
                                  gx.data_ptr<c10::BFloat16>(), begin, end, shape,
                                  scratch.data());
      }
    });
    return {gx, at::Tensor(), at::Tensor()};
  }
};

void check_rotary_args(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  if (x.dim() != 4 || x.size(3) % 2 != 0) {
    throw Error("rotary_rms_norm: expected x of shape (B, T, H, D) with D even, got " +
                std::string(c10::str(x.sizes())));
  }
  std::vector<int64_t> table{x.size(1), x.size(3) / 2};
  if (cos.sizes() != at::IntArrayRef(table) || sin.sizes() != at::IntArrayRef(table)) {
    throw Error("rotary_rms_norm: cos and sin must be (T, D/2) = " + std::string(c10::str(table)) +
                ", got " + std::string(c10::str(cos.sizes())));
  }
}

}  // namespace

at::Tensor rms_norm(const at::Tensor& x) {
  if (!fused_cpu(x)) return rms_norm_reference(x);
  return RmsNormFunction::apply(x);
}

at::Tensor rms_norm_reference(const at::Tensor& x) { return at::rms_norm(x, {x.size(-1)}); }

at::Tensor rotary_rms_norm(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  check_rotary_args(x, cos, sin);
  if (!fused_cpu(x)) return rotary_rms_norm_reference(x, cos, sin);
  return RotaryNormFunction::apply(x, cos.to(at::kFloat).contiguous(), sin.to(at::kFloat).contiguous());
}

at::Tensor rotary_rms_norm_reference(const at::Tensor& x, const at::Tensor& cos,
                                     const at::Tensor& sin) {
  check_rotary_args(x, cos, sin);
  const int64_t half = x.size(3) / 2;
  // (T, D/2) -> (1, T, 1, D/2), in x's dtype as nanochat multiplies them.
  at::Tensor c = cos.to(x.scalar_type()).unsqueeze(1).unsqueeze(0);
  at::Tensor s = sin.to(x.scalar_type()).unsqueeze(1).unsqueeze(0);
  at::Tensor x1 = x.narrow(3, 0, half);
  at::Tensor x2 = x.narrow(3, half, half);
  at::Tensor rotated = at::cat({x1 * c + x2 * s, x1 * (-s) + x2 * c}, 3);
  return at::rms_norm(rotated, {x.size(3)});
}

std::pair<at::Tensor, at::Tensor> rotary_tables(int64_t positions, int64_t head_dim, double base) {
  // The same fp32 ops as nanochat's _precompute_rotary_embeddings, then its bf16 rounding.
  at::Tensor channels = at::arange(0, head_dim, 2, at::kFloat);
  at::Tensor inv_freq = 1.0 / at::pow(base, channels / static_cast<double>(head_dim));
  at::Tensor t = at::arange(positions, at::kFloat);
  at::Tensor freqs = at::outer(t, inv_freq);
  return {freqs.cos().to(at::kBFloat16).to(at::kFloat), freqs.sin().to(at::kBFloat16).to(at::kFloat)};
}

}  // namespace nanochat::ops
