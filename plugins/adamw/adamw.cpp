// The `adamw` optimizer plugin: Adam with decoupled weight decay and bias correction, betas
// (0.8, 0.95), eps 1e-10, as nanochat's AdamW for the embedding and unembedding groups.
// The update is LibTorch's fused AdamW kernel (CPU and CUDA). With several ranks it is
// ZeRO-2 style: each rank gets its dim-0 slice of the averaged gradient by reduce-scatter,
// keeps the moments of that slice only, updates it, and all-gathers the parameter.
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <map>
#include <tuple>

#include "nanochat/log.hpp"
#include "nanochat/optimizer.hpp"
#include "nanochat/tensor_plugin.hpp"

namespace nanochat::adamw {
namespace {

// One parameter's state. Sharded: the rows [rank·rows, (rank+1)·rows) of dim 0. Otherwise
// the whole tensor: with one rank, or when dim 0 does not split evenly across the ranks
// (then the gradient is all-reduced and every rank keeps the full state).
struct Slot {
  size_t index = 0;  // in its group's params
  bool sharded = false;
  int64_t shard_rows = 0;
  at::Tensor grad_shard;  // sharded: this rank's slice of the averaged gradient
  at::Tensor send;        // sharded: the updated slice, sent by all-gather
  at::Tensor exp_avg, exp_avg_sq, step;
};

// The parameters of one group with one dtype and device: one fused kernel call.
struct Batch {
  size_t group = 0;
  std::vector<size_t> slots;
};

class AdamW final : public Optimizer {
 public:
  OptionSpecs describe_options() const override {
    return {
        {"beta1", 0.8, "decay of the gradient's running mean", 0.0, 1.0, true},
        {"beta2", 0.95, "decay of the squared gradient's running mean", 0.0, 1.0, true},
        {"eps", 1e-10, "added to the root of the second moment", 0.0},
    };
  }

  bool supports_weight_decay() const override { return true; }

  void setup(std::vector<ParamGroup> groups, const OptimizerOptions& options,
             std::shared_ptr<Distributed> dist) override {
    check_param_groups("adamw", groups, supports_weight_decay());
    apply_options(resolve_options("adamw", describe_options(), options));
    groups_ = std::move(groups);
    dist_ = std::move(dist);
    rank_ = dist_ ? dist_->rank() : 0;
    world_ = dist_ ? dist_->world_size() : 1;
    slots_.assign(groups_.size(), {});
    batches_.clear();
    for (size_t g = 0; g < groups_.size(); ++g) {
      std::map<std::tuple<c10::ScalarType, std::string>, size_t> batch_of;
      for (size_t i = 0; i < groups_[g].params.size(); ++i) {
        const at::Tensor& p = groups_[g].params[i];
        slots_[g].push_back(make_slot(g, i, p));
        auto key = std::make_tuple(p.scalar_type(), p.device().str());
        auto [it, added] = batch_of.emplace(key, batches_.size());
        if (added) batches_.push_back(Batch{g, {}});
        batches_[it->second].slots.push_back(i);
      }
    }
  }

  void step() override {
    at::NoGradGuard no_grad;
    for (const Batch& batch : batches_) {
      const ParamGroup& group = groups_[batch.group];
      std::vector<at::Tensor> params, grads, exp_avgs, exp_avg_sqs, steps;
      for (size_t s : batch.slots) {
        Slot& slot = slots_[batch.group][s];
        const at::Tensor& p = group.params[slot.index];
        at::Tensor grad = require_grad_of(p, group, slot.index).contiguous();
        if (slot.sharded) {
          dist_->reduce_scatter_avg(slot.grad_shard, grad);
          params.push_back(p.narrow(0, rank_ * slot.shard_rows, slot.shard_rows));
          grads.push_back(slot.grad_shard);
        } else {
          if (world_ > 1) dist_->all_reduce_avg(grad);
          params.push_back(p);
          grads.push_back(grad);
        }
        exp_avgs.push_back(slot.exp_avg);
        exp_avg_sqs.push_back(slot.exp_avg_sq);
        steps.push_back(slot.step);
      }
      at::_foreach_add_(steps, 1.0);
      at::_fused_adamw_(params, grads, exp_avgs, exp_avg_sqs, /*max_exp_avg_sqs=*/{}, steps,
                        group.lr * lr_multiplier_, beta1_, beta2_, group.weight_decay, eps_,
                        /*amsgrad=*/false, /*maximize=*/false);
      for (size_t k = 0; k < batch.slots.size(); ++k) {
        Slot& slot = slots_[batch.group][batch.slots[k]];
        if (!slot.sharded) continue;
        // A separate send buffer: the gathered output must not alias the input.
        slot.send.copy_(params[k]);
        at::Tensor whole = group.params[slot.index];
        dist_->all_gather(whole, slot.send);
      }
    }
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
    for (size_t g = 0; g < groups_.size(); ++g) {
      for (const Slot& slot : slots_[g]) {
        const std::string prefix = key_prefix(g, slot);
        state[prefix + "exp_avg"] = slot.exp_avg;
        state[prefix + "exp_avg_sq"] = slot.exp_avg_sq;
        state[prefix + "step"] = slot.step;
      }
    }
    return state;
  }

  void load_state_dict(const OptimizerState& state) override {
    check_state_world_size("adamw", state, world_);
    at::NoGradGuard no_grad;
    for (size_t g = 0; g < groups_.size(); ++g) {
      for (Slot& slot : slots_[g]) {
        const std::string prefix = key_prefix(g, slot);
        load_optimizer_tensor(state, prefix + "exp_avg", slot.exp_avg);
        load_optimizer_tensor(state, prefix + "exp_avg_sq", slot.exp_avg_sq);
        load_optimizer_tensor(state, prefix + "step", slot.step);
      }
    }
  }

 private:
  Slot make_slot(size_t g, size_t i, const at::Tensor& p) {
    Slot slot;
    slot.index = i;
    slot.sharded = world_ > 1 && p.dim() >= 1 && p.size(0) % world_ == 0 && p.is_contiguous();
    at::Tensor shape_like = p;
    if (slot.sharded) {
      slot.shard_rows = p.size(0) / world_;
      shape_like = p.narrow(0, 0, slot.shard_rows);
      slot.grad_shard = at::empty_like(shape_like, at::MemoryFormat::Contiguous);
      slot.send = at::empty_like(shape_like, at::MemoryFormat::Contiguous);
    } else if (world_ > 1 && rank_ == 0) {
      // log::write, not the fmt-based helpers: LibTorch's bundled fmt headers shadow the
      // system fmt that libnanochat_core is built with.
      log::write(log::Level::info, "adamw: group '" + groups_[g].name + "' parameter " + std::to_string(i) + " (shape " +
                                       shape_text(p.sizes()) + ") does not split evenly over " + std::to_string(world_) +
                                       " ranks on dim 0; its gradient is all-reduced and its state kept whole on every rank");
    }
    slot.exp_avg = at::zeros_like(shape_like, at::MemoryFormat::Contiguous);
    slot.exp_avg_sq = at::zeros_like(shape_like, at::MemoryFormat::Contiguous);
    // The fused kernel reads the step count from a float tensor on the parameter's device.
    slot.step = at::zeros({}, p.options().dtype(at::kFloat));
    return slot;
  }

  std::string key_prefix(size_t g, const Slot& slot) const {
    return groups_[g].name + "." + std::to_string(slot.index) + ".";
  }

  // `options` are resolved: every name present and in range.
  void apply_options(const OptimizerOptions& options) {
    beta1_ = options.at("beta1");
    beta2_ = options.at("beta2");
    eps_ = options.at("eps");
  }

  std::vector<ParamGroup> groups_;
  std::vector<std::vector<Slot>> slots_;  // per group, per parameter
  std::vector<Batch> batches_;
  std::shared_ptr<Distributed> dist_;
  int rank_ = 0;
  int world_ = 1;
  double beta1_ = 0.8, beta2_ = 0.95, eps_ = 1e-10;
  double lr_multiplier_ = 1.0;
};

}  // namespace
}  // namespace nanochat::adamw

NANOCHAT_TENSOR_PLUGIN(NANOCHAT_KIND_OPTIMIZER, nanochat::Optimizer, nanochat::adamw::AdamW, "adamw", "1.0.0",
                       "AdamW (betas 0.8/0.95, eps 1e-10, decoupled weight decay); ZeRO-2 sharded with several ranks")
