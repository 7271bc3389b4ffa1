// The RL-algorithm template (plugins/rl-template, `rloo`), loaded through the registry as
// the rl stage does: its options, what it needs, leave-one-out advantages (plain and
// std-scaled) and the token loss, against values worked out by hand.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>
#include <filesystem>

#include "nanochat/plugin_registry.hpp"
#include "nanochat/rl.hpp"

namespace fs = std::filesystem;
using namespace nanochat;

namespace {

std::shared_ptr<RlAlgorithm> make_rloo(const OptionValues& given) {
  PluginRegistry::instance().set_search_dirs({fs::path(NANOCHAT_TEST_BINARY_DIR) / "lib/nanochat/plugins"});
  auto rloo = PluginRegistry::instance().create<RlAlgorithm>(PluginKind::rl, "rloo");
  rloo->configure(resolve_options("rloo", rloo->describe_options(), given));
  return rloo;
}

// Six samples of three prompts, rows interleaved: group 0 = rows 0, 2, 5 (rewards 1, 0, 0),
// group 1 = rows 1, 4 (0.5, 1.5), group 2 = row 3 alone (2). Three positions per row.
RlBatch make_batch() {
  RlBatch batch;
  batch.rewards = at::tensor({1.0f, 0.5f, 0.0f, 2.0f, 1.5f, 0.0f});
  batch.group = at::tensor({0, 1, 0, 2, 1, 0}, at::kLong);
  batch.num_groups = 3;
  batch.mask = at::tensor({0.f, 1.f, 1.f, 0.f, 1.f, 0.f, 1.f, 1.f, 1.f, 0.f, 0.f, 0.f, 1.f, 0.f, 0.f, 0.f, 1.f, 1.f}).view({6, 3});
  return batch;
}

void expect_values(const at::Tensor& actual, const std::vector<double>& expected) {
  ASSERT_EQ(actual.numel(), static_cast<int64_t>(expected.size()));
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(actual[i].item<double>(), expected[i], 1e-5) << "row " << i;
}

TEST(RlTemplate, DeclaresStdScaleAndNeedsNothingExtra) {
  auto rloo = make_rloo({});
  const OptionSpecs specs = rloo->describe_options();
  ASSERT_EQ(specs.size(), 1u);
  EXPECT_EQ(specs[0].name, "std-scale");
  EXPECT_EQ(specs[0].default_value, 0.0);
  EXPECT_EQ(specs[0].range_text(), "a whole number in [0, 1]");
  const RlNeeds needs = rloo->needs();
  EXPECT_FALSE(needs.old_logprobs || needs.ref_logprobs || needs.value_head);
  EXPECT_EQ(needs.epochs, 1);
  EXPECT_EQ(needs.minibatches, 1);
}

TEST(RlTemplate, AdvantageIsTheRewardMinusTheMeanOfTheOtherSamples) {
  RlBatch batch = make_batch();
  make_rloo({})->prepare(batch);
  // Group 0: 1 − (0+0)/2 = 1, 0 − (1+0)/2 = −0.5 twice; group 1: 0.5 − 1.5, 1.5 − 0.5; alone: 0.
  expect_values(batch.advantages, {1.0, -1.0, -0.5, 0.0, 1.0, -0.5});
}

TEST(RlTemplate, StdScaleDividesByTheGroupsStd) {
  RlBatch batch = make_batch();
  make_rloo({{"std-scale", 1}})->prepare(batch);
  // Group 0: mean 1/3, std √(2/9) = √2/3; group 1: std 0.5; group 2: std 0, advantage stays 0.
  const double std0 = std::sqrt(2.0) / 3;
  expect_values(batch.advantages, {1 / std0, -2.0, -0.5 / std0, 0.0, 2.0, -0.5 / std0});
}

TEST(RlTemplate, SlicesLossesAddUpToTheMinibatchsTokenMean) {
  RlBatch batch = make_batch();
  auto rloo = make_rloo({});
  rloo->prepare(batch);
  const at::Tensor logp = at::full({6, 3}, -0.5f).requires_grad_(true);
  RlNorm norm;
  norm.tokens = 9;  // the mask's ones
  norm.sequences = 6;
  at::Tensor loss = at::zeros({});
  double logp_metric = 0;
  for (RlSlice slice : {RlSlice{0, 4}, RlSlice{4, 6}}) {
    RlLoss part = rloo->loss(batch, slice, logp.narrow(0, slice.begin, slice.rows()), at::Tensor(), norm);
    ASSERT_EQ(part.metrics.size(), 1u);
    EXPECT_EQ(part.metrics[0].first, "logp");
    logp_metric += part.metrics[0].second.item<double>();
    loss = loss + part.loss;
  }
  // −Σ logp·A·mask / 9 = 0.5·(1·2 − 1·1 − 0.5·3 + 0 + 1·1 − 0.5·2) / 9 = −0.25 / 9.
  EXPECT_NEAR(loss.item<double>(), -0.25 / 9, 1e-6);
  EXPECT_NEAR(logp_metric, -0.5, 1e-6);
  loss.backward();
  // d loss / d logp = −A·mask / 9: row 0 (A = 1) at its sampled positions, row 2 (A = −0.5), row 3 never.
  EXPECT_NEAR(logp.grad()[0][1].item<double>(), -1.0 / 9, 1e-6);
  EXPECT_NEAR(logp.grad()[0][0].item<double>(), 0.0, 1e-9);
  EXPECT_NEAR(logp.grad()[2][0].item<double>(), 0.5 / 9, 1e-6);
  EXPECT_EQ(logp.grad()[3].abs().sum().item<double>(), 0.0);
}

TEST(RlTemplate, NothingSampledGivesAZeroLossNotNaN) {
  RlBatch batch = make_batch();
  auto rloo = make_rloo({});
  rloo->prepare(batch);
  RlNorm norm;  // tokens = 0: every reply was empty
  RlLoss part = rloo->loss(batch, RlSlice{3, 4}, at::full({1, 3}, -0.5f).requires_grad_(true), at::Tensor(), norm);
  EXPECT_EQ(part.loss.item<double>(), 0.0);
}

}  // namespace
