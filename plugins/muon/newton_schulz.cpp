// The quintic Newton–Schulz iteration of Muon, batched over leading dimensions.
#include "newton_schulz.hpp"

#include <ATen/ATen.h>
#include <ATen/cpu/Utils.h>

#include "nanochat/error.hpp"
#include "nanochat/optimizer.hpp"

namespace nanochat::muon {

at::Tensor newton_schulz5(const at::Tensor& g, int steps, c10::ScalarType compute) {
  if (g.dim() < 2) throw Error("Newton-Schulz needs matrices, got shape " + shape_text(g.sizes()));
  // Work on the wide orientation so X·Xᵀ is the smaller square.
  const bool tall = g.size(-2) > g.size(-1);
  at::Tensor x = g.to(compute);
  if (tall) x = x.mT();
  const auto oriented = x.sizes().vec();
  x = x.reshape({-1, oriented[oriented.size() - 2], oriented.back()});
  // Frobenius norm ≥ spectral norm, so every singular value starts in [0, 1]. Out of place:
  // `g` (maybe aliased by x when no cast happened) must stay untouched.
  x = x / (at::linalg_vector_norm(x, 2, at::IntArrayRef{-2, -1}, /*keepdim=*/true) + 1e-7);
  for (int i = 0; i < steps; ++i) {
    at::Tensor a = at::bmm(x, x.mT());
    // b·A + c·A² and a·X + B·X, each as one fused multiply-add.
    at::Tensor b = at::baddbmm(a, a, a, /*beta=*/kNewtonSchulzB, /*alpha=*/kNewtonSchulzC);
    x = at::baddbmm(x, b, x, /*beta=*/kNewtonSchulzA, /*alpha=*/1.0);
  }
  x = x.reshape(oriented);
  return tall ? x.mT() : x;
}

c10::ScalarType newton_schulz_default_dtype(c10::Device device) {
  if (device.is_cuda()) return at::kBFloat16;
  static const bool native_bf16 = [] {
    const auto capabilities = at::cpu::get_cpu_capabilities();
    for (const char* name : {"avx512_bf16", "amx_bf16"}) {
      auto it = capabilities.find(name);
      if (it != capabilities.end() && it->second.isBool() && it->second.toBool()) return true;
    }
    return false;
  }();
  return native_bf16 ? at::kBFloat16 : at::kFloat;
}

}  // namespace nanochat::muon
