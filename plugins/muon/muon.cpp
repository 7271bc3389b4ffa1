// The `muon` optimizer plugin for the transformer's matrices: SGD with Nesterov momentum
// whose update is orthogonalized by Newton–Schulz, then scaled by √max(1, rows/cols), as
// nanochat's muon.py (commit 10231df). The momentum warms up from momentum-start to momentum
// over the first momentum-warmup-steps of this optimizer's own steps (nanochat's base_train
// does 0.85 → 0.95 over 300 from its loop); the count is saved with the state, so a resumed
// run continues the ramp exactly. With several ranks it is DistMuon: the i-th matrix of a
// shape is owned by rank i mod world, which alone keeps its momentum; one reduce-scatter
// brings each owner its averaged gradients and one all-gather shares the updated matrices.
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

#include "newton_schulz.hpp"
#include "nanochat/optimizer.hpp"
#include "nanochat/tensor_plugin.hpp"

namespace nanochat::muon {
namespace {

// The matrices of one group that share shape, dtype and device, stacked so one batched
// Newton–Schulz and one pair of collectives serve them all. Member i is owned by rank
// i % world, where it is row i / world of the rank's stacks; in the rank-major stacks that
// the collectives split it is row (i % world)·chunks + i / world.
struct Bucket {
  size_t group = 0;
  std::vector<size_t> members;  // indices into the group's params
  int64_t rows = 0, cols = 0;
  double lr_scale = 1.0;  // √max(1, rows/cols): the same rms update for tall matrices
  int64_t chunks = 0;     // ⌈members / world⌉: rows of this rank's stacks
  int64_t owned = 0;      // members this rank owns (the first rows of its stacks)
  at::Tensor momentum;    // (owned, rows, cols)
  at::Tensor grads;       // (chunks, rows, cols): the averaged gradients of owned members
  // Several ranks only: the rank-major stacks (rows past the last member stay zero) and
  // this rank's updated matrices.
  at::Tensor scatter_in, updated, gathered;

  int64_t slot(size_t member, int world) const { return (member % world) * chunks + member / world; }
};

class Muon final : public Optimizer {
 public:
  OptionSpecs describe_options() const override {
    return {
        {"momentum", 0.95, "momentum once warmed up", 0.0, 1.0, true},
        {"momentum-start", 0.85, "momentum at this optimizer's first step", 0.0, 1.0, true},
        {"momentum-warmup-steps", 300, "steps over which momentum goes linearly from momentum-start to momentum (0: none)",
         0.0, 1e9, false, true},
        {"nesterov", 1, "1: Nesterov momentum, 0: plain momentum", 0.0, 1.0, false, true},
        {"ns-steps", 5, "quintic Newton-Schulz iterations", 1.0, 100.0, false, true},
        // bf16 is nanochat's choice; on CPUs without native bf16 matmul it runs several times slower than fp32.
        {"ns-bf16", -1, "Newton-Schulz in bf16: 1 always, 0 never (fp32), -1 where bf16 matmul is fast", -1.0, 1.0, false,
         true},
    };
  }

  bool supports_weight_decay() const override { return false; }

  void setup(std::vector<ParamGroup> groups, const OptimizerOptions& options,
             std::shared_ptr<Distributed> dist) override {
    check_param_groups("muon", groups, supports_weight_decay());
    apply_options(resolve_options("muon", describe_options(), options));
    steps_ = 0;
    groups_ = std::move(groups);
    dist_ = std::move(dist);
    rank_ = dist_ ? dist_->rank() : 0;
    world_ = dist_ ? dist_->world_size() : 1;
    buckets_.clear();
    for (size_t g = 0; g < groups_.size(); ++g) {
      const ParamGroup& group = groups_[g];
      std::map<std::tuple<int64_t, int64_t, c10::ScalarType, std::string>, size_t> bucket_of;
      for (size_t i = 0; i < group.params.size(); ++i) {
        const at::Tensor& p = group.params[i];
        if (p.dim() != 2) {
          throw UsageError("muon: group '" + group.name + "' parameter " + std::to_string(i) + " has shape " +
                           shape_text(p.sizes()) + "; Muon updates matrices only, give it to adamw");
        }
        auto key = std::make_tuple(p.size(0), p.size(1), p.scalar_type(), p.device().str());
        auto [it, added] = bucket_of.emplace(key, buckets_.size());
        if (added) {
          Bucket bucket;
          bucket.group = g;
          bucket.rows = p.size(0);
          bucket.cols = p.size(1);
          buckets_.push_back(std::move(bucket));
        }
        buckets_[it->second].members.push_back(i);
      }
    }
    for (Bucket& bucket : buckets_) allocate(bucket);
  }

  void step() override {
    at::NoGradGuard no_grad;
    const double momentum = momentum_at(steps_);
    for (Bucket& bucket : buckets_) {
      gather_grads(bucket);
      update_owned(bucket, momentum);
      if (world_ > 1) share_updated(bucket);
    }
    ++steps_;
  }

  void zero_grad() override {
    for (ParamGroup& group : groups_) {
      for (at::Tensor& p : group.params) p.mutable_grad().reset();
    }
  }

  void set_lr_multiplier(double multiplier) override { lr_multiplier_ = multiplier; }

  OptimizerState state_dict() const override {
    OptimizerState state;
    state["world_size"] = at::scalar_tensor(static_cast<int64_t>(world_), at::kLong);
    state["step"] = at::scalar_tensor(steps_, at::kLong);
    for (const Bucket& bucket : buckets_) {
      for (int64_t j = 0; j < bucket.owned; ++j) state[momentum_key(bucket, j)] = bucket.momentum[j];
    }
    return state;
  }

  void load_state_dict(const OptimizerState& state) override {
    check_state_world_size("muon", state, world_);
    auto step = state.find("step");
    if (step == state.end() || step->second.numel() != 1) {
      throw Error("muon state has no 'step' (the count of steps its momentum warm-up has taken)");
    }
    at::NoGradGuard no_grad;
    for (const Bucket& bucket : buckets_) {
      for (int64_t j = 0; j < bucket.owned; ++j) load_optimizer_tensor(state, momentum_key(bucket, j), bucket.momentum[j]);
    }
    steps_ = step->second.item<int64_t>();
  }

 private:
  void allocate(Bucket& bucket) {
    const int64_t n = static_cast<int64_t>(bucket.members.size());
    const at::Tensor& first = groups_[bucket.group].params[bucket.members.front()];
    const auto options = first.options();
    bucket.lr_scale = std::sqrt(std::max(1.0, static_cast<double>(bucket.rows) / static_cast<double>(bucket.cols)));
    bucket.chunks = (n + world_ - 1) / world_;
    bucket.owned = n > rank_ ? (n - 1 - rank_) / world_ + 1 : 0;
    bucket.momentum = at::zeros({bucket.owned, bucket.rows, bucket.cols}, options);
    bucket.grads = at::empty({bucket.chunks, bucket.rows, bucket.cols}, options);
    if (world_ > 1) {
      bucket.scatter_in = at::zeros({world_ * bucket.chunks, bucket.rows, bucket.cols}, options);
      bucket.updated = at::zeros({bucket.chunks, bucket.rows, bucket.cols}, options);
      bucket.gathered = at::empty({world_ * bucket.chunks, bucket.rows, bucket.cols}, options);
    }
  }

  // bucket.grads ← this rank's owned gradients, averaged over ranks.
  void gather_grads(Bucket& bucket) {
    const ParamGroup& group = groups_[bucket.group];
    if (world_ == 1) {
      std::vector<at::Tensor> grads;
      for (size_t i : bucket.members) grads.push_back(require_grad_of(group.params[i], group, i));
      at::stack_out(bucket.grads, grads);
      return;
    }
    for (size_t m = 0; m < bucket.members.size(); ++m) {
      const size_t i = bucket.members[m];
      bucket.scatter_in[bucket.slot(m, world_)].copy_(require_grad_of(group.params[i], group, i));
    }
    dist_->reduce_scatter_avg(bucket.grads, bucket.scatter_in);
  }

  // Momentum, Newton–Schulz and the parameter update for the matrices this rank owns. With
  // one rank they are updated in place; with several, in bucket.updated for the all-gather.
  void update_owned(Bucket& bucket, double momentum) {
    if (bucket.owned == 0) return;
    const ParamGroup& group = groups_[bucket.group];
    at::Tensor g = bucket.grads.narrow(0, 0, bucket.owned);
    bucket.momentum.lerp_(g, 1.0 - momentum);
    const at::Tensor& direction = nesterov_ ? g.lerp_(bucket.momentum, momentum) : bucket.momentum;
    const c10::ScalarType compute =
        ns_bf16_ < 0 ? newton_schulz_default_dtype(g.device()) : (ns_bf16_ == 1 ? at::kBFloat16 : at::kFloat);
    const at::Tensor x = newton_schulz5(direction, ns_steps_, compute);
    const double alpha = -group.lr * lr_multiplier_ * bucket.lr_scale;
    if (world_ == 1) {
      for (int64_t j = 0; j < bucket.owned; ++j) group.params[bucket.members[j]].add_(x[j], alpha);
      return;
    }
    for (int64_t j = 0; j < bucket.owned; ++j) {
      bucket.updated[j].copy_(group.params[bucket.members[j * world_ + rank_]]);
    }
    bucket.updated.narrow(0, 0, bucket.owned).add_(x, alpha);
  }

  // Every rank's updated matrices back into every rank's parameters.
  void share_updated(Bucket& bucket) {
    dist_->all_gather(bucket.gathered, bucket.updated);
    const ParamGroup& group = groups_[bucket.group];
    for (size_t m = 0; m < bucket.members.size(); ++m) {
      group.params[bucket.members[m]].copy_(bucket.gathered[bucket.slot(m, world_)]);
    }
  }

  // Named by the parameter's index in its group, so the name does not depend on bucketing.
  std::string momentum_key(const Bucket& bucket, int64_t j) const {
    const size_t index = bucket.members[j * world_ + rank_];
    return groups_[bucket.group].name + "." + std::to_string(index) + ".momentum_buffer";
  }

  // nanochat's get_muon_momentum: frac = min(step / warmup, 1), then (1 − frac)·start + frac·end.
  double momentum_at(int64_t step) const {
    if (momentum_warmup_steps_ == 0) return momentum_;
    const double frac = std::min(static_cast<double>(step) / static_cast<double>(momentum_warmup_steps_), 1.0);
    return (1.0 - frac) * momentum_start_ + frac * momentum_;
  }

  // `options` are resolved: every name present and in range.
  void apply_options(const OptimizerOptions& options) {
    momentum_ = options.at("momentum");
    momentum_start_ = options.at("momentum-start");
    momentum_warmup_steps_ = static_cast<int64_t>(options.at("momentum-warmup-steps"));
    nesterov_ = options.at("nesterov") == 1.0;
    ns_steps_ = static_cast<int>(options.at("ns-steps"));
    ns_bf16_ = static_cast<int>(options.at("ns-bf16"));
  }

  std::vector<ParamGroup> groups_;
  std::vector<Bucket> buckets_;
  std::shared_ptr<Distributed> dist_;
  int rank_ = 0;
  int world_ = 1;
  double momentum_ = 0.95;
  double momentum_start_ = 0.85;
  int64_t momentum_warmup_steps_ = 300;
  int64_t steps_ = 0;  // step() calls so far: where the momentum warm-up is
  bool nesterov_ = true;
  int ns_steps_ = 5;
  int ns_bf16_ = -1;
  double lr_multiplier_ = 1.0;
};

}  // namespace
}  // namespace nanochat::muon

NANOCHAT_TENSOR_PLUGIN(NANOCHAT_KIND_OPTIMIZER, nanochat::Optimizer, nanochat::muon::Muon, "muon", "1.0.0",
                       "Muon (Nesterov momentum, quintic Newton-Schulz); owner-sharded DistMuon with several ranks")
