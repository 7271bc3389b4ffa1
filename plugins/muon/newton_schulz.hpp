// Muon's orthogonalization (SPEC §4): 5 steps of the quintic Newton–Schulz iteration,
// which maps a matrix G = U·S·Vᵀ to about U·S'·Vᵀ with S' in roughly [0.7, 1.2].
// Its own file so the tests can check it directly.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

namespace nanochat::muon {

// The quintic coefficients (a, b, c), chosen for the largest slope at zero.
inline constexpr double kNewtonSchulzA = 3.4445;
inline constexpr double kNewtonSchulzB = -4.7750;
inline constexpr double kNewtonSchulzC = 2.0315;

// Orthogonalizes each matrix of `g` (shape (..., rows, cols)), computing in `compute`
// (bf16 per SPEC, float where bf16 matmul is slow). Returns a new tensor of dtype
// `compute` and g's shape; `g` is not modified.
at::Tensor newton_schulz5(const at::Tensor& g, int steps, c10::ScalarType compute);

// bf16 where it is fast to multiply in: CUDA, and CPUs with native bf16 matmul
// (AVX512-BF16 or AMX); float elsewhere, where bf16 matmul runs several times slower.
c10::ScalarType newton_schulz_default_dtype(c10::Device device);

}  // namespace nanochat::muon
