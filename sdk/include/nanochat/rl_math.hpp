// The arithmetic RL algorithms share (plugins/rl/grpo, plugins/rl/ppo, and any other): group
// baselines, KL estimators, the clipped surrogate, GAE, the clipped value loss, and loss
// aggregation normalised with RlNorm so a minibatch's loss is the same however the stage
// splits it into slices and ranks. Every function works on whole tensors (no loop over rows)
// on whatever device its inputs are on. Shapes: N rows, T positions, as in RlBatch.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "nanochat/plugin_options.hpp"
#include "nanochat/rl.hpp"

namespace nanochat {

// How per-token losses become a slice's share of the minibatch loss (the option `loss-agg`).
enum class LossAggregation {
  token = 0,     // Σ(l·m) / norm.tokens: every sampled token weighs the same (nanochat, DAPO)
  sequence = 1,  // Σ_rows(Σ_t l·m / max(1, Σ_t m)) / norm.sequences: mean per row, then over rows (GRPO paper)
  dr_grpo = 2,   // Σ(l·m) / (norm.sequences · norm.max_new_tokens): a constant divisor (Dr. GRPO)
};

// Per-token estimators of KL(current ‖ reference) from the two log-probs of the sampled
// token (the option `kl-estimator`; John Schulman, "Approximating KL Divergence", 2020).
enum class KlEstimator {
  k1 = 1,  // logp − ref_logp: unbiased, can be negative
  k3 = 3,  // exp(ref − logp) − (ref − logp) − 1: unbiased, never negative, lower variance
};

// ---- advantages ----------------------------------------------------------------------

// rewards (N,) float, group (N,) int64 in [0, num_groups): per row r − mean(r over its group).
// With divide_by_std, each group's values are divided by the group's sample std (n − 1; a
// group of one has std 0) + std_eps. A group whose rewards are all equal gets 0.
at::Tensor group_baseline_advantages(const at::Tensor& rewards, const at::Tensor& group, int64_t num_groups,
                                     bool divide_by_std, double std_eps = 1e-4);

// (N,) advantages → (N, T): each row's advantage on its sampled tokens, 0 where mask is 0.
// (N, T) advantages are only masked.
at::Tensor token_advantages(const at::Tensor& advantages, const at::Tensor& mask);

// x (N, T) shifted and scaled to mean 0 and std 1 over the tokens where mask is 1 (population
// std + eps), 0 elsewhere (a single sampled token becomes 0).
at::Tensor whiten_over_mask(const at::Tensor& x, const at::Tensor& mask, double eps = 1e-8);

// Generalised advantage estimation (Schulman et al. 2015) along each row's sampled positions
// (mask 1), in order; positions with mask 0 between them (forced calculator output) are
// skipped, so the step after a sampled token is the next sampled one. The reward arrives at
// the row's last sampled token and the value after it is 0:
//   δ_j = r_j + γ·V(next sampled) − V_j,  A_j = δ_j + γλ·A_(next sampled),  R_j = A_j + V_j.
// rewards (N,), values and mask (N, T); advantages and returns are 0 where mask is 0.
struct GaeResult {
  at::Tensor advantages;  // (N, T)
  at::Tensor returns;     // (N, T): the value head's targets
};
GaeResult generalized_advantages(const at::Tensor& rewards, const at::Tensor& values, const at::Tensor& mask,
                                 double gamma, double lambda);

// ---- per-token losses --------------------------------------------------------------------

// logp, ref_logp (N, T) → the chosen estimator per token (0 where both are 0, i.e. unsampled).
at::Tensor kl_per_token(const at::Tensor& logp, const at::Tensor& ref_logp, KlEstimator estimator);

// The PPO clipped surrogate per token, ratio = exp(logp − old_logp):
//   loss = −min(ratio·A, clip(ratio, 1 − clip_low, 1 + clip_high)·A).
// advantages are (N, T) or (N,) (one per row). `clipped` is 1 where the clipped term is the
// smaller one, so the token passes no gradient: ratio > 1 + clip_high with A > 0, or
// ratio < 1 − clip_low with A < 0 (what the clip-fraction metric counts).
struct SurrogateResult {
  at::Tensor loss;     // (N, T), with grad through logp
  at::Tensor clipped;  // (N, T) float 0/1, without grad
};
SurrogateResult clipped_surrogate(const at::Tensor& logp, const at::Tensor& old_logp, const at::Tensor& advantages,
                                  double clip_low, double clip_high);

// The value loss per token: 0.5·max((v − R)², (old_v + clip(v − old_v, −clip, clip) − R)²),
// or 0.5·(v − R)² when clip is 0.
at::Tensor clipped_value_loss(const at::Tensor& values, const at::Tensor& old_values, const at::Tensor& returns,
                              double clip);

// ---- aggregation -------------------------------------------------------------------------

// A slice's share of the minibatch loss: per_token and mask (rows, T) → scalar, normalised
// with `norm` (counts over the whole minibatch on all ranks) as `mode` says, so the sum over
// slices and ranks is the minibatch's loss. A minibatch with no sampled token (norm.tokens
// 0) gives 0 in token mode; the other modes need norm.sequences (and dr_grpo
// norm.max_new_tokens) > 0, else Error.
at::Tensor aggregate_loss(const at::Tensor& per_token, const at::Tensor& mask, LossAggregation mode,
                          const RlNorm& norm);

// The same over tokens (LossAggregation::token): how metrics such as the clip fraction are
// normalised, whatever the loss's mode.
at::Tensor token_mean_share(const at::Tensor& per_token, const at::Tensor& mask, const RlNorm& norm);

// ---- the policy loss as grpo and ppo compute it ------------------------------------------

// The options `clip-low`, `clip-high`, `kl-beta`, `kl-estimator`, `loss-agg`.
struct PolicyLossConfig {
  double clip_low = 0.0;   // both 0: no ratio, plain policy gradient −logp·A
  double clip_high = 0.0;
  double kl_beta = 0.0;    // 0: no KL term (and no reference model)
  KlEstimator kl_estimator = KlEstimator::k3;
  LossAggregation aggregation = LossAggregation::token;

  bool uses_ratio() const { return clip_low > 0 || clip_high > 0; }
  bool uses_kl() const { return kl_beta > 0; }
};

// Reads those five options from resolved values (every name present, each in its declared
// range). Throws UsageError naming `owner` for a kl-estimator other than 1 or 3.
PolicyLossConfig policy_loss_config(const std::string& owner, const OptionValues& options);

// Throws UsageError when `in_use` is false and one of `names` is set to other than its
// declared default: "<owner>: <name> <value> has no effect without <condition>". For
// configure(), which sees only resolved values, so a value equal to the default passes.
void refuse_options_without_effect(const std::string& owner, const OptionSpecs& specs, const OptionValues& options,
                                   const std::vector<std::string>& names, bool in_use, const std::string& condition);

// Rows [slice.begin, slice.end) of a (N, ...) tensor of the batch.
at::Tensor slice_rows(const at::Tensor& tensor, const RlSlice& slice);

// The policy loss of a slice: per token the surrogate (with a ratio) or −logp·A (without),
// plus kl_beta·KL(logp ‖ ref_logp), aggregated as config.aggregation says. Reads
// batch.advantages, batch.mask, and batch.old_logp / batch.ref_logp where config uses them
// (Error when the stage did not fill one). Metrics, each a share like the loss: pg_loss (the
// policy term, aggregated like the loss), adv_abs_mean (|A| per sampled token), kl (with a
// KL term) and clip_frac (with a ratio), both per sampled token.
RlLoss policy_loss(const RlBatch& batch, const RlSlice& slice, const at::Tensor& logp, const RlNorm& norm,
                   const PolicyLossConfig& config);

}  // namespace nanochat
