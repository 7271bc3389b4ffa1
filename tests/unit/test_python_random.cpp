// PythonRandom against CPython's own random.Random: tests/oracles/python_random_oracle.py
// runs a fixed program of calls for several seeds (one and two 32-bit key words, zero, the
// largest) and this test runs the same program in C++, comparing every value.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>

#include <nlohmann/json.hpp>

#include "nanochat/python_random.hpp"
#include "nanochat/subprocess.hpp"
#include "tokenizer_test_support.hpp"

#include "../integration/host_process.hpp"

namespace fs = std::filesystem;
using nanochat::PythonRandom;

namespace {

// The oracle only needs Python's standard library: the oracle venv's python, else the system's.
std::optional<fs::path> stdlib_python() {
  if (auto venv = nanochat::test::oracle_python()) return venv;
  if (fs::exists("/usr/bin/python3")) return fs::path("/usr/bin/python3");
  return std::nullopt;
}

const std::vector<int> kGetrandbitsK = {0, 1, 5, 31, 32, 33, 53, 63, 64};
const std::vector<uint64_t> kRandbelowN = {1,           2,          3, 7, 100, (1ULL << 31) + 1, 1ULL << 32, (1ULL << 40) + 5,
                                           (1ULL << 63) + 11};
const std::vector<size_t> kShuffleN = {0, 1, 2, 10, 1000};
const std::vector<std::pair<size_t, size_t>> kSampleNK = {{10, 3},    {30, 30},       {26, 7}, {1000, 5},
                                                          {1000, 50}, {100000, 1000}, {5, 0}};

int64_t scaled(double x) { return static_cast<int64_t>(std::ldexp(x, 53)); }

// The oracle's program, in C++ (keep in step with python_random_oracle.py).
nlohmann::json program(uint64_t seed) {
  PythonRandom rng(seed);
  nlohmann::json out;
  out["seed"] = seed;
  for (int i = 0; i < 7; ++i) out["random"].push_back(scaled(rng.random()));
  for (int k : kGetrandbitsK) out["getrandbits"].push_back(rng.getrandbits(k));
  for (uint64_t n : kRandbelowN) {
    for (int i = 0; i < 3; ++i) out["randbelow"].push_back(rng.randbelow(n));
  }
  for (int i = 0; i < 5; ++i) out["randint"].push_back(rng.randint(-5, 5));
  for (int i = 0; i < 3; ++i) out["randint"].push_back(rng.randint(0, 1000000000000));
  for (size_t n : kShuffleN) {
    std::vector<size_t> x(n);
    for (size_t i = 0; i < n; ++i) x[i] = i;
    rng.shuffle(x);
    out["shuffle"].push_back(x);
  }
  std::vector<int> seventeen(17);
  for (int i = 0; i < 17; ++i) seventeen[i] = i;
  for (int i = 0; i < 3; ++i) out["choice"].push_back(rng.choice(seventeen));
  for (int i = 0; i < 3; ++i) out["choice"].push_back(static_cast<int>(rng.choice(std::string_view("abcdefghijklmnopqrstuvwxyz"))));
  for (auto [n, k] : kSampleNK) out["sample"].push_back(rng.sample_indices(n, k));
  for (int i = 0; i < 3; ++i) out["uniform"].push_back(rng.uniform(-2.5, 7.0));
  out["after"] = scaled(rng.random());
  return out;
}

}  // namespace

TEST(PythonRandom, EqualsCPythonDrawForDraw) {
  const auto python = stdlib_python();
  if (!python) GTEST_SKIP() << "no python3 to compare with: " << nanochat::test::oracle_missing_message();
  const std::vector<uint64_t> seeds = {0, 1, 42, 12345, (1ULL << 32) + 7, 10'000'003, ~0ULL};
  nanochat::test::ScratchDir scratch;
  std::vector<std::string> argv = {python->string(),
                                   (fs::path(NANOCHAT_TEST_SOURCE_DIR) / "tests/oracles/python_random_oracle.py").string()};
  for (uint64_t seed : seeds) argv.push_back(std::to_string(seed));
  nanochat::ProcessIo io;
  io.stdout_path = (scratch.path / "out.jsonl").string();
  ASSERT_EQ(nanochat::wait_process(nanochat::spawn_process(argv, {}, io)), 0);

  std::ifstream in(io.stdout_path);
  std::string line;
  size_t compared = 0;
  for (uint64_t seed : seeds) {
    ASSERT_TRUE(std::getline(in, line)) << "the oracle wrote no line for seed " << seed;
    nlohmann::json expected = nlohmann::json::parse(line);
    // Python writes uniform() as repr, which round-trips; parse it back to the double.
    for (auto& value : expected["uniform"]) value = std::strtod(value.get<std::string>().c_str(), nullptr);
    const nlohmann::json ours = program(seed);
    for (const auto& [key, value] : expected.items()) {
      EXPECT_EQ(ours[key], value) << "seed " << seed << ", " << key;
      ++compared;
    }
  }
  EXPECT_EQ(compared, seeds.size() * 10);
}

TEST(PythonRandom, SameSeedSameStreamOtherSeedOtherStream) {
  PythonRandom a(7), b(7), c(8);
  std::vector<uint32_t> from_a, from_b, from_c;
  for (int i = 0; i < 700; ++i) {  // past one state refill (624 words)
    from_a.push_back(a.next_uint32());
    from_b.push_back(b.next_uint32());
    from_c.push_back(c.next_uint32());
  }
  EXPECT_EQ(from_a, from_b);
  EXPECT_NE(from_a, from_c);
  a.seed(8);
  EXPECT_EQ(a.next_uint32(), from_c[0]);
}

TEST(PythonRandom, RefusesImpossibleRequests) {
  PythonRandom rng(1);
  EXPECT_THROW(rng.randbelow(0), nanochat::Error);
  EXPECT_THROW(rng.getrandbits(65), nanochat::Error);
  EXPECT_THROW(rng.randrange(3, 3), nanochat::Error);
  EXPECT_THROW(rng.sample_indices(3, 4), nanochat::Error);
  EXPECT_THROW(rng.choice(std::vector<int>{}), nanochat::Error);
}
