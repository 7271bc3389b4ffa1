// The arithmetic RL algorithms share: advantages, KL, surrogate, value loss, aggregation
// (declared and explained in nanochat/rl_math.hpp).
#include "nanochat/rl_math.hpp"

#include <ATen/ATen.h>

#include "nanochat/error.hpp"
#include "nanochat/optimizer.hpp"  // shape_text

namespace nanochat {
namespace {

void check_same_shape(const char* what, const at::Tensor& a, const char* a_name, const at::Tensor& b,
                      const char* b_name) {
  if (a.sizes() != b.sizes()) {
    throw Error(std::string(what) + ": " + a_name + " has shape " + shape_text(a.sizes()) + " but " + b_name +
                " has " + shape_text(b.sizes()));
  }
}

at::Tensor sampled(const at::Tensor& mask) { return (mask > 0).to(at::kFloat); }

double positive_count(const char* mode, const char* field, double value) {
  if (!(value > 0)) {
    throw Error(std::string("loss aggregation '") + mode + "' needs RlNorm." + field + " > 0, got " +
                std::to_string(value));
  }
  return value;
}

double option_at(const std::string& owner, const OptionValues& options, const std::string& name) {
  auto it = options.find(name);
  if (it == options.end()) {
    throw Error(owner + ": option '" + name + "' has no value (pass the options through resolve_options first)");
  }
  return it->second;
}

}  // namespace

// ---- advantages ----------------------------------------------------------------------

at::Tensor group_baseline_advantages(const at::Tensor& rewards, const at::Tensor& group, int64_t num_groups,
                                     bool divide_by_std, double std_eps) {
  if (rewards.dim() != 1 || group.dim() != 1 || rewards.size(0) != group.size(0)) {
    throw Error("group_baseline_advantages: rewards " + shape_text(rewards.sizes()) + " and group " +
                shape_text(group.sizes()) + " must both be (N,)");
  }
  if (group.scalar_type() != at::kLong) throw Error("group_baseline_advantages: group ids must be int64");
  if (rewards.numel() == 0) return rewards.to(at::kFloat);
  const int64_t lowest = group.min().item<int64_t>(), highest = group.max().item<int64_t>();
  if (lowest < 0 || highest >= num_groups) {
    throw Error("group_baseline_advantages: group ids run from " + std::to_string(lowest) + " to " +
                std::to_string(highest) + ", outside [0, " + std::to_string(num_groups) + ")");
  }
  at::Tensor r = rewards.to(at::kFloat);
  at::Tensor counts = at::zeros({num_groups}, r.options()).index_add_(0, group, at::ones_like(r));
  at::Tensor sums = at::zeros({num_groups}, r.options()).index_add_(0, group, r);
  at::Tensor mean = sums / counts.clamp_min(1);
  at::Tensor advantages = r - mean.index_select(0, group);
  if (divide_by_std) {
    at::Tensor squares = at::zeros({num_groups}, r.options()).index_add_(0, group, advantages * advantages);
    at::Tensor std = (squares / (counts - 1).clamp_min(1)).sqrt();
    advantages = advantages / (std.index_select(0, group) + std_eps);
  }
  return advantages;
}

at::Tensor token_advantages(const at::Tensor& advantages, const at::Tensor& mask) {
  if (mask.dim() != 2) throw Error("token_advantages: mask must be (N, T), got " + shape_text(mask.sizes()));
  if (advantages.dim() == 1 && advantages.size(0) == mask.size(0)) return advantages.unsqueeze(1) * mask;
  check_same_shape("token_advantages", advantages, "advantages", mask, "mask");
  return advantages * mask;
}

at::Tensor whiten_over_mask(const at::Tensor& x, const at::Tensor& mask, double eps) {
  check_same_shape("whiten_over_mask", x, "x", mask, "mask");
  at::Tensor m = sampled(mask);
  at::Tensor count = m.sum().clamp_min(1);
  at::Tensor mean = (x * m).sum() / count;
  at::Tensor centred = (x - mean) * m;
  at::Tensor std = ((centred * centred).sum() / count).sqrt();
  return centred / (std + eps);
}

GaeResult generalized_advantages(const at::Tensor& rewards, const at::Tensor& values, const at::Tensor& mask,
                                 double gamma, double lambda) {
  check_same_shape("generalized_advantages", values, "values", mask, "mask");
  if (values.dim() != 2 || rewards.dim() != 1 || rewards.size(0) != values.size(0)) {
    throw Error("generalized_advantages: rewards " + shape_text(rewards.sizes()) + " must be (N,) for values " +
                shape_text(values.sizes()));
  }
  const int64_t length = values.size(1);
  at::Tensor m = sampled(mask);
  // Each row's sampled positions moved to its front, in order (a stable sort on "not
  // sampled"): step j of the compacted row is the row's j-th sampled token.
  at::Tensor order = std::get<1>(at::sort(1 - m, /*stable=*/true, /*dim=*/1, /*descending=*/false));
  at::Tensor m_c = m.gather(1, order);
  at::Tensor v_c = values.to(at::kFloat).gather(1, order) * m_c;
  at::Tensor zero_column = at::zeros({values.size(0), 1}, v_c.options());
  at::Tensor next_m = at::cat({m_c.narrow(1, 1, length - 1), zero_column}, 1);
  at::Tensor next_v = at::cat({v_c.narrow(1, 1, length - 1), zero_column}, 1);
  at::Tensor is_last = m_c - next_m;  // 1 at the last sampled step
  at::Tensor delta = (rewards.to(at::kFloat).unsqueeze(1) * is_last + gamma * next_v - v_c) * m_c;
  // A_j = Σ_(l ≥ j) (γλ)^(l−j)·δ_l as one product with the (T, T) matrix of discounts: no loop
  // over positions, and no (γλ)^(−j) factors that would overflow on long rows.
  at::Tensor steps = at::arange(length, v_c.options().dtype(at::kDouble));
  at::Tensor distance = steps.unsqueeze(1) - steps.unsqueeze(0);  // [l, j] = l − j
  at::Tensor discount =
      at::where(distance >= 0, at::pow(gamma * lambda, distance.clamp_min(0)), at::zeros_like(distance));
  at::Tensor advantages_c = delta.matmul(discount.to(at::kFloat)) * m_c;
  at::Tensor advantages = at::zeros_like(advantages_c).scatter_(1, order, advantages_c);
  return {advantages, (advantages + values.to(at::kFloat)) * m};
}

// ---- per-token losses --------------------------------------------------------------------

at::Tensor kl_per_token(const at::Tensor& logp, const at::Tensor& ref_logp, KlEstimator estimator) {
  check_same_shape("kl_per_token", logp, "logp", ref_logp, "ref_logp");
  if (estimator == KlEstimator::k1) return logp - ref_logp;
  at::Tensor log_ratio = ref_logp - logp;
  return at::exp(log_ratio) - log_ratio - 1;
}

SurrogateResult clipped_surrogate(const at::Tensor& logp, const at::Tensor& old_logp, const at::Tensor& advantages,
                                  double clip_low, double clip_high) {
  check_same_shape("clipped_surrogate", logp, "logp", old_logp, "old_logp");
  at::Tensor a = advantages.dim() == 1 ? advantages.unsqueeze(1) : advantages;
  at::Tensor ratio = at::exp(logp - old_logp);
  at::Tensor unclipped = ratio * a;
  at::Tensor clipped = at::clamp(ratio, 1 - clip_low, 1 + clip_high) * a;
  at::Tensor loss = -at::minimum(unclipped, clipped);
  at::Tensor r = ratio.detach();
  at::Tensor was_clipped = ((r > 1 + clip_high) & (a > 0)) | ((r < 1 - clip_low) & (a < 0));
  return {loss, was_clipped.to(at::kFloat)};
}

at::Tensor clipped_value_loss(const at::Tensor& values, const at::Tensor& old_values, const at::Tensor& returns,
                              double clip) {
  check_same_shape("clipped_value_loss", values, "values", returns, "returns");
  check_same_shape("clipped_value_loss", values, "values", old_values, "old_values");
  at::Tensor plain = (values - returns).pow(2);
  if (clip <= 0) return 0.5 * plain;
  at::Tensor clipped_values = old_values + at::clamp(values - old_values, -clip, clip);
  return 0.5 * at::maximum(plain, (clipped_values - returns).pow(2));
}

// ---- aggregation -------------------------------------------------------------------------

at::Tensor aggregate_loss(const at::Tensor& per_token, const at::Tensor& mask, LossAggregation mode,
                          const RlNorm& norm) {
  check_same_shape("aggregate_loss", per_token, "per-token loss", mask, "mask");
  at::Tensor masked = per_token * mask;
  switch (mode) {
    case LossAggregation::token:
      return masked.sum() / (norm.tokens > 0 ? norm.tokens : 1.0);
    case LossAggregation::sequence: {
      const double sequences = positive_count("sequence", "sequences", norm.sequences);
      at::Tensor per_row = masked.sum(1) / mask.sum(1).clamp_min(1);
      return per_row.sum() / sequences;
    }
    case LossAggregation::dr_grpo: {
      const double sequences = positive_count("dr-grpo", "sequences", norm.sequences);
      const double budget = positive_count("dr-grpo", "max_new_tokens", static_cast<double>(norm.max_new_tokens));
      return masked.sum() / (sequences * budget);
    }
  }
  throw Error("aggregate_loss: unknown mode " + std::to_string(static_cast<int>(mode)));
}

at::Tensor token_mean_share(const at::Tensor& per_token, const at::Tensor& mask, const RlNorm& norm) {
  return aggregate_loss(per_token, mask, LossAggregation::token, norm);
}

// ---- the policy loss -----------------------------------------------------------------------

PolicyLossConfig policy_loss_config(const std::string& owner, const OptionValues& options) {
  PolicyLossConfig config;
  config.clip_low = option_at(owner, options, "clip-low");
  config.clip_high = option_at(owner, options, "clip-high");
  config.kl_beta = option_at(owner, options, "kl-beta");
  const double estimator = option_at(owner, options, "kl-estimator");
  if (estimator == 1) config.kl_estimator = KlEstimator::k1;
  else if (estimator == 3) config.kl_estimator = KlEstimator::k3;
  else {
    throw UsageError(owner + ": kl-estimator must be 1 (k1 = logp - ref) or 3 (k3 = exp(ref - logp) - (ref - logp) - 1), got " +
                     format_option_value(estimator));
  }
  const double aggregation = option_at(owner, options, "loss-agg");
  if (aggregation != 0 && aggregation != 1 && aggregation != 2) {
    throw UsageError(owner + ": loss-agg must be 0 (token), 1 (sequence) or 2 (dr-grpo), got " +
                     format_option_value(aggregation));
  }
  config.aggregation = static_cast<LossAggregation>(static_cast<int>(aggregation));
  return config;
}

void refuse_options_without_effect(const std::string& owner, const OptionSpecs& specs, const OptionValues& options,
                                   const std::vector<std::string>& names, bool in_use, const std::string& condition) {
  if (in_use) return;
  for (const OptionSpec& spec : specs) {
    for (const std::string& name : names) {
      if (spec.name != name) continue;
      const double value = option_at(owner, options, name);
      if (value != spec.default_value) {
        throw UsageError(owner + ": " + name + " " + format_option_value(value) + " has no effect without " + condition);
      }
    }
  }
}

at::Tensor slice_rows(const at::Tensor& tensor, const RlSlice& slice) {
  if (slice.begin < 0 || slice.end > tensor.size(0) || slice.rows() <= 0) {
    throw Error("RL slice [" + std::to_string(slice.begin) + ", " + std::to_string(slice.end) +
                ") is not a range of rows of a batch of " + std::to_string(tensor.size(0)));
  }
  return tensor.narrow(0, slice.begin, slice.rows());
}

namespace {

const at::Tensor& required(const at::Tensor& tensor, const char* field, const char* why) {
  if (!tensor.defined()) {
    throw Error(std::string("RL batch has no ") + field + ", which " + why + " needs (the algorithm's needs() asks for it)");
  }
  return tensor;
}

}  // namespace

RlLoss policy_loss(const RlBatch& batch, const RlSlice& slice, const at::Tensor& logp, const RlNorm& norm,
                   const PolicyLossConfig& config) {
  at::Tensor mask = slice_rows(batch.mask, slice);
  check_same_shape("policy_loss", logp, "logp", mask, "the slice's mask");
  at::Tensor advantages =
      token_advantages(slice_rows(required(batch.advantages, "advantages", "the policy loss"), slice), mask);
  RlLoss result;
  at::Tensor policy_term;
  at::Tensor clipped;
  if (config.uses_ratio()) {
    at::Tensor old_logp = slice_rows(required(batch.old_logp, "old_logp", "the clipped ratio"), slice);
    SurrogateResult surrogate = clipped_surrogate(logp, old_logp, advantages, config.clip_low, config.clip_high);
    policy_term = surrogate.loss;
    clipped = surrogate.clipped;
  } else {
    policy_term = -logp * advantages;
  }
  at::Tensor pg_loss = aggregate_loss(policy_term, mask, config.aggregation, norm);
  result.loss = pg_loss;
  result.metrics.emplace_back("pg_loss", pg_loss.detach());
  result.metrics.emplace_back("adv_abs_mean", token_mean_share(advantages.abs(), mask, norm));
  if (config.uses_kl()) {
    at::Tensor ref_logp = slice_rows(required(batch.ref_logp, "ref_logp", "the KL term"), slice);
    at::Tensor kl = kl_per_token(logp, ref_logp, config.kl_estimator);
    result.loss = result.loss + config.kl_beta * aggregate_loss(kl, mask, config.aggregation, norm);
    result.metrics.emplace_back("kl", token_mean_share(kl.detach(), mask, norm));
  }
  if (clipped.defined()) result.metrics.emplace_back("clip_frac", token_mean_share(clipped, mask, norm));
  return result;
}

}  // namespace nanochat
