// The `grpo` RL algorithm: each sample's advantage is its reward minus the mean reward of the
// samples of the same prompt, and the loss is the policy gradient −logp·A over the sampled
// tokens. The defaults are exactly what nanochat's chat_rl.py does (on-policy REINFORCE with a
// group-mean baseline, no σ division, no ratio, no KL, one mean over all sampled tokens); the
// options add the GRPO paper's σ division, a clipped ratio, a KL penalty and the other loss
// normalisations (DeepSeekMath's GRPO, DAPO's asymmetric clip, Dr. GRPO).
#include <ATen/core/grad_mode.h>

#include "nanochat/error.hpp"
#include "nanochat/rl.hpp"
#include "nanochat/rl_math.hpp"
#include "nanochat/tensor_plugin.hpp"

namespace nanochat::grpo {
namespace {

class Grpo final : public RlAlgorithm {
 public:
  OptionSpecs describe_options() const override {
    return {
        {"std-scale", 0, "1: divide each group's advantages by the std of its rewards (GRPO paper); 0: r - mean only",
         0.0, 1.0, false, true},
        {"clip-low", 0, "the ratio to the sampling policy is clipped below at 1 - clip-low; clip-low and clip-high 0: no ratio",
         0.0, 1.0, true},
        {"clip-high", 0, "the ratio is clipped above at 1 + clip-high (DAPO: higher than clip-low)", 0.0},
        {"kl-beta", 0, "weight of the KL penalty against the model the run started from (0: none)", 0.0},
        {"kl-estimator", 3, "KL per token: 1 = logp - ref, 3 = exp(ref - logp) - (ref - logp) - 1", 1.0, 3.0, false,
         true},
        {"loss-agg", 0,
         "0: mean over sampled tokens, 1: mean per sequence then over sequences, 2: sum / (sequences * max-new-tokens)",
         0.0, 2.0, false, true},
        {"epochs", 1, "passes over each batch of rollouts", 1.0, 1000.0, false, true},
        {"minibatches", 1, "optimizer steps per pass: this rank's rollouts split into this many", 1.0, 1e6, false, true},
    };
  }

  void configure(const OptionValues& options) override {
    const OptionSpecs specs = describe_options();
    const OptionValues resolved = resolve_options("grpo", specs, options);
    config_ = policy_loss_config("grpo", resolved);
    std_scale_ = resolved.at("std-scale") != 0;
    epochs_ = static_cast<int64_t>(resolved.at("epochs"));
    minibatches_ = static_cast<int64_t>(resolved.at("minibatches"));
    refuse_options_without_effect("grpo", specs, resolved, {"kl-estimator"}, config_.uses_kl(), "kl-beta > 0");
    if (!config_.uses_ratio() && epochs_ * minibatches_ > 1) {
      throw UsageError("grpo: epochs " + std::to_string(epochs_) + " and minibatches " + std::to_string(minibatches_) +
                       " update the policy more than once per batch of rollouts, and without a ratio the later updates "
                       "ignore that the policy changed; set clip-low and clip-high > 0 (e.g. 0.2), or epochs 1 and minibatches 1");
    }
  }

  RlNeeds needs() const override {
    RlNeeds needs;
    needs.old_logprobs = config_.uses_ratio();
    needs.ref_logprobs = config_.uses_kl();
    needs.epochs = epochs_;
    needs.minibatches = minibatches_;
    return needs;
  }

  void prepare(RlBatch& batch) override {
    at::NoGradGuard no_grad;
    batch.advantages = group_baseline_advantages(batch.rewards, batch.group, batch.num_groups, std_scale_);
  }

  RlLoss loss(const RlBatch& batch, const RlSlice& slice, const at::Tensor& logp, const at::Tensor& values,
              const RlNorm& norm) override {
    (void)values;  // no value head
    return policy_loss(batch, slice, logp, norm, config_);
  }

 private:
  PolicyLossConfig config_;
  bool std_scale_ = false;
  int64_t epochs_ = 1;
  int64_t minibatches_ = 1;
};

}  // namespace
}  // namespace nanochat::grpo

NANOCHAT_TENSOR_PLUGIN(NANOCHAT_KIND_RL, nanochat::RlAlgorithm, nanochat::grpo::Grpo, "grpo", "1.0.0",
                       "group-baseline policy gradient (nanochat's chat_rl.py by default); optional std scaling, "
                       "clipped ratio, KL penalty, token/sequence/Dr. GRPO loss normalisation")
