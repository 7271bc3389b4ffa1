// The value head and the optimizer that carries its weights (see value_head.hpp).
#include "value_head.hpp"

#include <ATen/ATen.h>

#include "nanochat/training.hpp"

namespace nanochat::rl {
namespace {

class ValueHeadOptimizer : public Optimizer {
 public:
  ValueHeadOptimizer(ValueHead& head, double lr, std::shared_ptr<Distributed> dist)
      : head_(head), adamw_(make_optimizer("adamw")) {
    adamw_->setup({ParamGroup{"value_head", {head.weight, head.bias}, lr, 0.0}}, {}, std::move(dist));
  }

  OptionSpecs describe_options() const override { return {}; }
  bool supports_weight_decay() const override { return false; }
  void setup(std::vector<ParamGroup>, const OptimizerOptions&, std::shared_ptr<Distributed>) override {
    throw Error("the value head's optimizer is set up when it is made");
  }
  void step() override { adamw_->step(); }
  void zero_grad() override { adamw_->zero_grad(); }
  void set_lr_multiplier(double multiplier) override { adamw_->set_lr_multiplier(multiplier); }

  OptimizerState state_dict() const override {
    OptimizerState state = adamw_->state_dict();
    state["head.weight"] = head_.weight.detach();
    state["head.bias"] = head_.bias.detach();
    return state;
  }

  void load_state_dict(const OptimizerState& state) override {
    at::NoGradGuard no_grad;
    load_optimizer_tensor(state, "head.weight", head_.weight);
    load_optimizer_tensor(state, "head.bias", head_.bias);
    OptimizerState rest = state;
    rest.erase("head.weight");
    rest.erase("head.bias");
    adamw_->load_state_dict(rest);
  }

 private:
  ValueHead& head_;
  std::shared_ptr<Optimizer> adamw_;
};

}  // namespace

ValueHead::ValueHead(int64_t n_embd, c10::Device device)
    : weight(at::zeros({n_embd}, at::TensorOptions().dtype(at::kFloat).device(device)).requires_grad_()),
      bias(at::zeros({}, at::TensorOptions().dtype(at::kFloat).device(device)).requires_grad_()) {}

at::Tensor ValueHead::operator()(const at::Tensor& hidden) const {
  return at::matmul(hidden.to(at::kFloat), weight) + bias;
}

std::shared_ptr<Optimizer> value_head_optimizer(ValueHead& head, double lr, std::shared_ptr<Distributed> dist) {
  return std::make_shared<ValueHeadOptimizer>(head, lr, std::move(dist));
}

}  // namespace nanochat::rl
