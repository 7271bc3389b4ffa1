// The `ppo` RL algorithm (Schulman et al. 2017, as used for language models): several epochs
// of minibatch updates on each batch of rollouts with the clipped ratio to the sampling
// policy, a KL penalty against the starting model whose weight can adapt to a target KL
// (Ziegler et al. 2019), and advantages either from the group baseline (as grpo) or, with a
// value head, by GAE, the head learning the returns through a clipped value loss.
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <cmath>

#include "nanochat/error.hpp"
#include "nanochat/rl.hpp"
#include "nanochat/rl_math.hpp"
#include "nanochat/tensor_plugin.hpp"

namespace nanochat::ppo {
namespace {

// The adaptive KL coefficient moves by this factor when the step's KL leaves
// [target / kKlBand, target · kKlBand].
constexpr double kKlStep = 1.5;
constexpr double kKlBand = 1.5;

constexpr const char* kKlBetaState = "kl_beta";

class Ppo final : public RlAlgorithm {
 public:
  OptionSpecs describe_options() const override {
    return {
        {"clip-low", 0.2, "the ratio to the sampling policy is clipped below at 1 - clip-low", 0.0, 1.0, true},
        {"clip-high", 0.2, "the ratio is clipped above at 1 + clip-high", 0.0},
        {"kl-beta", 0.01, "weight of the KL penalty against the model the run started from (0: none)", 0.0},
        {"kl-estimator", 1, "KL per token: 1 = logp - ref, 3 = exp(ref - logp) - (ref - logp) - 1", 1.0, 3.0, false,
         true},
        {"kl-target", 0,
         "adaptive kl-beta: x1.5 after a step whose KL exceeds 1.5 * target, /1.5 below target / 1.5 (0: fixed)", 0.0},
        {"value-head", 0, "1: a value head, advantages by GAE; 0: group-baseline advantages r - mean(r)", 0.0, 1.0,
         false, true},
        {"gamma", 1.0, "GAE discount per sampled token", 0.0, 1.0},
        {"lambda", 0.95, "GAE lambda", 0.0, 1.0},
        {"value-clip", 0.2, "the value head's prediction may move this far from the sampling one (0: unclipped)", 0.0},
        {"value-coef", 0.5, "weight of the value loss", 0.0},
        {"whiten", 0, "1: advantages shifted and scaled to mean 0, std 1 over this rank's sampled tokens", 0.0, 1.0,
         false, true},
        {"loss-agg", 0,
         "0: mean over sampled tokens, 1: mean per sequence then over sequences, 2: sum / (sequences * max-new-tokens)",
         0.0, 2.0, false, true},
        {"epochs", 4, "passes over each batch of rollouts", 1.0, 1000.0, false, true},
        {"minibatches", 4, "optimizer steps per pass: this rank's rollouts split into this many", 1.0, 1e6, false, true},
    };
  }

  void configure(const OptionValues& options) override {
    const OptionSpecs specs = describe_options();
    const OptionValues resolved = resolve_options("ppo", specs, options);
    config_ = policy_loss_config("ppo", resolved);
    kl_target_ = resolved.at("kl-target");
    value_head_ = resolved.at("value-head") != 0;
    gamma_ = resolved.at("gamma");
    lambda_ = resolved.at("lambda");
    value_clip_ = resolved.at("value-clip");
    value_coef_ = resolved.at("value-coef");
    whiten_ = resolved.at("whiten") != 0;
    epochs_ = static_cast<int64_t>(resolved.at("epochs"));
    minibatches_ = static_cast<int64_t>(resolved.at("minibatches"));
    if (!config_.uses_ratio()) {
      throw UsageError("ppo: clip-low and clip-high are both 0, which pins the clipped ratio to 1; set them > 0 "
                       "(e.g. 0.2), or use grpo, whose clip 0 means plain policy gradient");
    }
    if (kl_target_ > 0 && !config_.uses_kl()) {
      throw UsageError("ppo: kl-target adapts kl-beta starting from its value, and from 0 it stays 0; "
                       "set kl-beta > 0 or kl-target 0");
    }
    refuse_options_without_effect("ppo", specs, resolved, {"kl-estimator"}, config_.uses_kl(), "kl-beta > 0");
    refuse_options_without_effect("ppo", specs, resolved, {"gamma", "lambda", "value-clip", "value-coef"}, value_head_,
                                  "value-head 1");
    if (value_head_ && value_coef_ == 0) {
      throw UsageError("ppo: value-coef 0 leaves the value head untrained, yet GAE's advantages come from it; "
                       "set value-coef > 0 or value-head 0");
    }
  }

  RlNeeds needs() const override {
    RlNeeds needs;
    needs.old_logprobs = true;
    needs.ref_logprobs = config_.uses_kl();
    needs.value_head = value_head_;
    needs.epochs = epochs_;
    needs.minibatches = minibatches_;
    return needs;
  }

  void prepare(RlBatch& batch) override {
    at::NoGradGuard no_grad;
    at::Tensor advantages;
    if (value_head_) {
      if (!batch.old_values.defined()) throw Error("ppo with value-head 1: the RL batch has no old_values");
      GaeResult gae = generalized_advantages(batch.rewards, batch.old_values, batch.mask, gamma_, lambda_);
      advantages = gae.advantages;
      batch.returns = gae.returns;
    } else {
      advantages = token_advantages(
          group_baseline_advantages(batch.rewards, batch.group, batch.num_groups, /*divide_by_std=*/false), batch.mask);
    }
    batch.advantages = whiten_ ? whiten_over_mask(advantages, batch.mask) : advantages;
  }

  RlLoss loss(const RlBatch& batch, const RlSlice& slice, const at::Tensor& logp, const at::Tensor& values,
              const RlNorm& norm) override {
    RlLoss result = policy_loss(batch, slice, logp, norm, config_);
    if (!value_head_) return result;
    if (!values.defined()) throw Error("ppo with value-head 1: loss() was given no values from the value head");
    if (!batch.returns.defined() || !batch.old_values.defined()) {
      throw Error("ppo with value-head 1: the RL batch has no returns or old_values (prepare() sets the returns)");
    }
    at::Tensor per_token = clipped_value_loss(values, slice_rows(batch.old_values, slice), slice_rows(batch.returns, slice),
                                              value_clip_);
    at::Tensor value_loss = aggregate_loss(per_token, slice_rows(batch.mask, slice), config_.aggregation, norm);
    result.loss = result.loss + value_coef_ * value_loss;
    result.metrics.emplace_back("value_loss", value_loss.detach());
    return result;
  }

  void on_step_end(const RlStepStats& stats) override {
    if (kl_target_ <= 0) return;
    if (stats.kl > kKlBand * kl_target_) config_.kl_beta *= kKlStep;
    else if (stats.kl < kl_target_ / kKlBand) config_.kl_beta /= kKlStep;
  }

  // Only an adaptive kl-beta is state; a fixed one comes from the options of the resumed run.
  RlState state() const override {
    if (kl_target_ <= 0) return {};
    return {{kKlBetaState, config_.kl_beta}};
  }

  // A checkpoint without kl_beta (saved with a fixed one) leaves the configured kl-beta.
  void load_state(const RlState& state) override {
    if (kl_target_ <= 0) return;
    auto it = state.find(kKlBetaState);
    if (it == state.end()) return;
    if (!std::isfinite(it->second) || it->second <= 0) {
      throw Error("ppo state has kl_beta " + format_option_value(it->second) + "; an adaptive kl-beta is always > 0");
    }
    config_.kl_beta = it->second;
  }

 private:
  PolicyLossConfig config_;
  double kl_target_ = 0;
  bool value_head_ = false;
  double gamma_ = 1.0, lambda_ = 0.95, value_clip_ = 0.2, value_coef_ = 0.5;
  bool whiten_ = false;
  int64_t epochs_ = 4;
  int64_t minibatches_ = 4;
};

}  // namespace
}  // namespace nanochat::ppo

NANOCHAT_TENSOR_PLUGIN(NANOCHAT_KIND_RL, nanochat::RlAlgorithm, nanochat::ppo::Ppo, "ppo", "1.0.0",
                       "PPO: clipped ratio over several epochs and minibatches, KL penalty (adaptive with kl-target), "
                       "optional value head with GAE")
