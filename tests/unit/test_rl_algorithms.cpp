// The RL arithmetic (nanochat/rl_math.hpp) on small tensors worked by hand, and the grpo and
// ppo plugins loaded through the registry as the rl stage loads them: their options and
// refusals, nanochat's REINFORCE as grpo's default, the on-policy clipped ratio's gradient,
// the KL and value terms, PPO's adaptive KL state, and a minibatch's loss summed over slices
// and simulated ranks equal to the loss of the whole.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <memory>

#include "nanochat/error.hpp"
#include "nanochat/plugin_registry.hpp"
#include "nanochat/rl.hpp"
#include "nanochat/rl_math.hpp"

namespace fs = std::filesystem;
using namespace nanochat;

namespace {

std::shared_ptr<RlAlgorithm> make_algorithm(const std::string& name, const OptionValues& options = {}) {
  PluginRegistry::instance().set_search_dirs({fs::path(NANOCHAT_TEST_BINARY_DIR) / "lib/nanochat/plugins"});
  auto algorithm = PluginRegistry::instance().create<RlAlgorithm>(PluginKind::rl, name);
  algorithm->configure(options);
  return algorithm;
}

at::Tensor floats(std::vector<float> values, at::IntArrayRef shape) {
  return at::tensor(values, at::kFloat).view(shape).clone();
}

at::Tensor longs(std::vector<int64_t> values) { return at::tensor(values, at::kLong); }

void expect_close(const at::Tensor& actual, const at::Tensor& expected, double tolerance = 1e-5) {
  ASSERT_EQ(actual.sizes(), expected.sizes());
  const double diff = (actual.detach().to(at::kDouble) - expected.to(at::kDouble)).abs().max().item<double>();
  EXPECT_LT(diff, tolerance) << "actual\n" << actual << "\nexpected\n" << expected;
}

double value_of(const at::Tensor& scalar) { return scalar.item<double>(); }

double metric(const RlLoss& loss, const std::string& name) {
  for (const auto& [key, value] : loss.metrics) {
    if (key == name) return value.item<double>();
  }
  ADD_FAILURE() << "no metric " << name;
  return NAN;
}

bool has_metric(const RlLoss& loss, const std::string& name) {
  for (const auto& entry : loss.metrics) {
    if (entry.first == name) return true;
  }
  return false;
}

RlNorm norm_of(const at::Tensor& mask, int64_t max_new_tokens) {
  RlNorm norm;
  norm.tokens = mask.sum().item<double>();
  norm.sequences = static_cast<double>(mask.size(0));
  norm.max_new_tokens = max_new_tokens;
  return norm;
}

// Two rows of one prompt, rewards 1 and 0, three positions; row 0 samples positions 1–2,
// row 1 positions 0–1.
RlBatch two_row_batch() {
  RlBatch batch;
  batch.mask = floats({0, 1, 1, 1, 1, 0}, {2, 3});
  batch.rewards = floats({1, 0}, {2});
  batch.group = longs({0, 0});
  batch.num_groups = 1;
  return batch;
}

void expect_usage_error(const std::string& name, const OptionValues& options, const std::string& words) {
  try {
    make_algorithm(name, options);
    ADD_FAILURE() << name << " accepted options it should refuse (expected: " << words << ")";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
  }
}

// ---- advantages ----------------------------------------------------------------------

TEST(RlMath, GroupBaselineSubtractsEachGroupsMean) {
  // Groups interleaved: group 0 rewards 1, 0, 1, 0 (mean 0.5); group 1 all 0.5.
  at::Tensor rewards = floats({1, 0, 0.5, 1, 0.5, 0, 0.5}, {7});
  at::Tensor group = longs({0, 0, 1, 0, 1, 0, 1});
  expect_close(group_baseline_advantages(rewards, group, 2, false), floats({0.5, -0.5, 0, 0.5, 0, -0.5, 0}, {7}));
  // Sample std of group 0 is √(4·0.25 / 3); group 1's std is 0, its advantages stay 0.
  const float scaled = static_cast<float>(0.5 / (std::sqrt(1.0 / 3.0) + 1e-4));
  expect_close(group_baseline_advantages(rewards, group, 2, true),
               floats({scaled, -scaled, 0, scaled, 0, -scaled, 0}, {7}));
  // A group of one sample has nothing to compare against.
  expect_close(group_baseline_advantages(floats({3}, {1}), longs({0}), 1, true), floats({0}, {1}));
  EXPECT_THROW(group_baseline_advantages(rewards, group, 1, false), Error);  // id 1 outside [0, 1)
  EXPECT_THROW(group_baseline_advantages(rewards, longs({0, 1}), 2, false), Error);
}

TEST(RlMath, AllEqualRewardsGiveZeroAdvantages) {
  at::Tensor rewards = floats({0.7f, 0.7f, 0.7f, 0.2f, 0.2f}, {5});
  at::Tensor group = longs({0, 0, 0, 1, 1});
  for (bool divide : {false, true}) {
    EXPECT_EQ(group_baseline_advantages(rewards, group, 2, divide).abs().max().item<float>(), 0.0f);
  }
}

TEST(RlMath, TokenAdvantagesBroadcastOverSampledTokensOnly) {
  at::Tensor mask = floats({0, 1, 1, 1, 0, 0}, {2, 3});
  expect_close(token_advantages(floats({2, -1}, {2}), mask), floats({0, 2, 2, -1, 0, 0}, {2, 3}));
  expect_close(token_advantages(floats({1, 2, 3, 4, 5, 6}, {2, 3}), mask), floats({0, 2, 3, 4, 0, 0}, {2, 3}));
}

TEST(RlMath, WhitenGivesMeanZeroStdOneOverSampledTokens) {
  at::Tensor mask = floats({0, 1, 1, 1, 0, 1}, {2, 3});
  at::Tensor x = floats({100, 1, 2, 3, -100, 6}, {2, 3});
  // Sampled 1, 2, 3, 6: mean 3, population variance (4 + 1 + 0 + 9) / 4 = 3.5.
  const float s = static_cast<float>(std::sqrt(3.5) + 1e-8);
  expect_close(whiten_over_mask(x, mask), floats({0, -2 / s, -1 / s, 0, 0, 3 / s}, {2, 3}));
}

TEST(RlMath, GaeSkipsMaskedGapsAndStartsFromTheLastSampledToken) {
  // Row 0: prompt, sampled, sampled, forced (calculator), sampled, padding; reward 1.
  // Row 1: one sampled token; reward 0. Row 2: nothing sampled.
  at::Tensor mask = floats({0, 1, 1, 0, 1, 0,  //
                            1, 0, 0, 0, 0, 0,  //
                            0, 0, 0, 0, 0, 0},
                           {3, 6});
  at::Tensor values = floats({9, 0.5, 0.4, 9, 0.8, 9,  //
                              0.3, 9, 9, 9, 9, 9,      //
                              9, 9, 9, 9, 9, 9},
                             {3, 6});
  at::Tensor rewards = floats({1, 0, 1}, {3});
  // γ = 0.9, λ = 0.5, γλ = 0.45. Row 0, backwards over positions 4, 2, 1:
  //   δ4 = 1 + 0 − 0.8 = 0.2                  A4 = 0.2
  //   δ2 = 0 + 0.9·0.8 − 0.4 = 0.32           A2 = 0.32 + 0.45·0.2 = 0.41
  //   δ1 = 0 + 0.9·0.4 − 0.5 = −0.14          A1 = −0.14 + 0.45·0.41 = 0.0445
  // Returns A + V: 0.5445, 0.81, 1.0. Row 1: A0 = 0 − 0.3, return 0.
  GaeResult gae = generalized_advantages(rewards, values, mask, 0.9, 0.5);
  expect_close(gae.advantages, floats({0, 0.0445f, 0.41f, 0, 0.2f, 0,  //
                                       -0.3f, 0, 0, 0, 0, 0,           //
                                       0, 0, 0, 0, 0, 0},
                                      {3, 6}));
  expect_close(gae.returns, floats({0, 0.5445f, 0.81f, 0, 1.0f, 0,  //
                                    0, 0, 0, 0, 0, 0,               //
                                    0, 0, 0, 0, 0, 0},
                                   {3, 6}));
  // γ = λ = 1: the Monte Carlo advantage R − V on every sampled token.
  GaeResult monte_carlo = generalized_advantages(rewards, values, mask, 1.0, 1.0);
  expect_close(monte_carlo.advantages.narrow(0, 0, 1), floats({0, 0.5f, 0.6f, 0, 0.2f, 0}, {1, 6}));
  expect_close(monte_carlo.returns.narrow(0, 0, 1), floats({0, 1, 1, 0, 1, 0}, {1, 6}));
}

// ---- per-token losses --------------------------------------------------------------------

TEST(RlMath, KlEstimatorsK1AndK3) {
  at::Tensor logp = floats({-1, -2, -0.3f}, {1, 3});
  at::Tensor ref = floats({-1.5f, -1, -0.3f}, {1, 3});
  expect_close(kl_per_token(logp, ref, KlEstimator::k1), floats({0.5f, -1, 0}, {1, 3}));
  // k3 with x = ref − logp: exp(x) − x − 1; x = −0.5 → e^−0.5 − 0.5, x = 1 → e − 2, x = 0 → 0.
  expect_close(kl_per_token(logp, ref, KlEstimator::k3),
               floats({static_cast<float>(std::exp(-0.5) - 0.5), static_cast<float>(std::exp(1.0) - 2), 0}, {1, 3}));
}

TEST(RlMath, ClippedSurrogateClipsBothSides) {
  // clip-low 0.2, clip-high 0.3: the ratio is kept in [0.8, 1.3].
  //   A = +1, ratio 1.5: clipped to 1.3            → loss −1.3, clipped, no gradient
  //   A = +1, ratio 0.5: the unclipped 0.5 is less → loss −0.5
  //   A = −1, ratio 0.5: −0.8 < −0.5, clipped      → loss 0.8, clipped, no gradient
  //   A = −1, ratio 1.5: −1.5 < −1.3, unclipped    → loss 1.5
  //   A = +2, ratio 1.1: inside                    → loss −2.2
  at::Tensor old_logp = floats({-1, -1, -1, -1, -1}, {1, 5});
  at::Tensor ratio = floats({1.5f, 0.5f, 0.5f, 1.5f, 1.1f}, {1, 5});
  at::Tensor logp = (old_logp + ratio.log()).requires_grad_(true);
  at::Tensor advantages = floats({1, 1, -1, -1, 2}, {1, 5});
  SurrogateResult result = clipped_surrogate(logp, old_logp, advantages, 0.2, 0.3);
  expect_close(result.loss, floats({-1.3f, -0.5f, 0.8f, 1.5f, -2.2f}, {1, 5}));
  expect_close(result.clipped, floats({1, 0, 1, 0, 0}, {1, 5}));
  result.loss.sum().backward();
  // d(−ratio·A)/d logp = −ratio·A where unclipped, 0 where clipped.
  expect_close(logp.grad(), floats({0, -0.5f, 0, 1.5f, -2.2f}, {1, 5}));
}

TEST(RlMath, ClippedValueLossTakesTheLargerError) {
  at::Tensor values = floats({1.0f, 0.6f, 0.0f}, {1, 3});
  at::Tensor old_values = floats({0.5f, 0.5f, 0.5f}, {1, 3});
  at::Tensor returns = floats({1.0f, 0.0f, 1.0f}, {1, 3});
  // clip 0.2: clipped predictions 0.7, 0.6, 0.3.
  //   (0 vs 0.09) → 0.045;  (0.36 vs 0.36) → 0.18;  (1 vs 0.49) → 0.5
  expect_close(clipped_value_loss(values, old_values, returns, 0.2), floats({0.045f, 0.18f, 0.5f}, {1, 3}));
  expect_close(clipped_value_loss(values, old_values, returns, 0.0), floats({0.0f, 0.18f, 0.5f}, {1, 3}));
}

// ---- aggregation -------------------------------------------------------------------------

TEST(RlMath, EachAggregationModeOnAHandExample) {
  at::Tensor per_token = floats({1, 2, 3, 4, 5, 6, 7, 8}, {2, 4});
  at::Tensor mask = floats({1, 1, 0, 0, 1, 1, 1, 1}, {2, 4});
  RlNorm norm = norm_of(mask, 4);  // 6 tokens, 2 sequences
  EXPECT_NEAR(value_of(aggregate_loss(per_token, mask, LossAggregation::token, norm)), 29.0 / 6, 1e-6);
  EXPECT_NEAR(value_of(aggregate_loss(per_token, mask, LossAggregation::sequence, norm)), (1.5 + 6.5) / 2, 1e-6);
  EXPECT_NEAR(value_of(aggregate_loss(per_token, mask, LossAggregation::dr_grpo, norm)), 29.0 / 8, 1e-6);
  // Masked tokens contribute nothing, whatever their loss.
  at::Tensor noisy = per_token.clone();
  noisy.index_put_({0, 2}, 1000.0f);
  noisy.index_put_({0, 3}, -1000.0f);
  for (auto mode : {LossAggregation::token, LossAggregation::sequence, LossAggregation::dr_grpo}) {
    EXPECT_EQ(value_of(aggregate_loss(noisy, mask, mode, norm)), value_of(aggregate_loss(per_token, mask, mode, norm)));
  }
  EXPECT_EQ(value_of(aggregate_loss(per_token, at::zeros_like(mask), LossAggregation::token, RlNorm{})), 0.0);
  EXPECT_THROW(aggregate_loss(per_token, mask, LossAggregation::sequence, RlNorm{6, 0, 4}), Error);
  EXPECT_THROW(aggregate_loss(per_token, mask, LossAggregation::dr_grpo, RlNorm{6, 2, 0}), Error);
}

// ---- the plugins -------------------------------------------------------------------------

std::vector<std::string> option_names(const RlAlgorithm& algorithm) {
  std::vector<std::string> names;
  for (const OptionSpec& spec : algorithm.describe_options()) names.push_back(spec.name);
  return names;
}

TEST(RlPlugins, DeclareTheirOptionsWithDefaultsAndHelp) {
  auto grpo = make_algorithm("grpo");
  auto ppo = make_algorithm("ppo");
  EXPECT_EQ(option_names(*grpo), (std::vector<std::string>{"std-scale", "clip-low", "clip-high", "kl-beta",
                                                           "kl-estimator", "loss-agg", "epochs", "minibatches"}));
  EXPECT_EQ(resolve_options("ppo", ppo->describe_options(), {}),
            (OptionValues{{"clip-low", 0.2}, {"clip-high", 0.2}, {"kl-beta", 0.01}, {"kl-estimator", 1},
                          {"kl-target", 0}, {"value-head", 0}, {"gamma", 1.0}, {"lambda", 0.95}, {"value-clip", 0.2},
                          {"value-coef", 0.5}, {"whiten", 0}, {"loss-agg", 0}, {"epochs", 4}, {"minibatches", 4}}));
  for (const auto* algorithm : {grpo.get(), ppo.get()}) {
    for (const OptionSpec& spec : algorithm->describe_options()) {
      EXPECT_FALSE(spec.help.empty()) << spec.name;
      EXPECT_NO_THROW(check_option_value("default", spec, spec.default_value)) << spec.name;
    }
  }
}

TEST(Grpo, DefaultIsNanochatsReinforceWithAGroupMeanBaseline) {
  auto grpo = make_algorithm("grpo");
  RlNeeds needs = grpo->needs();
  EXPECT_FALSE(needs.old_logprobs);
  EXPECT_FALSE(needs.ref_logprobs);
  EXPECT_FALSE(needs.value_head);
  EXPECT_EQ(needs.epochs, 1);
  EXPECT_EQ(needs.minibatches, 1);

  RlBatch batch = two_row_batch();
  grpo->prepare(batch);
  expect_close(batch.advantages, floats({0.5f, -0.5f}, {2}));
  // −Σ logp·A·m / tokens = −(0.5·(−1) + 0.5·(−2) − 0.5·(−0.5) − 0.5·(−1.5)) / 4 = 0.125
  at::Tensor logp = floats({0, -1, -2, -0.5f, -1.5f, 0}, {2, 3}).requires_grad_(true);
  RlLoss loss = grpo->loss(batch, {0, 2}, logp, {}, norm_of(batch.mask, 3));
  EXPECT_NEAR(value_of(loss.loss), 0.125, 1e-6);
  EXPECT_NEAR(metric(loss, "pg_loss"), 0.125, 1e-6);
  EXPECT_NEAR(metric(loss, "adv_abs_mean"), 0.5, 1e-6);
  EXPECT_FALSE(has_metric(loss, "kl"));
  EXPECT_FALSE(has_metric(loss, "clip_frac"));
  loss.loss.backward();
  expect_close(logp.grad(), floats({0, -0.125f, -0.125f, 0.125f, 0.125f, 0}, {2, 3}));
}

TEST(Grpo, OnPolicyClippedRatioHasReinforcesGradient) {
  at::manual_seed(3);
  RlBatch batch;
  batch.mask = (at::rand({4, 7}) > 0.3).to(at::kFloat);
  batch.rewards = floats({1, 0, 0, 1}, {4});
  batch.group = longs({0, 0, 1, 1});
  batch.num_groups = 2;
  at::Tensor logp_value = -at::rand({4, 7}) * 3 * batch.mask;
  batch.old_logp = logp_value.clone();  // the policy that sampled is the current one
  RlNorm norm = norm_of(batch.mask, 7);

  auto reinforce = make_algorithm("grpo");
  auto clipped = make_algorithm("grpo", {{"clip-low", 0.2}, {"clip-high", 0.28}});
  EXPECT_TRUE(clipped->needs().old_logprobs);
  std::vector<at::Tensor> grads;
  for (const auto& algorithm : {reinforce, clipped}) {
    RlBatch copy = batch;
    algorithm->prepare(copy);
    at::Tensor logp = logp_value.clone().requires_grad_(true);
    RlLoss loss = algorithm->loss(copy, {0, 4}, logp, {}, norm);
    loss.loss.backward();
    grads.push_back(logp.grad());
    if (algorithm == clipped) EXPECT_EQ(metric(loss, "clip_frac"), 0.0);
  }
  EXPECT_GT(grads[0].abs().max().item<float>(), 0.0f);
  expect_close(grads[1], grads[0], 1e-7);
}

TEST(Grpo, KlTermAddsBetaTimesTheEstimateAndNeedsTheReferenceModel) {
  RlBatch batch = two_row_batch();
  batch.ref_logp = floats({0, -1.5f, -1, -0.5f, -1, 0}, {2, 3});
  at::Tensor logp = floats({0, -1, -2, -0.5f, -1.5f, 0}, {2, 3});
  RlNorm norm = norm_of(batch.mask, 3);
  // Sampled (logp, ref): (−1, −1.5), (−2, −1), (−0.5, −0.5), (−1.5, −1), over 4 tokens.
  const double k1 = (0.5 - 1 + 0 - 0.5) / 4;
  const double k3 = ((std::exp(-0.5) - 0.5) + (std::exp(1.0) - 2) + 0 + (std::exp(0.5) - 1.5)) / 4;
  for (auto [estimator, expected] : {std::pair{1.0, k1}, std::pair{3.0, k3}}) {
    auto grpo = make_algorithm("grpo", {{"kl-beta", 0.1}, {"kl-estimator", estimator}});
    EXPECT_TRUE(grpo->needs().ref_logprobs);
    EXPECT_FALSE(grpo->needs().old_logprobs);
    grpo->prepare(batch);
    RlLoss loss = grpo->loss(batch, {0, 2}, logp, {}, norm);
    EXPECT_NEAR(metric(loss, "kl"), expected, 1e-6);
    EXPECT_NEAR(value_of(loss.loss), 0.125 + 0.1 * expected, 1e-6) << "estimator " << estimator;
  }
  RlBatch no_ref = two_row_batch();
  auto grpo = make_algorithm("grpo", {{"kl-beta", 0.1}});
  grpo->prepare(no_ref);
  EXPECT_THROW(grpo->loss(no_ref, {0, 2}, logp, {}, norm), Error);
}

TEST(Grpo, StdScaleDividesEachGroupByItsStd) {
  auto grpo = make_algorithm("grpo", {{"std-scale", 1}});
  RlBatch batch = two_row_batch();
  grpo->prepare(batch);
  // Rewards 1, 0: ±0.5 over the sample std √0.5.
  const float a = static_cast<float>(0.5 / (std::sqrt(0.5) + 1e-4));
  expect_close(batch.advantages, floats({a, -a}, {2}));
}

TEST(Grpo, RefusesOptionsThatMakeNoSense) {
  expect_usage_error("grpo", {{"kl-beta", 0.1}, {"kl-estimator", 2}}, "kl-estimator must be 1");
  expect_usage_error("grpo", {{"kl-estimator", 1}}, "kl-estimator 1 has no effect without kl-beta > 0");
  expect_usage_error("grpo", {{"epochs", 2}}, "set clip-low and clip-high > 0");
  expect_usage_error("grpo", {{"minibatches", 4}}, "minibatches 4");
  expect_usage_error("grpo", {{"clip-low", 1}}, "clip-low");
  expect_usage_error("grpo", {{"clip-eps", 0.2}}, "clip-eps");
  EXPECT_NO_THROW(make_algorithm("grpo", {{"epochs", 2}, {"minibatches", 4}, {"clip-low", 0.2}, {"clip-high", 0.2}}));
}

// ---- slices and ranks ------------------------------------------------------------------

struct Rollouts {
  RlBatch batch;
  at::Tensor logp, values;  // what the current policy and value head give
};

// Four rows, two prompts of two samples; prompt positions first, random sampled spans and
// gaps, log-probs near the sampling policy's so some ratios are clipped.
Rollouts random_rollouts() {
  at::manual_seed(11);
  const int64_t rows = 4, length = 9;
  Rollouts r;
  r.batch.mask = (at::rand({rows, length}) > 0.35).to(at::kFloat);
  r.batch.mask.narrow(1, 0, 2).zero_();
  r.batch.rewards = floats({1, 0, 0.25f, 1}, {rows});
  r.batch.group = longs({0, 0, 1, 1});
  r.batch.num_groups = 2;
  r.batch.old_logp = -at::rand({rows, length}) * 2 * r.batch.mask;
  r.batch.ref_logp = (r.batch.old_logp + 0.3 * at::randn({rows, length})) * r.batch.mask;
  r.batch.old_values = at::rand({rows, length});
  r.logp = (r.batch.old_logp + 0.4 * at::randn({rows, length})) * r.batch.mask;
  r.values = r.batch.old_values + 0.3 * at::randn({rows, length});
  return r;
}

// Rows [begin, begin + rows) as a rank's own batch: group ids renumbered from 0.
RlBatch rank_batch(const RlBatch& whole, int64_t begin, int64_t rows) {
  RlBatch part;
  auto take = [&](const at::Tensor& t) { return t.narrow(0, begin, rows).clone(); };
  part.mask = take(whole.mask);
  part.rewards = take(whole.rewards);
  part.group = take(whole.group);
  part.group -= part.group.min();
  part.num_groups = part.group.max().item<int64_t>() + 1;
  part.old_logp = take(whole.old_logp);
  part.ref_logp = take(whole.ref_logp);
  part.old_values = take(whole.old_values);
  return part;
}

TEST(RlPlugins, SlicesOfTwoRanksSumToTheWholeMinibatchsLossAndGradient) {
  const std::vector<std::pair<std::string, OptionValues>> cases = {
      {"grpo", {}},
      {"grpo", {{"loss-agg", 1}, {"clip-low", 0.2}, {"clip-high", 0.3}, {"kl-beta", 0.05}, {"std-scale", 1}}},
      {"grpo", {{"loss-agg", 2}, {"kl-beta", 0.05}, {"kl-estimator", 1}}},
      {"ppo", {}},
      {"ppo", {{"value-head", 1}, {"loss-agg", 1}, {"kl-estimator", 3}}},
      {"ppo", {{"value-head", 1}, {"loss-agg", 2}, {"gamma", 0.9}, {"lambda", 0.8}}},
  };
  for (const auto& [name, options] : cases) {
    SCOPED_TRACE(name + " with " + std::to_string(options.size()) + " options set");
    Rollouts r = random_rollouts();
    RlNorm norm = norm_of(r.batch.mask, 9);  // counts over both ranks

    auto whole_algorithm = make_algorithm(name, options);
    const bool value_head = whole_algorithm->needs().value_head;
    whole_algorithm->prepare(r.batch);
    at::Tensor logp = r.logp.clone().requires_grad_(true);
    at::Tensor values = r.values.clone().requires_grad_(true);
    RlLoss whole = whole_algorithm->loss(r.batch, {0, 4}, logp, value_head ? values : at::Tensor(), norm);
    whole.loss.backward();
    ASSERT_GT(logp.grad().abs().max().item<float>(), 0.0f);
    if (options.count("clip-low") || name == "ppo") EXPECT_GT(metric(whole, "clip_frac"), 0.0);
    at::Tensor whole_logp_grad = logp.grad().clone();
    at::Tensor whole_values_grad = value_head ? values.grad().clone() : at::Tensor();
    logp.mutable_grad().reset();
    values.mutable_grad().reset();

    // Ranks 0 and 1 hold rows 0–1 and 2–3; each runs two slices of one row.
    at::Tensor summed = at::zeros({});
    std::map<std::string, double> summed_metrics;
    for (int64_t rank = 0; rank < 2; ++rank) {
      auto algorithm = make_algorithm(name, options);
      RlBatch part = rank_batch(r.batch, 2 * rank, 2);
      algorithm->prepare(part);
      for (int64_t row = 0; row < 2; ++row) {
        const int64_t global = 2 * rank + row;
        RlLoss slice = algorithm->loss(part, {row, row + 1}, logp.narrow(0, global, 1),
                                       value_head ? values.narrow(0, global, 1) : at::Tensor(), norm);
        summed = summed + slice.loss;
        for (const auto& [key, value] : slice.metrics) summed_metrics[key] += value.item<double>();
      }
    }
    summed.backward();
    EXPECT_NEAR(summed.item<double>(), whole.loss.item<double>(), 1e-6);
    for (const auto& [key, value] : whole.metrics) EXPECT_NEAR(summed_metrics[key], value.item<double>(), 1e-6) << key;
    expect_close(logp.grad(), whole_logp_grad, 1e-6);
    if (value_head) expect_close(values.grad(), whole_values_grad, 1e-6);
  }
}

// ---- ppo ---------------------------------------------------------------------------------

TEST(Ppo, DefaultsClipOverFourEpochsOfFourMinibatchesWithAKlPenalty) {
  auto ppo = make_algorithm("ppo");
  RlNeeds needs = ppo->needs();
  EXPECT_TRUE(needs.old_logprobs);
  EXPECT_TRUE(needs.ref_logprobs);
  EXPECT_FALSE(needs.value_head);
  EXPECT_EQ(needs.epochs, 4);
  EXPECT_EQ(needs.minibatches, 4);
  EXPECT_TRUE(ppo->state().empty()) << "a fixed kl-beta is not state";

  // Group-baseline advantages on the sampled tokens.
  RlBatch batch = two_row_batch();
  ppo->prepare(batch);
  expect_close(batch.advantages, floats({0, 0.5f, 0.5f, -0.5f, -0.5f, 0}, {2, 3}));
  EXPECT_FALSE(batch.returns.defined());
}

TEST(Ppo, ValueHeadAddsTheClippedValueLossToThePolicyLoss) {
  Rollouts r = random_rollouts();
  RlNorm norm = norm_of(r.batch.mask, 9);
  auto ppo = make_algorithm("ppo", {{"value-head", 1}, {"value-coef", 0.25}, {"value-clip", 0.1}});
  EXPECT_TRUE(ppo->needs().value_head);
  ppo->prepare(r.batch);
  GaeResult gae = generalized_advantages(r.batch.rewards, r.batch.old_values, r.batch.mask, 1.0, 0.95);
  expect_close(r.batch.advantages, gae.advantages);
  expect_close(r.batch.returns, gae.returns);

  RlLoss with_values = ppo->loss(r.batch, {0, 4}, r.logp, r.values, norm);
  PolicyLossConfig config = policy_loss_config("ppo", resolve_options("ppo", ppo->describe_options(), {}));
  RlLoss policy_only = policy_loss(r.batch, {0, 4}, r.logp, norm, config);
  const double value_loss =
      value_of(aggregate_loss(clipped_value_loss(r.values, r.batch.old_values, gae.returns, 0.1), r.batch.mask,
                              LossAggregation::token, norm));
  EXPECT_GT(value_loss, 0.0);
  EXPECT_NEAR(metric(with_values, "value_loss"), value_loss, 1e-6);
  EXPECT_NEAR(value_of(with_values.loss), value_of(policy_only.loss) + 0.25 * value_loss, 1e-6);
  EXPECT_GT(metric(with_values, "clip_frac"), 0.0);
  EXPECT_THROW(ppo->loss(r.batch, {0, 4}, r.logp, at::Tensor(), norm), Error);
}

TEST(Ppo, WhitenNormalisesAdvantagesOverSampledTokens) {
  Rollouts r = random_rollouts();
  auto ppo = make_algorithm("ppo", {{"whiten", 1}});
  ppo->prepare(r.batch);
  at::Tensor sampled = r.batch.advantages.masked_select(r.batch.mask > 0).to(at::kDouble);
  EXPECT_NEAR(sampled.mean().item<double>(), 0.0, 1e-6);
  EXPECT_NEAR(sampled.std(/*unbiased=*/false).item<double>(), 1.0, 1e-5);
  EXPECT_EQ(r.batch.advantages.masked_select(r.batch.mask == 0).abs().max().item<float>(), 0.0f);
}

TEST(Ppo, AdaptiveKlCoefficientFollowsTheTargetAndRoundTripsThroughState) {
  auto ppo = make_algorithm("ppo", {{"kl-beta", 0.02}, {"kl-target", 0.1}});
  EXPECT_EQ(ppo->state().at("kl_beta"), 0.02);
  RlStepStats stats;
  stats.kl = 0.2;  // > 1.5 · 0.1
  ppo->on_step_end(stats);
  EXPECT_NEAR(ppo->state().at("kl_beta"), 0.03, 1e-12);
  ppo->on_step_end(stats);
  EXPECT_NEAR(ppo->state().at("kl_beta"), 0.045, 1e-12);
  stats.kl = 0.1;  // inside [target / 1.5, 1.5 · target]
  ppo->on_step_end(stats);
  EXPECT_NEAR(ppo->state().at("kl_beta"), 0.045, 1e-12);
  stats.kl = 0.05;  // < 0.1 / 1.5
  ppo->on_step_end(stats);
  EXPECT_NEAR(ppo->state().at("kl_beta"), 0.03, 1e-12);

  // A resumed run continues with the saved coefficient, and its loss uses it.
  RlState saved = ppo->state();
  auto resumed = make_algorithm("ppo", {{"kl-beta", 0.02}, {"kl-target", 0.1}});
  resumed->load_state(saved);
  EXPECT_EQ(resumed->state(), saved);
  Rollouts r = random_rollouts();
  RlNorm norm = norm_of(r.batch.mask, 9);
  resumed->prepare(r.batch);
  RlLoss loss = resumed->loss(r.batch, {0, 4}, r.logp, {}, norm);
  PolicyLossConfig config = policy_loss_config("ppo", resolve_options("ppo", resumed->describe_options(), {}));
  config.kl_beta = saved.at("kl_beta");
  EXPECT_NEAR(value_of(loss.loss), value_of(policy_loss(r.batch, {0, 4}, r.logp, norm, config).loss), 1e-7);

  EXPECT_THROW(resumed->load_state({{"kl_beta", -1}}), Error);
  // Without a target, kl-beta is an option: a checkpoint's value does not override it.
  auto fixed = make_algorithm("ppo", {{"kl-beta", 0.02}});
  fixed->load_state(saved);
  EXPECT_TRUE(fixed->state().empty());
}

TEST(Ppo, RefusesOptionsThatMakeNoSense) {
  expect_usage_error("ppo", {{"clip-low", 0}, {"clip-high", 0}}, "clip-low and clip-high are both 0");
  expect_usage_error("ppo", {{"kl-beta", 0}, {"kl-target", 0.1}}, "set kl-beta > 0 or kl-target 0");
  expect_usage_error("ppo", {{"kl-beta", 0}, {"kl-estimator", 3}}, "kl-estimator 3 has no effect without kl-beta > 0");
  expect_usage_error("ppo", {{"gamma", 0.9}}, "gamma 0.9 has no effect without value-head 1");
  expect_usage_error("ppo", {{"value-coef", 1}}, "value-coef 1 has no effect without value-head 1");
  expect_usage_error("ppo", {{"value-head", 1}, {"value-coef", 0}}, "value-coef 0 leaves the value head untrained");
  expect_usage_error("ppo", {{"kl-estimator", 2}}, "kl-estimator must be 1");
  expect_usage_error("ppo", {{"whiten", 0.5}}, "whiten");
  EXPECT_NO_THROW(make_algorithm("ppo", {{"value-head", 1}, {"gamma", 0.99}, {"whiten", 1}, {"kl-target", 0.05}}));
}

}  // namespace
