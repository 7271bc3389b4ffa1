// The GPT (SPEC §3): sizing from depth and the parameter-count formula, nanochat's
// parameter names, init, output shapes, every fused CPU kernel against its ATen
// reference (SDPA against a written-out softmax), KV-cache decoding against the full
// forward, overfitting one batch, and checkpoints that round-trip or are refused.
#include "nanochat/gpt.hpp"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/optim/adamw.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include "nanochat/error.hpp"
#include "nanochat/gpt_ops.hpp"

namespace fs = std::filesystem;
using nanochat::Error;
using nanochat::GPT;
using nanochat::GPTConfig;
using nanochat::KVCache;
using nanochat::LossReduction;

namespace {

::testing::AssertionResult Contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << text << "' does not contain '" << part << "'";
}

::testing::AssertionResult AllClose(const at::Tensor& actual, const at::Tensor& expected,
                                    double rtol, double atol) {
  if (actual.sizes() != expected.sizes()) {
    return ::testing::AssertionFailure() << "shapes " << actual.sizes() << " vs " << expected.sizes();
  }
  at::Tensor a = actual.to(at::kDouble), e = expected.to(at::kDouble);
  if (at::allclose(a, e, rtol, atol)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "max abs difference " << (a - e).abs().max().item<double>()
                                       << " (rtol " << rtol << ", atol " << atol << ")";
}

// Tolerances from the arithmetic, so a test holds on every CPU kind: AVX2, AVX-512 and AMX
// machines (other vector widths, GEMM blockings, thread splits) add the same fp32 terms in
// other orders. Any order of an n-term fp32 sum lies within (n-1)·u·Σ|terms| of the exact
// sum (u = 2^-24; Higham, "Accuracy and Stability of Numerical Algorithms", §4.2), so two
// orders differ by at most reorder_bound(n)·Σ|terms|. For positive terms (a mean loss, a sum
// of squares) Σ|terms| is the sum itself: the bound is then a relative tolerance.
constexpr double kFp32Roundoff = 0x1p-24;
double reorder_bound(int64_t n) { return 2.0 * static_cast<double>(n - 1) * kFp32Roundoff; }

// x·Wᵀ from our kernel against ATen's, element by element within reorder_bound(in)·(|x|·|W|ᵀ):
// the exact worst case of two summation orders of each dot product.
::testing::AssertionResult LinearClose(const at::Tensor& actual, const at::Tensor& expected, const at::Tensor& x,
                                       const at::Tensor& weight) {
  at::Tensor magnitude = at::linear(x.abs().to(at::kDouble), weight.abs().to(at::kDouble));
  at::Tensor excess = (actual.to(at::kDouble) - expected.to(at::kDouble)).abs() - reorder_bound(x.size(-1)) * magnitude;
  if (excess.max().item<double>() <= 0.0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "exceeds the reordering bound by " << excess.max().item<double>();
}

// 15·tanh(x·Wᵀ / 15) from our kernel against ATen's: the dot products within the reordering
// bound (tanh is 1-Lipschitz), plus the two tanh's own errors (ours within 2 ulp of libm,
// ATen's within 1; an ulp of a value up to the cap 15 is at most 2u·15) and the rounding of
// the final product: 8 units of u·15 in all.
::testing::AssertionResult SoftcapLogitsClose(const at::Tensor& actual, const at::Tensor& expected, const at::Tensor& x,
                                              const at::Tensor& weight) {
  at::Tensor magnitude = at::linear(x.abs().to(at::kDouble), weight.abs().to(at::kDouble));
  at::Tensor bound = reorder_bound(x.size(-1)) * magnitude + 8 * kFp32Roundoff * 15.0;
  at::Tensor excess = (actual.to(at::kDouble) - expected.to(at::kDouble)).abs() - bound;
  if (excess.max().item<double>() <= 0.0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "exceeds the bound by " << excess.max().item<double>();
}

at::Generator generator(uint64_t seed) { return at::make_generator<at::CPUGeneratorImpl>(seed); }

at::Tensor randn(at::IntArrayRef shape, uint64_t seed, at::ScalarType dtype = at::kFloat) {
  return at::randn(shape, generator(seed)).to(dtype);
}

at::Tensor tokens(int64_t batch, int64_t time, int64_t vocab, uint64_t seed) {
  return at::randint(vocab, {batch, time}, generator(seed), at::kLong);
}

// Two layers, two heads of 32, a vocabulary that needs padding (100 -> 128).
GPTConfig tiny_config(int64_t vocab = 100) {
  GPTConfig config;
  config.sequence_len = 32;
  config.vocab_size = vocab;
  config.n_layer = 2;
  config.n_head = 2;
  config.n_kv_head = 2;
  config.n_embd = 64;
  return config;
}

// init_weights leaves lm_head and the c_proj's at zero, which makes every logit 0; tests
// of the forward pass need them non-zero.
void init_nonzero(GPT& model, uint64_t seed) {
  model.init_weights(seed);
  at::NoGradGuard no_grad;
  at::Generator gen = generator(seed + 1);
  for (auto& [name, param] : model.state_dict()) {
    if (param.abs().max().item<float>() == 0.0f) param.normal_(0.0, 0.05, gen);
  }
}

// Tiny tensors gain nothing from threads, and on a busy machine OpenMP's spinning
// threads can stretch these tests fifty-fold; the kernel tests below use two threads.
class SingleThread : public ::testing::Environment {
 public:
  void SetUp() override { at::set_num_threads(1); }
};
const auto* const kSingleThread = ::testing::AddGlobalTestEnvironment(new SingleThread);

class TempDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("nanochat_test_gpt_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

// --- config ---------------------------------------------------------------------------

TEST(GPTConfigTest, FromDepthFollowsNanochatSizing) {
  GPTConfig d4 = GPTConfig::from_depth(4, 65536, 512);
  EXPECT_EQ(d4.n_layer, 4);
  EXPECT_EQ(d4.n_embd, 256);
  EXPECT_EQ(d4.n_head, 2);
  EXPECT_EQ(d4.n_kv_head, 2);
  EXPECT_EQ(d4.head_dim(), 128);
  EXPECT_EQ(d4.sequence_len, 512);
  GPTConfig d20 = GPTConfig::from_depth(20, 65536);
  EXPECT_EQ(d20.n_embd, 1280);
  EXPECT_EQ(d20.n_head, 10);
  EXPECT_EQ(d20.sequence_len, 2048);
  EXPECT_EQ(GPTConfig::from_depth(1, 256).head_dim(), 64);  // one head narrower than 128
  EXPECT_EQ(GPTConfig::from_depth(6, 256).n_head, 3);
  try {
    GPTConfig::from_depth(5, 256);
    FAIL() << "depth 5 (width 320, 3 heads) must be refused";
  } catch (const Error& e) {
    EXPECT_TRUE(Contains(e.what(), "depth 5"));
  }
  EXPECT_THROW(GPTConfig::from_depth(0, 256), Error);
}

TEST(GPTConfigTest, ValidateNamesTheBadField) {
  GPTConfig config = tiny_config();
  config.n_kv_head = 3;
  try {
    config.validate();
    FAIL();
  } catch (const Error& e) {
    EXPECT_TRUE(Contains(e.what(), "n_kv_head"));
  }
  config = tiny_config();
  config.n_head = 3;  // 64 / 3
  EXPECT_THROW(config.validate(), Error);
}

TEST(GPTConfigTest, JsonUsesMetaJsonKeysAndRoundTrips) {
  GPTConfig config = GPTConfig::from_depth(4, 50000, 1024);
  nlohmann::json json = config;
  EXPECT_EQ(json, nlohmann::json::parse(R"({"sequence_len":1024,"vocab_size":50000,"n_layer":4,
                                            "n_head":2,"n_kv_head":2,"n_embd":256})"));
  EXPECT_EQ(json.get<GPTConfig>(), config);
  json.erase("n_head");
  try {
    json.get<GPTConfig>();
    FAIL();
  } catch (const Error& e) {
    EXPECT_TRUE(Contains(e.what(), "n_head"));
  }
}

TEST(GPTConfigTest, ParameterCountFormulaAtDepth20) {
  GPTConfig d20 = GPTConfig::from_depth(20, 65536);
  const int64_t V = 65536, d = 1280, L = 20;
  EXPECT_EQ(2 * V * d + 12 * L * d * d, 560988160);
  EXPECT_EQ(d20.num_params(), 560988160);
  EXPECT_EQ(d20.flops_per_token(), 3491758080);  // SPEC: 3.4918e9
  // The module itself, on the meta device: shapes only, no 2 GB allocation.
  GPT model(d20, c10::Device(c10::kMeta));
  EXPECT_EQ(model.num_params(), 560988160);
  EXPECT_EQ(model.estimate_flops(), 3491758080);
}

TEST(GPTConfigTest, ModuleCountEqualsFormulaWithPaddedVocab) {
  GPTConfig config = tiny_config(100);
  EXPECT_EQ(config.padded_vocab_size(), 128);
  GPT model(config);
  EXPECT_EQ(model.num_params(), config.num_params());
  EXPECT_EQ(model.num_params(), 2 * 128 * 64 + 12 * 2 * 64 * 64);
  config.n_kv_head = 1;  // grouped-query attention shrinks c_k and c_v
  EXPECT_EQ(GPT(config).num_params(), config.num_params());
  EXPECT_EQ(config.num_params(), 2 * 128 * 64 + 2 * (10 * 64 * 64 + 2 * 64 * 32));
}

// --- module -----------------------------------------------------------------------------

TEST(GPTTest, ParameterNamesAndGroupsMatchNanochat) {
  GPTConfig config = tiny_config();
  config.n_layer = 1;
  GPT model(config);
  std::vector<std::string> names;
  for (const auto& [name, param] : model.state_dict()) names.push_back(name);
  std::vector<std::string> expected = {
      "transformer.wte.weight",           "transformer.h.0.attn.c_q.weight",
      "transformer.h.0.attn.c_k.weight",  "transformer.h.0.attn.c_v.weight",
      "transformer.h.0.attn.c_proj.weight", "transformer.h.0.mlp.c_fc.weight",
      "transformer.h.0.mlp.c_proj.weight", "lm_head.weight"};
  EXPECT_EQ(names, expected);
  auto groups = model.param_groups();
  EXPECT_EQ(groups.matrix.size(), 6u);
  ASSERT_EQ(groups.embedding.size(), 1u);
  EXPECT_EQ(groups.embedding[0].first, "transformer.wte.weight");
  ASSERT_EQ(groups.unembedding.size(), 1u);
  EXPECT_EQ(groups.unembedding[0].first, "lm_head.weight");
  EXPECT_EQ(model.state_dict()[5].second.sizes(), at::IntArrayRef({256, 64}));  // c_fc (out, in)
}

TEST(GPTTest, OutputShapes) {
  GPT model(tiny_config(100));
  init_nonzero(model, 1);
  at::Tensor idx = tokens(3, 7, 100, 2);
  at::Tensor logits = model.forward(idx);
  EXPECT_EQ(logits.sizes(), at::IntArrayRef({3, 7, 100}));  // padding sliced off
  EXPECT_EQ(logits.scalar_type(), at::kFloat);
  EXPECT_LE(logits.abs().max().item<float>(), 15.0f);  // softcap
  at::Tensor loss = model.forward(idx, tokens(3, 7, 100, 3));
  EXPECT_EQ(loss.dim(), 0);
  at::Tensor rows = model.forward(idx, tokens(3, 7, 100, 3), LossReduction::None);
  EXPECT_EQ(rows.sizes(), at::IntArrayRef({3, 7}));
  // The same 21 positive row losses averaged in two orders.
  EXPECT_NEAR(rows.mean().item<float>(), loss.item<float>(), reorder_bound(21) * loss.item<float>());
}

TEST(GPTTest, IgnoredTargetsAreLeftOutOfTheMean) {
  GPT model(tiny_config());
  init_nonzero(model, 4);
  at::Tensor idx = tokens(2, 8, 100, 5);
  at::Tensor targets = tokens(2, 8, 100, 6);
  targets.index_put_({0, at::indexing::Slice(0, 5)}, -1);
  at::Tensor rows = model.forward(idx, targets, LossReduction::None);
  EXPECT_EQ(rows.index({0, at::indexing::Slice(0, 5)}).abs().sum().item<float>(), 0.0f);
  at::Tensor mean = model.forward(idx, targets);
  // 16 rows (5 of them zero) summed in two orders, plus one rounding of the division.
  EXPECT_NEAR(mean.item<float>(), rows.sum().item<float>() / 11.0f,
              (reorder_bound(16) + 2 * kFp32Roundoff) * mean.item<float>());
  targets.index_put_({1, 0}, 100);  // past the vocabulary
  EXPECT_THROW(model.forward(idx, targets), Error);
}

TEST(GPTTest, InitFollowsSpecAndIsDeterministic) {
  GPT a(tiny_config()), b(tiny_config()), c(tiny_config());
  a.init_weights(7);
  b.init_weights(7);
  c.init_weights(8);
  auto sa = a.state_dict(), sb = b.state_dict(), sc = c.state_dict();
  for (size_t i = 0; i < sa.size(); ++i) EXPECT_TRUE(at::equal(sa[i].second, sb[i].second)) << sa[i].first;
  EXPECT_FALSE(at::equal(sa[0].second, sc[0].second));
  for (const auto& [name, param] : sa) {
    bool zero = name == "lm_head.weight" || name.find("c_proj") != std::string::npos;
    double std = param.std().item<double>();
    if (zero) {
      EXPECT_EQ(param.abs().max().item<float>(), 0.0f) << name;
    } else if (name == "transformer.wte.weight") {
      EXPECT_NEAR(std, 1.0, 0.05);
    } else {
      // fan_in 64 everywhere: 1/8·min(1, √(fan_out/64)) = 1/8 for c_q (64→64) and c_fc (64→256).
      EXPECT_NEAR(std, 0.125, 0.01) << name;
    }
  }
  // The draw order is nanochat's (module order, zeroed weights drawn too): c_q is the
  // draw right after wte from the same generator.
  at::Generator gen = generator(7);
  at::Tensor wte = at::empty({128, 64}).normal_(0.0, 1.0, gen);
  at::Tensor c_q = at::empty({64, 64}).normal_(0.0, 0.125, gen);
  EXPECT_TRUE(at::equal(sa[0].second, wte));
  EXPECT_TRUE(at::equal(sa[1].second, c_q));
}

TEST(GPTTest, ZeroInitGivesUniformLogits) {
  GPT model(tiny_config(100));
  model.init_weights(3);
  at::Tensor idx = tokens(2, 16, 100, 4);
  EXPECT_EQ(model.forward(idx).abs().max().item<float>(), 0.0f);
  // Each row's logsumexp of 100 zeros is log(100) to one rounding; their mean over 32 rows
  // is within the reordering bound of a 32-term positive sum.
  EXPECT_NEAR(model.forward(idx, tokens(2, 16, 100, 5)).item<float>(), std::log(100.0),
              (reorder_bound(32) + kFp32Roundoff) * std::log(100.0));
}

TEST(GPTTest, Bf16ComputeTracksFp32) {
  GPT model(tiny_config());
  init_nonzero(model, 9);
  at::Tensor idx = tokens(2, 16, 100, 10), targets = tokens(2, 16, 100, 11);
  float fp32 = model.forward(idx, targets).item<float>();
  model.set_compute_dtype(at::kBFloat16);
  at::Tensor loss = model.forward(idx, targets);
  EXPECT_EQ(loss.scalar_type(), at::kFloat);
  // bf16 rounds inputs and outputs to 8 significant bits (2^-9 relative); the sums inside
  // accumulate in fp32 on every CPU kind (AMX tiles, AVX512_BF16 dot products and the
  // AVX2 path's conversion alike), so this gap does not depend on the machine.
  EXPECT_NEAR(loss.item<float>(), fp32, 0.03);
  loss.backward();
  for (const auto& [name, param] : model.state_dict()) {
    ASSERT_TRUE(param.grad().defined()) << name;
    EXPECT_EQ(param.grad().scalar_type(), at::kFloat) << name;  // fp32 master weights
    EXPECT_TRUE(param.grad().isfinite().all().item<bool>()) << name;
  }
  EXPECT_THROW(model.set_compute_dtype(at::kHalf), Error);

  // Weights stored in bf16 (for inference: no cast per step) give the same logits, bit for
  // bit by design: the same bf16 values reach the same kernels in the same process.
  at::NoGradGuard no_grad;
  at::Tensor logits = model.forward(idx);
  model.to(at::kBFloat16);
  EXPECT_EQ(model.state_dict()[1].second.scalar_type(), at::kBFloat16);
  EXPECT_TRUE(AllClose(model.forward(idx), logits, 0.0, 0.0));
}

TEST(GPTTest, OverfitsOneBatch) {
  GPTConfig config = tiny_config(64);
  GPT model(config);
  model.init_weights(0);
  at::Tensor idx = tokens(4, 32, 64, 1), targets = tokens(4, 32, 64, 2);
  torch::optim::AdamW optimizer(model.parameters(),
                                torch::optim::AdamWOptions(3e-3).betas({0.9, 0.95}).weight_decay(0.0));
  float first = 0.0f, last = 0.0f;
  for (int step = 0; step < 300; ++step) {
    optimizer.zero_grad();
    at::Tensor loss = model.forward(idx, targets);
    loss.backward();
    optimizer.step();
    if (step == 0) first = loss.item<float>();
    last = loss.item<float>();
  }
  // Zero-initialized heads give uniform logits (as in ZeroInitGivesUniformLogits): 128 rows.
  EXPECT_NEAR(first, std::log(64.0), (reorder_bound(4 * 32) + kFp32Roundoff) * std::log(64.0));
  EXPECT_LT(last, 0.05f) << "from " << first;
}

// --- KV cache ---------------------------------------------------------------------------

TEST(GPTTest, KVCacheDecodingEqualsFullForward) {
  GPTConfig config = tiny_config();
  config.n_kv_head = 1;  // exercise grouped-query attention too
  GPT model(config);
  init_nonzero(model, 12);
  at::NoGradGuard no_grad;
  at::Tensor idx = tokens(2, 12, 100, 13);
  at::Tensor full = model.forward(idx);

  KVCache cache = model.make_kv_cache(2, 4);  // too small: must grow on the way
  auto step = [&](int64_t from, int64_t to) {
    using at::indexing::Slice;
    at::Tensor logits = model.forward(idx.index({Slice(), Slice(from, to)}), &cache);
    EXPECT_TRUE(AllClose(logits, full.index({Slice(), Slice(from, to)}), 1e-4, 1e-5))
        << "positions " << from << ".." << to;
  };
  step(0, 5);    // prefill: Tq == Tk, causal
  step(5, 6);    // one token: attends to everything
  step(6, 10);   // a chunk after a prefix: prefix + causal mask
  step(10, 11);
  {
    using at::indexing::Slice;
    // The last position's logits alone, as sampling asks for them.
    at::Tensor last = model.next_token_logits(idx.index({Slice(), Slice(11, 12)}), &cache);
    EXPECT_TRUE(AllClose(last, full.select(1, 11), 1e-4, 1e-5));
  }
  EXPECT_EQ(cache.pos(), 12);
  EXPECT_EQ(cache.capacity(), 2048);  // 5 + 1024, rounded up to a multiple of 1024
  EXPECT_EQ(cache.storage().sizes(), at::IntArrayRef({2, 2, 2, 1, 2048, 32}));
}

TEST(GPTTest, NextTokenLogitsAreTheLastPositionsOfAPrefill) {
  GPT model(tiny_config());
  init_nonzero(model, 16);
  at::NoGradGuard no_grad;
  at::Tensor idx = tokens(2, 9, 100, 17);
  KVCache cache = model.make_kv_cache(2, 16);
  at::Tensor last = model.next_token_logits(idx, &cache);
  EXPECT_EQ(last.sizes(), at::IntArrayRef({2, 100}));
  EXPECT_TRUE(AllClose(last, model.forward(idx).select(1, 8), 1e-4, 1e-5));
  EXPECT_EQ(cache.pos(), 9);
}

TEST(GPTTest, KVCachePrefillBroadcastsOnePromptToABatch) {
  GPT model(tiny_config());
  init_nonzero(model, 14);
  at::NoGradGuard no_grad;
  at::Tensor prompt = tokens(1, 6, 100, 15);
  KVCache single = model.make_kv_cache(1, 16);
  model.forward(prompt, &single);
  KVCache batch = model.make_kv_cache(3, 16);
  batch.prefill(single);
  EXPECT_EQ(batch.pos(), 6);
  at::Tensor next = tokens(1, 1, 100, 16);
  at::Tensor expected = model.forward(next, &single);
  at::Tensor logits = model.forward(next.expand({3, 1}).contiguous(), &batch);
  // The same logits from a 3-row and a 1-row pass: GEMM and GEMV may block the dot products
  // differently (and differently per CPU kind), so this allows what the other KV-cache
  // comparisons allow.
  for (int64_t b = 0; b < 3; ++b) EXPECT_TRUE(AllClose(logits[b], expected[0], 1e-4, 1e-5));
  KVCache other_depth(3, 2, 32, 5, 16);
  EXPECT_THROW(other_depth.prefill(single), Error);
}

// --- fused kernels against their references ---------------------------------------------

struct Tolerance {
  at::ScalarType dtype;
  double rtol, atol;
};
// fp32: the kernels reduce at most 67 terms (a row's sum of squares, a softmax over the
// keys, a logsumexp over 100 logits), of positive terms in the forward passes, where the
// reordering bound is relative: reorder_bound(67) = 7.9e-6 < 1e-5. The backward passes' sums
// are signed, so the bound is against Σ|terms| (up to ~10 here); measured on AVX2 they use
// under 5% of these tolerances, and our kernels' order is fixed (16 accumulators, the same
// AVX2 code on AVX-512 machines), so only ATen's side changes with the CPU kind.
// bf16: 8 significant bits (2^-9 relative per rounding) and a few roundings per element.
const Tolerance kTolerances[] = {{at::kFloat, 1e-5, 1e-5}, {at::kBFloat16, 2e-2, 2e-2}};

// Compares outputs and input gradients of a fused op and its reference for one
// upstream gradient.
template <class Fused, class Reference>
void expect_same_op(const at::Tensor& input, Fused fused, Reference reference, const Tolerance& tol) {
  at::Tensor a = input.detach().clone().requires_grad_(true);
  at::Tensor b = input.detach().clone().requires_grad_(true);
  at::Tensor out_a = fused(a), out_b = reference(b);
  EXPECT_EQ(out_a.scalar_type(), out_b.scalar_type());
  EXPECT_TRUE(AllClose(out_a, out_b, tol.rtol, tol.atol)) << "forward";
  at::Tensor upstream = randn(out_a.sizes(), 99, out_a.scalar_type());
  out_a.backward(upstream);
  out_b.backward(upstream);
  EXPECT_TRUE(AllClose(a.grad(), b.grad(), tol.rtol, tol.atol)) << "backward";
}

// Two threads, so the kernels' row splitting is exercised.
class GPTOpsTest : public ::testing::Test {
 protected:
  void SetUp() override { at::set_num_threads(2); }
  void TearDown() override { at::set_num_threads(1); }
};

TEST_F(GPTOpsTest, FusedRmsNormMatchesReference) {
  for (const auto& tol : kTolerances) {
    SCOPED_TRACE(c10::toString(tol.dtype));
    expect_same_op(randn({3, 5, 67}, 1, tol.dtype) * 3, nanochat::ops::rms_norm,
                   nanochat::ops::rms_norm_reference, tol);
  }
}

TEST_F(GPTOpsTest, FusedReluSquaredMatchesReference) {
  for (const auto& tol : kTolerances) {
    SCOPED_TRACE(c10::toString(tol.dtype));
    expect_same_op(randn({4, 9, 33}, 2, tol.dtype), nanochat::ops::relu_squared,
                   nanochat::ops::relu_squared_reference, tol);
  }
}

TEST_F(GPTOpsTest, FusedRotaryNormMatchesReference) {
  auto [cos, sin] = nanochat::ops::rotary_tables(40, 32, 10000.0);
  at::Tensor c = cos.narrow(0, 3, 11), s = sin.narrow(0, 3, 11);  // positions 3..13
  for (const auto& tol : kTolerances) {
    SCOPED_TRACE(c10::toString(tol.dtype));
    expect_same_op(
        randn({2, 11, 3, 32}, 3, tol.dtype),
        [&](const at::Tensor& x) { return nanochat::ops::rotary_rms_norm(x, c, s); },
        [&](const at::Tensor& x) { return nanochat::ops::rotary_rms_norm_reference(x, c, s); }, tol);
  }
}

TEST_F(GPTOpsTest, RotaryMatchesHandComputation) {
  const int64_t T = 50, D = 8, half = D / 2;
  auto [cos, sin] = nanochat::ops::rotary_tables(T, D, 10000.0);
  ASSERT_EQ(cos.sizes(), at::IntArrayRef({T, half}));
  at::Tensor x = randn({1, T, 1, D}, 4);
  at::Tensor y = nanochat::ops::rotary_rms_norm(x, cos, sin);
  for (int64_t t = 0; t < T; t += 7) {
    std::vector<double> rotated(D);
    double sum_squares = 0.0;
    for (int64_t i = 0; i < half; ++i) {
      double theta = t / std::pow(10000.0, 2.0 * i / D);
      // Tables are bf16-rounded (as nanochat's): within one bf16 step of the exact value.
      EXPECT_NEAR(cos[t][i].item<float>(), std::cos(theta), 4e-3);
      EXPECT_NEAR(sin[t][i].item<float>(), std::sin(theta), 4e-3);
      double ct = cos[t][i].item<float>(), st = sin[t][i].item<float>();
      double x1 = x[0][t][0][i].item<float>(), x2 = x[0][t][0][i + half].item<float>();
      rotated[i] = x1 * ct + x2 * st;
      rotated[i + half] = -x1 * st + x2 * ct;
    }
    for (double r : rotated) sum_squares += r * r;
    double scale = 1.0 / std::sqrt(sum_squares / D + 1.1920929e-07);
    for (int64_t j = 0; j < D; ++j) EXPECT_NEAR(y[0][t][0][j].item<float>(), rotated[j] * scale, 1e-5);
  }
  // Position 0 is the identity rotation: only the norm acts.
  EXPECT_TRUE(AllClose(y[0][0], nanochat::ops::rms_norm_reference(x[0][0]), 1e-6, 1e-6));
}

TEST_F(GPTOpsTest, SdpaAttentionEqualsPlainSoftmax) {
  using at::indexing::Slice;
  at::Tensor q = randn({2, 4, 16, 32}, 5), k = randn({2, 4, 16, 32}, 6), v = randn({2, 4, 16, 32}, 7);
  auto check = [](const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const char* what) {
    SCOPED_TRACE(what);
    expect_same_op(
        q, [&](const at::Tensor& x) { return nanochat::ops::causal_attention(x, k, v); },
        [&](const at::Tensor& x) { return nanochat::ops::causal_attention_reference(x, k, v); },
        {at::kFloat, 1e-4, 1e-5});
  };
  check(q, k, v, "causal, Tq == Tk");
  check(q.index({Slice(), Slice(), Slice(10, 16)}), k, v, "chunk after a prefix");
  check(q.index({Slice(), Slice(), Slice(15, 16)}), k, v, "one query");
  check(q, k.index({Slice(), Slice(0, 2)}), v.index({Slice(), Slice(0, 2)}), "grouped-query");
  // The reference itself: the first query sees only the first key.
  at::Tensor y = nanochat::ops::causal_attention_reference(q, k, v);
  EXPECT_TRUE(AllClose(y.index({Slice(), Slice(), 0}), v.index({Slice(), Slice(), 0}), 1e-6, 1e-6));
}

TEST_F(GPTOpsTest, DecodeAttentionMatchesPlainSoftmax) {
  // One query per row over keys and values that are views of a larger cache, as decoding
  // reads them; without a gradient this takes the CPU decode kernel.
  at::NoGradGuard no_grad;
  at::Tensor storage = randn({2, 2, 2, 3, 400, 32}, 30);  // (layers, k/v, batch, kv heads, capacity, dim)
  for (int64_t keys : {1, 7, 300}) {
    for (int64_t heads : {3, 6}) {  // one query head per kv head, and two (grouped-query)
      SCOPED_TRACE("keys " + std::to_string(keys) + ", heads " + std::to_string(heads));
      at::Tensor k = storage[1][0].narrow(2, 0, keys), v = storage[1][1].narrow(2, 0, keys);
      at::Tensor q = randn({2, 1, heads, 32}, 31).transpose(1, 2);  // (B, H, 1, D) as a view
      EXPECT_TRUE(AllClose(nanochat::ops::causal_attention(q, k, v),
                           nanochat::ops::causal_attention_reference(q, k, v), 1e-5, 1e-5));
    }
  }
}

TEST_F(GPTOpsTest, StreamingLinearMatchesATen) {
  // Decoding shapes take the streaming kernel (up to 16 rows, no gradient wanted); a row
  // length that is not a multiple of the kernel's lanes and an odd number of rows cover
  // its tails, and 17 rows its hand-over to at::linear.
  // Sums of up to 512 products added in another order than the GEMM's: each element within
  // the reordering bound of its own dot product.
  at::NoGradGuard no_grad;
  for (int64_t in : {64, 67, 512}) {
    at::Tensor weight = randn({45, in}, 20);
    for (int64_t rows : {1, 2, 3, 16, 17}) {
      SCOPED_TRACE("in " + std::to_string(in) + ", rows " + std::to_string(rows));
      at::Tensor x = randn({rows, in}, 21);
      EXPECT_TRUE(LinearClose(nanochat::ops::linear(x, weight), at::linear(x, weight), x, weight));
    }
    // (B, T, in) input, and a strided one (a column slice).
    at::Tensor batched = randn({2, 3, in}, 22);
    EXPECT_TRUE(LinearClose(nanochat::ops::linear(batched, weight), at::linear(batched, weight), batched, weight));
    at::Tensor strided = randn({2, 2 * in}, 23).narrow(1, in, in);
    EXPECT_TRUE(LinearClose(nanochat::ops::linear(strided, weight), at::linear(strided, weight), strided, weight));
  }
}

TEST_F(GPTOpsTest, StreamingLinearKeepsGradientsWhenWanted) {
  at::Tensor weight = randn({8, 32}, 24).requires_grad_(true);
  at::Tensor x = randn({1, 32}, 25).requires_grad_(true);
  expect_same_op(
      x, [&](const at::Tensor& input) { return nanochat::ops::linear(input, weight); },
      [&](const at::Tensor& input) { return at::linear(input, weight); }, {at::kFloat, 1e-5, 1e-5});
}

TEST_F(GPTOpsTest, InferenceSoftcapLogitsMatchReference) {
  // Inference computes only the vocabulary's rows and softcaps in place; with a gradient
  // wanted it is the ATen composition.
  const int64_t vocab = 100, padded = 128, d = 32;
  at::Tensor weight = randn({padded, d}, 26);
  at::Tensor x = randn({3, 1, d}, 27) * 2;
  at::Tensor expected = at::tanh(at::linear(x, weight).narrow(-1, 0, vocab) / 15.0) * 15.0;
  {
    at::NoGradGuard no_grad;
    at::Tensor logits = nanochat::ops::softcap_logits(x, weight, vocab, 15.0);
    EXPECT_EQ(logits.sizes(), at::IntArrayRef({3, 1, vocab}));
    EXPECT_TRUE(SoftcapLogitsClose(logits, expected, x, weight.narrow(0, 0, vocab)));
  }
  at::Tensor tracked = x.clone().requires_grad_(true);
  at::Tensor logits = nanochat::ops::softcap_logits(tracked, weight, vocab, 15.0);
  EXPECT_TRUE(logits.requires_grad());
  EXPECT_TRUE(SoftcapLogitsClose(logits.detach(), expected, x, weight.narrow(0, 0, vocab)));
}

TEST_F(GPTOpsTest, FusedSoftcapCrossEntropyMatchesReference) {
  const int64_t vocab = 100, padded = 128, rows = 24, d = 32;
  at::Tensor targets = at::randint(vocab, {rows}, generator(8), at::kLong);
  targets[3] = -1;
  targets[7] = vocab - 1;
  for (const auto& tol : kTolerances) {
    SCOPED_TRACE(c10::toString(tol.dtype));
    // Logits up to about ±40: the softcap's tanh is well into its curve.
    at::Tensor x = randn({rows, d}, 9, tol.dtype) * 2;
    at::Tensor weight = randn({padded, d}, 10, tol.dtype);
    for (int variant = 0; variant < 2; ++variant) {
      at::Tensor xa = x.clone().requires_grad_(true), wa = weight.clone().requires_grad_(true);
      at::Tensor xb = x.clone().requires_grad_(true), wb = weight.clone().requires_grad_(true);
      at::Tensor la = nanochat::ops::softcap_cross_entropy(xa, wa, targets, vocab, 15.0);
      at::Tensor lb = nanochat::ops::softcap_cross_entropy_reference(xb, wb, targets, vocab, 15.0);
      EXPECT_TRUE(AllClose(la, lb, 1e-5, 1e-5)) << "loss";
      EXPECT_EQ(la[3].item<float>(), 0.0f);
      // A mean (uniform upstream) and a per-row weighting.
      at::Tensor upstream = variant == 0 ? at::full({rows}, 1.0 / rows) : randn({rows}, 11).abs();
      la.backward(upstream);
      lb.backward(upstream);
      EXPECT_TRUE(AllClose(xa.grad(), xb.grad(), tol.rtol, tol.atol)) << "grad x";
      EXPECT_TRUE(AllClose(wa.grad(), wb.grad(), tol.rtol, tol.atol)) << "grad weight";
      EXPECT_EQ(wa.grad().narrow(0, vocab, padded - vocab).abs().max().item<float>(), 0.0f);
    }
    at::NoGradGuard no_grad;  // the loss alone, without gradient work
    EXPECT_TRUE(AllClose(nanochat::ops::softcap_cross_entropy(x, weight, targets, vocab, 15.0),
                         nanochat::ops::softcap_cross_entropy_reference(x, weight, targets, vocab, 15.0),
                         1e-5, 1e-5));
  }
}

TEST_F(GPTOpsTest, NaNsPropagateAsInATen) {
  // A diverged model must show a NaN loss, not a finite one from a clamped kernel.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  at::Tensor x = randn({4, 16}, 12);
  x[1][3] = nan;
  EXPECT_TRUE(nanochat::ops::relu_squared(x)[1][3].isnan().item<bool>());
  EXPECT_TRUE(nanochat::ops::rms_norm(x)[1].isnan().all().item<bool>());
  at::Tensor loss = nanochat::ops::softcap_cross_entropy(x, randn({64, 16}, 13),
                                                         at::zeros({4}, at::kLong), 64, 15.0);
  EXPECT_TRUE(loss[1].isnan().item<bool>());
  EXPECT_FALSE(loss[0].isnan().item<bool>());
}

// --- checkpoints --------------------------------------------------------------------------

using GPTCheckpointTest = TempDir;

TEST_F(GPTCheckpointTest, SaveLoadRoundTripGivesIdenticalOutputs) {
  GPT saved(tiny_config());
  init_nonzero(saved, 20);
  saved.save(dir_ / "model.safetensors", {{"step", "42"}});
  GPT loaded(tiny_config());
  loaded.init_weights(21);
  auto metadata = loaded.load(dir_ / "model.safetensors");
  EXPECT_EQ(metadata.at("step"), "42");
  EXPECT_EQ(nlohmann::json::parse(metadata.at("model_config")).get<GPTConfig>(), tiny_config());
  at::Tensor idx = tokens(2, 9, 100, 22);
  EXPECT_TRUE(at::equal(saved.forward(idx), loaded.forward(idx)));
}

TEST_F(GPTCheckpointTest, TruncatedOrCorruptCheckpointIsRefused) {
  GPT model(tiny_config());
  init_nonzero(model, 23);
  fs::path path = dir_ / "model.safetensors";
  model.save(path);
  auto before = model.state_dict()[1].second.clone();
  fs::resize_file(path, fs::file_size(path) / 2);
  GPT other(tiny_config());
  other.init_weights(24);
  auto untouched = other.state_dict()[1].second.clone();
  try {
    other.load(path);
    FAIL() << "a truncated checkpoint was accepted";
  } catch (const Error& e) {
    EXPECT_TRUE(Contains(e.what(), path.string()));
    EXPECT_TRUE(Contains(e.what(), "truncated"));
  }
  EXPECT_TRUE(at::equal(other.state_dict()[1].second, untouched));  // nothing half-loaded

  {
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    file.write("\xff\xff\xff\xff\xff\xff\xff\x7f", 8);  // absurd header length
  }
  EXPECT_THROW(other.load(path), Error);
  EXPECT_THROW(other.load(dir_ / "absent.safetensors"), Error);
  EXPECT_TRUE(at::equal(model.state_dict()[1].second, before));
}

TEST_F(GPTCheckpointTest, CheckpointOfAnotherConfigIsRefused) {
  GPT small(tiny_config(100));
  small.init_weights(25);
  small.save(dir_ / "model.safetensors");
  GPTConfig wider = tiny_config(100);
  wider.n_head = 4;  // heads of 16 instead of 32: same shapes, another model
  wider.n_kv_head = 4;
  try {
    GPT(wider).load(dir_ / "model.safetensors");
    FAIL();
  } catch (const Error& e) {
    EXPECT_TRUE(Contains(e.what(), "model config"));
  }
  GPTConfig longer = tiny_config(100);
  longer.sequence_len = 64;  // only sizes the rotary table: allowed
  GPT(longer).load(dir_ / "model.safetensors");
}

}  // namespace
