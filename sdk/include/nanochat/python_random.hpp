// Python's `random.Random` in C++, draw for draw: the same seed gives the same numbers as
// CPython (3.2 and later, checked against 3.11), so data that nanochat shuffles or generates
// with `random.Random(seed)` (TaskMixture's order, SpellingBee's examples, CORE's few-shot
// picks) comes out identical here. The generator is CPython's Mersenne Twister MT19937
// (Modules/_randommodule.c); the methods restate Lib/random.py.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "nanochat/error.hpp"

namespace nanochat {

class PythonRandom {
 public:
  // random.Random(seed) for a non-negative integer seed (CPython seeds with the absolute
  // value's 32-bit words, least significant first, through init_by_array).
  explicit PythonRandom(uint64_t seed = 0) { this->seed(seed); }
  void seed(uint64_t seed);

  // The next raw 32-bit output of MT19937 (CPython's genrand_uint32).
  uint32_t next_uint32();

  // random(): a double in [0, 1) with 53 random bits.
  double random();
  // getrandbits(k) for 0 <= k <= 64 (Python allows more; nothing here needs it).
  uint64_t getrandbits(int k);
  // _randbelow(n): uniform in [0, n) by rejection on getrandbits(n.bit_length()); n > 0.
  uint64_t randbelow(uint64_t n);
  // randrange(start, stop) and randint(a, b) = randrange(a, b + 1).
  int64_t randrange(int64_t start, int64_t stop);
  int64_t randint(int64_t a, int64_t b) { return randrange(a, b + 1); }
  // uniform(a, b) = a + (b - a) * random().
  double uniform(double a, double b) { return a + (b - a) * random(); }

  // shuffle(x): CPython's in-place Fisher-Yates, from the back.
  template <class T>
  void shuffle(std::vector<T>& x) {
    for (size_t i = x.size(); i-- > 1;) {
      const size_t j = static_cast<size_t>(randbelow(i + 1));
      std::swap(x[i], x[j]);
    }
  }

  // choice(seq): seq[_randbelow(len(seq))].
  template <class T>
  const T& choice(const std::vector<T>& seq) {
    if (seq.empty()) throw Error("PythonRandom::choice: cannot choose from an empty sequence");
    return seq[static_cast<size_t>(randbelow(seq.size()))];
  }
  // choice over the bytes of a string, as Python's choice over an ASCII str.
  char choice(std::string_view seq);

  // sample(range(n), k): the indices CPython's sample picks, in selection order, with its
  // switch between a pool (small n) and a set of picked indices (large n).
  std::vector<size_t> sample_indices(size_t n, size_t k);
  template <class T>
  std::vector<T> sample(const std::vector<T>& population, size_t k) {
    std::vector<T> result;
    result.reserve(k);
    for (size_t index : sample_indices(population.size(), k)) result.push_back(population[index]);
    return result;
  }

 private:
  static constexpr int kStateSize = 624;
  void init_genrand(uint32_t s);
  void init_by_array(const uint32_t* key, size_t length);

  std::array<uint32_t, kStateSize> state_{};
  int index_ = kStateSize + 1;
};

}  // namespace nanochat
