// Python's random.Random (see nanochat/python_random.hpp). MT19937 as in Matsumoto and
// Nishimura's mt19937ar.c, which CPython's Modules/_randommodule.c carries unchanged; the
// derived methods follow CPython 3.11's Lib/random.py line for line.
#include "nanochat/python_random.hpp"

#include <algorithm>
#include <cmath>
#include <unordered_set>

namespace nanochat {
namespace {

constexpr uint32_t kMatrixA = 0x9908b0dfU;
constexpr uint32_t kUpperMask = 0x80000000U;
constexpr uint32_t kLowerMask = 0x7fffffffU;
constexpr int kShift = 397;

int bit_length(uint64_t n) {
  int bits = 0;
  for (; n != 0; n >>= 1) ++bits;
  return bits;
}

}  // namespace

void PythonRandom::init_genrand(uint32_t s) {
  state_[0] = s;
  for (int i = 1; i < kStateSize; ++i) {
    state_[i] = 1812433253U * (state_[i - 1] ^ (state_[i - 1] >> 30)) + static_cast<uint32_t>(i);
  }
  index_ = kStateSize;
}

void PythonRandom::init_by_array(const uint32_t* key, size_t length) {
  init_genrand(19650218U);
  size_t i = 1, j = 0;
  for (size_t k = std::max<size_t>(kStateSize, length); k > 0; --k) {
    state_[i] = (state_[i] ^ ((state_[i - 1] ^ (state_[i - 1] >> 30)) * 1664525U)) + key[j] + static_cast<uint32_t>(j);
    ++i;
    ++j;
    if (i >= kStateSize) {
      state_[0] = state_[kStateSize - 1];
      i = 1;
    }
    if (j >= length) j = 0;
  }
  for (size_t k = kStateSize - 1; k > 0; --k) {
    state_[i] = (state_[i] ^ ((state_[i - 1] ^ (state_[i - 1] >> 30)) * 1566083941U)) - static_cast<uint32_t>(i);
    ++i;
    if (i >= kStateSize) {
      state_[0] = state_[kStateSize - 1];
      i = 1;
    }
  }
  state_[0] = 0x80000000U;  // a non-zero initial state is assured
}

void PythonRandom::seed(uint64_t seed) {
  // CPython: key = the seed's 32-bit words, least significant first; zero is one word.
  uint32_t key[2] = {static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)};
  init_by_array(key, key[1] != 0 ? 2 : 1);
}

uint32_t PythonRandom::next_uint32() {
  if (index_ >= kStateSize) {
    int k = 0;
    for (; k < kStateSize - kShift; ++k) {
      const uint32_t y = (state_[k] & kUpperMask) | (state_[k + 1] & kLowerMask);
      state_[k] = state_[k + kShift] ^ (y >> 1) ^ ((y & 1U) ? kMatrixA : 0U);
    }
    for (; k < kStateSize - 1; ++k) {
      const uint32_t y = (state_[k] & kUpperMask) | (state_[k + 1] & kLowerMask);
      state_[k] = state_[k + (kShift - kStateSize)] ^ (y >> 1) ^ ((y & 1U) ? kMatrixA : 0U);
    }
    const uint32_t y = (state_[kStateSize - 1] & kUpperMask) | (state_[0] & kLowerMask);
    state_[kStateSize - 1] = state_[kShift - 1] ^ (y >> 1) ^ ((y & 1U) ? kMatrixA : 0U);
    index_ = 0;
  }
  uint32_t y = state_[index_++];
  y ^= (y >> 11);
  y ^= (y << 7) & 0x9d2c5680U;
  y ^= (y << 15) & 0xefc60000U;
  y ^= (y >> 18);
  return y;
}

double PythonRandom::random() {
  const uint32_t a = next_uint32() >> 5;
  const uint32_t b = next_uint32() >> 6;
  return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
}

uint64_t PythonRandom::getrandbits(int k) {
  if (k < 0 || k > 64) throw Error("PythonRandom::getrandbits: k must be in [0, 64]");
  if (k == 0) return 0;
  if (k <= 32) return next_uint32() >> (32 - k);
  // Wider: 32-bit words from the least significant up, the last one cut to what is left.
  const uint64_t low = next_uint32();
  const uint64_t high = next_uint32() >> (64 - k);
  return low | (high << 32);
}

uint64_t PythonRandom::randbelow(uint64_t n) {
  if (n == 0) throw Error("PythonRandom::randbelow: n must be positive");
  const int k = bit_length(n);  // not (n - 1): n can be 1
  uint64_t r = getrandbits(k);
  while (r >= n) r = getrandbits(k);
  return r;
}

int64_t PythonRandom::randrange(int64_t start, int64_t stop) {
  if (stop <= start) throw Error("PythonRandom::randrange: empty range");
  return start + static_cast<int64_t>(randbelow(static_cast<uint64_t>(stop - start)));
}

char PythonRandom::choice(std::string_view seq) {
  if (seq.empty()) throw Error("PythonRandom::choice: cannot choose from an empty sequence");
  return seq[static_cast<size_t>(randbelow(seq.size()))];
}

std::vector<size_t> PythonRandom::sample_indices(size_t n, size_t k) {
  if (k > n) throw Error("PythonRandom::sample: sample larger than population");
  std::vector<size_t> result(k);
  // CPython's size estimate of a set of k picks against a list of n: the smaller one is used.
  size_t setsize = 21;
  if (k > 5) setsize += static_cast<size_t>(std::pow(4.0, std::ceil(std::log(k * 3.0) / std::log(4.0))));
  if (n <= setsize) {
    std::vector<size_t> pool(n);
    for (size_t i = 0; i < n; ++i) pool[i] = i;
    for (size_t i = 0; i < k; ++i) {
      const size_t j = static_cast<size_t>(randbelow(n - i));
      result[i] = pool[j];
      pool[j] = pool[n - i - 1];  // move the unselected item into the vacancy
    }
  } else {
    std::unordered_set<size_t> selected;
    for (size_t i = 0; i < k; ++i) {
      size_t j = static_cast<size_t>(randbelow(n));
      while (selected.count(j)) j = static_cast<size_t>(randbelow(n));
      selected.insert(j);
      result[i] = j;
    }
  }
  return result;
}

}  // namespace nanochat
