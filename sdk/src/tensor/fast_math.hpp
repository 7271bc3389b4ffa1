// Scalar building blocks for the fused CPU kernels, written so that GCC and Clang
// vectorize the loops that call them: branch-free exp and tanh (Cephes polynomials,
// within 2 ulp of libm on the ranges used), fp32 <-> bf16 loads and stores, and a macro
// that compiles a kernel twice (AVX2+FMA and baseline) and picks one at load time.
// Only the kernels' .cpp files include this.
#pragma once

#include <c10/util/BFloat16.h>

#include <cstdint>
#include <cstring>

// Function multiversioning: the baseline x86-64 build is SSE2-only, which would leave
// half of an AVX2 machine's vector width unused.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define NANOCHAT_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define NANOCHAT_SIMD_CLONES
#endif

namespace nanochat::fast {

inline float load(float v) { return v; }
inline float load(c10::BFloat16 v) { return static_cast<float>(v); }
inline void store(float* dst, float v) { *dst = v; }
inline void store(c10::BFloat16* dst, float v) { *dst = c10::BFloat16(v); }

inline float bits_to_float(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}
inline uint32_t float_to_bits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof(bits));
  return bits;
}

// Written as selects (not std::min, which returns a reference and blocks
// if-conversion) so each compiles to one instruction. A NaN x comes back unchanged, as
// from ATen's kernels: a diverged model must not show a finite loss.
inline float clamp_max(float x, float hi) { return x > hi ? hi : x; }
inline float clamp_min(float x, float lo) { return x < lo ? lo : x; }
inline float relu(float x) { return x < 0.0f ? 0.0f : x; }
inline float max(float a, float b) { return a > b ? a : b; }

// e^x for x <= 88.7; below -87.3 it returns e^-87.3 (tiny, never denormal).
inline float exp(float x) {
  x = clamp_min(clamp_max(x, 88.7f), -87.3f);
  // Round x·log2(e) to the nearest integer n by the 1.5·2^23 trick (no rounding call).
  constexpr float kRound = 12582912.0f;
  float n = (x * 1.44269504088896341f + kRound) - kRound;
  // x - n·ln2 in two parts, so r keeps its low bits.
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  uint32_t scale = static_cast<uint32_t>(static_cast<int32_t>(n) + 127) << 23;
  return p * bits_to_float(scale);
}

// tanh(x): an odd polynomial near 0 (where 1 - 2/(e^2x + 1) loses digits), the exp form
// elsewhere; both are computed and one is selected, so there is no branch.
inline float tanh(float x) {
  uint32_t bits = float_to_bits(x);
  uint32_t sign = bits & 0x80000000u;
  float a = bits_to_float(bits & 0x7fffffffu);
  float z = a * a;
  float small = (((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z +
                 1.33314422036e-1f) * z - 3.33332819422e-1f;
  small = small * z * a + a;
  // tanh(9) rounds to 1 in fp32; clamping keeps e^2a finite.
  float e = exp(2.0f * clamp_max(a, 9.0f));
  float large = 1.0f - 2.0f / (e + 1.0f);
  float result = a < 0.625f ? small : large;
  return bits_to_float(float_to_bits(result) | sign);
}

// Independent accumulators for sums and maxima over long rows: one scalar accumulator
// would serialize the loop, and reassociating it is what -ffast-math would allow.
constexpr int kLanes = 16;

// Σ a[j]·b[j] over kLanes accumulators, in fp32 whatever T is (float or bf16).
template <class T>
__attribute__((always_inline)) inline float dot(const T* a, const T* b, int64_t n) {
  float acc[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes) {
    for (int l = 0; l < kLanes; ++l) acc[l] += load(a[j + l]) * load(b[j + l]);
  }
  float total = 0.0f;
  for (; j < n; ++j) total += load(a[j]) * load(b[j]);
  for (int l = 0; l < kLanes; ++l) total += acc[l];
  return total;
}

}  // namespace nanochat::fast
