// `rloo`: REINFORCE with a leave-one-out baseline (RLOO; Kool et al. 2019, "Buy 4 REINFORCE
// Samples, Get a Baseline for Free!"; Ahmadian et al. 2024, arXiv:2402.14740), the template
// of an RL-algorithm plugin: only the installed SDK's headers. docs/writing-an-rl-plugin.md
// walks through it. Each sample is scored against the other samples of its prompt:
//   A_i = r_i − mean of r_j over the other samples j of i's group   (0 for a group of one)
//   loss = −Σ logp·A·mask / (sampled tokens of the minibatch)
// With std-scale=1, A_i is divided by the standard deviation of its group's rewards.
#include <ATen/ATen.h>

#include <algorithm>

#include "nanochat/rl.hpp"
#include "nanochat/tensor_plugin.hpp"

namespace rloo {
namespace {

using namespace nanochat;

// Keeps a group whose rewards are all equal (advantages 0) from dividing 0 by 0.
constexpr double kStdEpsilon = 1e-6;

class Rloo final : public RlAlgorithm {
 public:
  OptionSpecs describe_options() const override {
    return {{"std-scale", 0, "1: divide each advantage by the std of its group's rewards", 0.0, 1.0, false, true}};
  }

  // The values are the declared defaults overridden by --algo-option, already checked.
  void configure(const OptionValues& options) override { std_scale_ = options.at("std-scale") != 0; }

  // On-policy REINFORCE: the current log-probs are all it needs (no old or reference
  // log-probs, no value head), and one update per batch of rollouts.
  RlNeeds needs() const override { return RlNeeds{}; }

  void prepare(RlBatch& batch) override {
    const at::Tensor& rewards = batch.rewards;
    const at::Tensor& group = batch.group;
    // Per-group totals, gathered back to each sample: its group's size and reward sum.
    const at::Tensor per_group = at::zeros({batch.num_groups}, rewards.options());
    const at::Tensor size = per_group.index_add(0, group, at::ones_like(rewards)).index_select(0, group);
    const at::Tensor sum = per_group.index_add(0, group, rewards).index_select(0, group);
    const at::Tensor mean_of_others = (sum - rewards) / (size - 1).clamp_min(1);
    at::Tensor advantages = at::where(size > 1, rewards - mean_of_others, at::zeros_like(rewards));
    if (std_scale_) {
      const at::Tensor deviation = rewards - sum / size;
      const at::Tensor variance = per_group.index_add(0, group, deviation * deviation).index_select(0, group) / size;
      advantages = advantages / (variance.sqrt() + kStdEpsilon);
    }
    batch.advantages = advantages;  // (N,): one advantage for every token of a sample
  }

  RlLoss loss(const RlBatch& batch, const RlSlice& slice, const at::Tensor& logp, const at::Tensor& values,
              const RlNorm& norm) override {
    (void)values;  // no value head
    const at::Tensor mask = batch.mask.narrow(0, slice.begin, slice.rows());
    const at::Tensor advantages = batch.advantages.narrow(0, slice.begin, slice.rows()).unsqueeze(1);
    // Divided by the minibatch's sampled tokens over all ranks, not this slice's, so the
    // stage's sum over slices and ranks is the minibatch's mean; 1 if nothing was sampled.
    const double tokens = std::max(norm.tokens, 1.0);
    RlLoss result;
    result.loss = -(logp * advantages * mask).sum() / tokens;
    result.metrics.emplace_back("logp", (logp.detach() * mask).sum() / tokens);  // mean log-prob of a sampled token
    return result;
  }

 private:
  bool std_scale_ = false;
};

}  // namespace
}  // namespace rloo

NANOCHAT_TENSOR_PLUGIN(NANOCHAT_KIND_RL, nanochat::RlAlgorithm, rloo::Rloo, "rloo", "0.1.0",
                       "REINFORCE with a leave-one-out baseline (the RL-algorithm template)")
