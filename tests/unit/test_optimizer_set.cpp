// make_optimizers on a real (tiny) GPT with the real plugins: any assignment of the groups
// to plugins trains (AdamW only, one plugin for everything), state names stay unique and
// stable, learning rates are scaled as nanochat's, weight decay reaches only the plugins
// that support it, and --optimizer-option values reach their plugin or are refused.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <filesystem>
#include <set>

#include "nanochat/gpt.hpp"
#include "nanochat/plugin_registry.hpp"
#include "nanochat/training.hpp"

namespace fs = std::filesystem;
using namespace nanochat;

namespace {

class OptimizerSetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PluginRegistry::instance().set_search_dirs({fs::path(NANOCHAT_TEST_BINARY_DIR) / "lib/nanochat/plugins"});
    // Depth 1: d = 64, one head; 128 tokens of vocabulary.
    model = std::make_shared<GPT>(GPTConfig::from_depth(1, 128, 16));
    model->init_weights(7);
    at::manual_seed(3);
    tokens = at::randint(0, 128, {4, 17}, at::kLong);
  }

  double loss() { return model->forward(inputs(), targets()).item<double>(); }

  // One training step on the fixed batch; returns the loss before it.
  double train_step(OptimizerSet& set) {
    at::Tensor value = model->forward(inputs(), targets());
    value.backward();
    set.step();
    set.zero_grad();
    return value.item<double>();
  }

  // Fits the fixed batch for `steps` steps; returns (first loss, last loss).
  std::pair<double, double> fit(OptimizerSet& set, int steps) {
    const double first = train_step(set);
    for (int i = 1; i < steps; ++i) train_step(set);
    return {first, loss()};
  }

  at::Tensor param(const std::string& name) {
    for (const auto& [key, tensor] : model->state_dict()) {
      if (key == name) return tensor;
    }
    ADD_FAILURE() << "no parameter " << name;
    return {};
  }

  static std::set<std::string> state_names(const OptimizerSet& set) {
    std::set<std::string> names;
    for (const auto& [name, tensor] : set.state_dict()) names.insert(name);
    return names;
  }

  static std::vector<std::string> plugins_of(const OptimizerSet& set) {
    std::vector<std::string> names;
    for (const auto& [name, optimizer] : set.optimizers) names.push_back(name);
    return names;
  }

  at::Tensor inputs() const { return tokens.narrow(1, 0, 16); }
  at::Tensor targets() const { return tokens.narrow(1, 1, 16); }

  std::shared_ptr<GPT> model;
  at::Tensor tokens;
};

TEST_F(OptimizerSetTest, DefaultIsAdamWThenMuonWithStableStateNames) {
  OptimizerSet set = make_optimizers(*model, OptimizerChoice{}, nullptr);
  EXPECT_EQ(plugins_of(set), (std::vector<std::string>{"adamw", "muon"}));
  const auto names = state_names(set);
  for (const char* name : {"adamw/world_size", "adamw/unembedding.0.exp_avg", "adamw/embedding.0.exp_avg_sq",
                           "adamw/embedding.0.step", "muon/world_size", "muon/step", "muon/matrix.0.momentum_buffer",
                           "muon/matrix.5.momentum_buffer"}) {
    EXPECT_EQ(names.count(name), 1u) << name;
  }
  // adamw: world_size + 3 per parameter; muon: world_size, step + one per block matrix
  // (c_q, c_k, c_v, attn.c_proj, c_fc, mlp.c_proj).
  EXPECT_EQ(names.size(), 1u + 3 * 2 + 2u + 6u);
  auto [first, last] = fit(set, 10);
  EXPECT_LT(last, first - 0.5);
}

TEST_F(OptimizerSetTest, AdamWOnlyTrainsEveryGroupInOneInstance) {
  OptimizerChoice choice;
  choice.matrix = "adamw";
  choice.matrix_lr = 0.003;
  OptimizerSet set = make_optimizers(*model, choice, nullptr);
  EXPECT_EQ(plugins_of(set), (std::vector<std::string>{"adamw"}));
  const auto names = state_names(set);
  EXPECT_EQ(names.count("adamw/matrix.0.exp_avg"), 1u);
  EXPECT_EQ(names.count("adamw/embedding.0.exp_avg"), 1u);
  const at::Tensor c_fc = param("transformer.h.0.mlp.c_fc.weight").detach().clone();
  auto [first, last] = fit(set, 10);
  EXPECT_LT(last, first - 0.5);
  EXPECT_FALSE(at::equal(c_fc, param("transformer.h.0.mlp.c_fc.weight"))) << "the matrices must train too";

  // The state it saved loads into an optimizer set made the same way.
  OptimizerState saved;
  for (const auto& [name, tensor] : set.state_dict()) saved[name] = tensor.clone();
  OptimizerSet again = make_optimizers(*model, choice, nullptr);
  again.load_state_dict(saved);
  EXPECT_EQ(again.state_dict().at("adamw/matrix.0.step").item<float>(), 10.0f);
}

TEST_F(OptimizerSetTest, MuonForEverythingTrains) {
  OptimizerChoice choice;
  choice.embedding = "muon";
  choice.embedding_lr = 0.02;
  choice.unembedding_lr = 0.02;
  OptimizerSet set = make_optimizers(*model, choice, nullptr);
  EXPECT_EQ(plugins_of(set), (std::vector<std::string>{"muon"}));
  const auto names = state_names(set);
  EXPECT_EQ(names.count("muon/unembedding.0.momentum_buffer"), 1u);
  EXPECT_EQ(names.count("muon/embedding.0.momentum_buffer"), 1u);
  EXPECT_EQ(names.count("muon/matrix.0.momentum_buffer"), 1u);
  auto [first, last] = fit(set, 10);
  EXPECT_LT(last, first - 0.5);
}

TEST_F(OptimizerSetTest, LearningRatesAreScaledAsNanochats) {
  // AdamW's first step moves every entry with a gradient by exactly lr (m̂/√v̂ = ±1), so the
  // moves show each group's lr: wte 0.2·(64/768)^-½, lm_head 0.004·(64/768)^-½.
  OptimizerChoice choice;
  choice.matrix = "adamw";
  OptimizerSet set = make_optimizers(*model, choice, nullptr);
  const double scale = std::sqrt(768.0 / 64.0);
  std::map<std::string, at::Tensor> before;
  for (const char* name : {"transformer.wte.weight", "lm_head.weight", "transformer.h.0.attn.c_q.weight"}) {
    before[name] = param(name).detach().clone();
  }
  for (const auto& [name, tensor] : model->state_dict()) tensor.mutable_grad() = at::randn(tensor.sizes());
  set.step();
  auto max_move = [&](const std::string& name) { return (param(name).detach() - before[name]).abs().max().item<double>(); };
  EXPECT_NEAR(max_move("transformer.wte.weight"), 0.2 * scale, 1e-5);
  EXPECT_NEAR(max_move("lm_head.weight"), 0.004 * scale, 1e-6);
  EXPECT_NEAR(max_move("transformer.h.0.attn.c_q.weight"), 0.02, 1e-6) << "matrix-lr is not width-scaled";
}

TEST_F(OptimizerSetTest, WeightDecayReachesOnlyPluginsThatSupportIt) {
  // With zero gradients AdamW's update is 0, so wte shrinks by exactly 1 − lr·wd; Muon's
  // matrices (Newton–Schulz of 0 is 0) stay as they were.
  OptimizerChoice choice;
  choice.weight_decay = 0.1;
  OptimizerSet set = make_optimizers(*model, choice, nullptr);
  const at::Tensor wte = param("transformer.wte.weight").detach().clone();
  const at::Tensor c_q = param("transformer.h.0.attn.c_q.weight").detach().clone();
  for (const auto& [name, tensor] : model->state_dict()) tensor.mutable_grad() = at::zeros(tensor.sizes());
  set.step();
  const double lr = 0.2 * std::sqrt(768.0 / 64.0);
  EXPECT_TRUE(at::allclose(param("transformer.wte.weight").detach(), wte * (1 - lr * 0.1), 1e-6, 1e-7));
  EXPECT_TRUE(at::equal(param("transformer.h.0.attn.c_q.weight").detach(), c_q));

  OptimizerChoice only_muon;
  only_muon.embedding = "muon";
  only_muon.weight_decay = 0.1;
  try {
    make_optimizers(*model, only_muon, nullptr);
    FAIL() << "weight decay without a plugin that supports it";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("no optimizer in use (muon) supports weight decay"), std::string::npos) << e.what();
  }
}

TEST_F(OptimizerSetTest, PluginOptionsReachTheirPluginOrAreRefused) {
  // beta1 = 0: the first moment is the last gradient itself.
  OptimizerChoice choice;
  choice.plugin_options = {{"adamw", {{"beta1", 0.0}}}, {"muon", {{"ns-bf16", 0.0}}}};
  OptimizerSet set = make_optimizers(*model, choice, nullptr);
  at::Tensor value = model->forward(inputs(), targets());
  value.backward();
  const at::Tensor grad = param("transformer.wte.weight").grad().clone();
  set.step();
  EXPECT_TRUE(at::allclose(set.state_dict().at("adamw/embedding.0.exp_avg"), grad, 1e-6, 1e-9));

  auto message_of = [&](const PluginOptionValues& options) -> std::string {
    OptimizerChoice bad;
    bad.plugin_options = options;
    try {
      make_optimizers(*model, bad, nullptr);
    } catch (const UsageError& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_EQ(message_of({{"lion", {{"beta1", 0.9}}}}),
            "--optimizer-option lion.*: 'lion' is not a plugin in use here (in use: adamw, muon)");
  EXPECT_EQ(message_of({{"muon", {{"beta1", 0.9}}}}),
            "--optimizer-option muon.beta1=0.9: muon has no option 'beta1' (it has: momentum, momentum-start, "
            "momentum-warmup-steps, nesterov, ns-steps, ns-bf16)");
  EXPECT_EQ(message_of({{"muon", {{"ns-steps", 0.0}}}}),
            "--optimizer-option muon.ns-steps=0: muon: ns-steps must be a whole number in [1, 100], got 0");
}

TEST_F(OptimizerSetTest, UnknownPluginIsAUsageError) {
  OptimizerChoice choice;
  choice.matrix = "no-such-optimizer";
  EXPECT_THROW(make_optimizers(*model, choice, nullptr), UsageError);
}

}  // namespace
