// `lion`: the Lion optimizer (Chen et al. 2023, "Symbolic Discovery of Optimization
// Algorithms", arXiv:2302.06675) as a third-party plugin: only the installed SDK's headers,
// no code of the nanochat tree. Per parameter, with momentum m:
//   p ← p·(1 − lr·wd) − lr·sign(β1·m + (1 − β1)·g),   then   m ← β2·m + (1 − β2)·g.
// With several ranks every rank averages the gradients and keeps the whole state.
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include "nanochat/optimizer.hpp"
#include "nanochat/tensor_plugin.hpp"

namespace lion {
namespace {

using namespace nanochat;

class Lion final : public Optimizer {
 public:
  OptionSpecs describe_options() const override {
    return {
        {"beta1", 0.9, "weight of the momentum in the update's sign", 0.0, 1.0, true},
        {"beta2", 0.99, "decay of the momentum", 0.0, 1.0, true},
    };
  }

  bool supports_weight_decay() const override { return true; }

  void setup(std::vector<ParamGroup> groups, const OptimizerOptions& options, std::shared_ptr<Distributed> dist) override {
    check_param_groups("lion", groups, supports_weight_decay());
    const OptimizerOptions resolved = resolve_options("lion", describe_options(), options);
    beta1_ = resolved.at("beta1");
    beta2_ = resolved.at("beta2");
    groups_ = std::move(groups);
    dist_ = std::move(dist);
    momenta_.clear();
    for (const ParamGroup& group : groups_) {
      std::vector<at::Tensor> momenta;
      for (const at::Tensor& p : group.params) momenta.push_back(at::zeros_like(p, at::MemoryFormat::Contiguous));
      momenta_.push_back(std::move(momenta));
    }
  }

  void step() override {
    at::NoGradGuard no_grad;
    const bool averaged = dist_ && dist_->world_size() > 1;
    for (size_t g = 0; g < groups_.size(); ++g) {
      const ParamGroup& group = groups_[g];
      const double lr = group.lr * lr_multiplier_;
      for (size_t i = 0; i < group.params.size(); ++i) {
        const at::Tensor& p = group.params[i];
        at::Tensor grad = require_grad_of(p, group, i).contiguous();
        if (averaged) dist_->all_reduce_avg(grad);
        at::Tensor& m = momenta_[g][i];
        at::Tensor direction = at::lerp(grad, m, beta1_).sign_();  // β1·m + (1 − β1)·g
        if (group.weight_decay != 0.0) p.mul_(1.0 - lr * group.weight_decay);
        p.add_(direction, -lr);
        m.lerp_(grad, 1.0 - beta2_);
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
    for (size_t g = 0; g < groups_.size(); ++g) {
      for (size_t i = 0; i < momenta_[g].size(); ++i) state[key(g, i)] = momenta_[g][i];
    }
    return state;
  }

  void load_state_dict(const OptimizerState& state) override {
    at::NoGradGuard no_grad;
    for (size_t g = 0; g < groups_.size(); ++g) {
      for (size_t i = 0; i < momenta_[g].size(); ++i) load_optimizer_tensor(state, key(g, i), momenta_[g][i]);
    }
  }

 private:
  std::string key(size_t g, size_t i) const { return groups_[g].name + "." + std::to_string(i) + ".exp_avg"; }

  std::vector<ParamGroup> groups_;
  std::vector<std::vector<at::Tensor>> momenta_;  // per group, per parameter
  std::shared_ptr<Distributed> dist_;
  double beta1_ = 0.9, beta2_ = 0.99;
  double lr_multiplier_ = 1.0;
};

}  // namespace
}  // namespace lion

NANOCHAT_TENSOR_PLUGIN(NANOCHAT_KIND_OPTIMIZER, nanochat::Optimizer, lion::Lion, "lion", "0.1.0",
                       "Lion (sign of interpolated momentum, decoupled weight decay), a third-party test plugin")
