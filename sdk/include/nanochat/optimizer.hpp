// The optimizer interface (plugin kind `optimizer`, e.g. "adamw" and "muon"): parameter
// groups with their own learning rate, declared options (name, default, help, range), and —
// since there is no DDP wrapper — the cross-rank gradient averaging inside step(). With more
// than one rank the state is sharded, so each rank saves and loads its own part of it.
// Also the AdamW groups' lr scale, and small helpers for implementations.
#pragma once

#include <ATen/core/Tensor.h>

#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "nanochat/distributed.hpp"
#include "nanochat/error.hpp"
#include "nanochat/optimizer_options.hpp"
#include "nanochat/plugin_options.hpp"

namespace nanochat {

struct ParamGroup {
  std::string name;                // names the group's entries in state_dict(), e.g. "wte"
  std::vector<at::Tensor> params;  // the model's tensors, updated in place
  double lr = 0.0;                 // initial learning rate; set_lr_multiplier() scales it
  double weight_decay = 0.0;       // decoupled: p *= 1 - lr·wd before each update
};

// Option values by name (kebab-case), checked against describe_options().
using OptimizerOptions = OptionValues;
// Named tensors of one rank's optimizer state (what a checkpoint saves per rank).
using OptimizerState = std::map<std::string, at::Tensor>;

// OptionDeclaring is the first and only base: the torch-free host asks an optimizer plugin
// for describe_options() through it (`nanochat plugins info`).
class Optimizer : public OptionDeclaring {
 public:
  static constexpr const char* kInterfaceId = kOptimizerInterfaceId;

  // describe_options(): every hyperparameter this optimizer accepts, with default and range.

  // Whether ParamGroup::weight_decay may be non-zero. make_optimizers gives --weight-decay
  // only to groups whose optimizer says yes; setup() refuses a decay it cannot apply.
  virtual bool supports_weight_decay() const = 0;

  // Takes the parameters to update (once, before the first step). `options` overrides the
  // declared defaults; an unknown name or a value out of range throws UsageError (see
  // resolve_options). `dist` may be null for one process. Every rank passes the same groups,
  // in the same order.
  virtual void setup(std::vector<ParamGroup> groups, const OptimizerOptions& options,
                     std::shared_ptr<Distributed> dist) = 0;

  // Averages the gradients across ranks, then updates the parameters; every rank ends with
  // the same parameters. Collective: all ranks call it together. Every parameter needs a
  // gradient (Error otherwise: a rank that skipped one would leave the others waiting).
  // Schedules of the optimizer's own (e.g. Muon's momentum warm-up) count these calls.
  virtual void step() = 0;

  // Drops the gradients (set to none, as PyTorch does, so backward allocates fresh ones).
  virtual void zero_grad() = 0;

  // From the next step on, each group's lr is its initial lr · multiplier.
  virtual void set_lr_multiplier(double multiplier) = 0;

  // This rank's state as named contiguous tensors, including whatever a resumed run needs to
  // continue exactly (e.g. the count of steps taken). They are the live state, not copies:
  // save them before the next step().
  virtual OptimizerState state_dict() const = 0;

  // Restores what state_dict() returned on the same rank of a run with the same groups and
  // world size. A missing name or a wrong shape throws Error naming it.
  virtual void load_state_dict(const OptimizerState& state) = 0;
};

// The AdamW groups' lr scale for model width d: (d/768)^-½, so lrs tuned at d=768 carry over.
inline double adamw_lr_scale(int64_t model_dim) {
  return std::pow(static_cast<double>(model_dim) / 768.0, -0.5);
}

// --- Helpers for implementations -------------------------------------------------------

inline std::string shape_text(at::IntArrayRef shape) {
  std::ostringstream out;
  out << '[';
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << ']';
  return out.str();
}

// Copies state[name] into `into` (a view of the live state), which has the expected shape.
inline void load_optimizer_tensor(const OptimizerState& state, const std::string& name, const at::Tensor& into) {
  auto it = state.find(name);
  if (it == state.end()) {
    throw Error("optimizer state has no '" + name +
                "': it was saved for other parameter groups or another world size (resume with the same model and number of ranks)");
  }
  if (it->second.sizes() != into.sizes()) {
    throw Error("optimizer state '" + name + "' has shape " + shape_text(it->second.sizes()) + ", expected " +
                shape_text(into.sizes()) + " (saved for another model or world size?)");
  }
  into.copy_(it->second);
}

// Sharded state fits only the world size it was saved with, so state_dict() records it
// as "world_size"; load_state_dict() checks it first.
inline void check_state_world_size(const std::string& optimizer, const OptimizerState& state, int world_size) {
  auto it = state.find("world_size");
  if (it == state.end() || it->second.numel() != 1) {
    throw Error(optimizer + " state has no 'world_size': it was not written by this optimizer's state_dict()");
  }
  const int64_t saved = it->second.item<int64_t>();
  if (saved != world_size) {
    throw Error(optimizer + " state was saved by a run of " + std::to_string(saved) + " ranks and this run has " +
                std::to_string(world_size) + "; each rank holds only its shard: resume with the same number of ranks");
  }
}

// Throws UsageError unless group names are unique and non-empty, lrs and weight decays
// non-negative (zero where the optimizer does not support weight decay), and every
// parameter a floating-point tensor.
inline void check_param_groups(const std::string& optimizer, const std::vector<ParamGroup>& groups,
                               bool supports_weight_decay = true) {
  for (size_t g = 0; g < groups.size(); ++g) {
    const ParamGroup& group = groups[g];
    const std::string where = "optimizer '" + optimizer + "', group '" + group.name + "'";
    if (group.name.empty()) throw UsageError("optimizer '" + optimizer + "': group " + std::to_string(g) + " has no name");
    for (size_t h = 0; h < g; ++h) {
      if (groups[h].name == group.name) throw UsageError(where + ": two groups have this name; state names need them unique");
    }
    if (!(group.lr >= 0.0)) throw UsageError(where + ": lr must be >= 0, got " + std::to_string(group.lr));
    if (!(group.weight_decay >= 0.0)) {
      throw UsageError(where + ": weight_decay must be >= 0, got " + std::to_string(group.weight_decay));
    }
    if (!supports_weight_decay && group.weight_decay != 0.0) {
      throw UsageError(where + ": weight_decay is " + std::to_string(group.weight_decay) + ", but " + optimizer +
                       " has no weight decay; give the group to an optimizer that supports it, or use 0");
    }
    for (size_t i = 0; i < group.params.size(); ++i) {
      if (!group.params[i].defined() || !group.params[i].is_floating_point()) {
        throw UsageError(where + ": parameter " + std::to_string(i) + " is not a floating-point tensor");
      }
    }
  }
}

// The gradient of a parameter, or Error when backward did not reach it.
inline const at::Tensor& require_grad_of(const at::Tensor& param, const ParamGroup& group, size_t index) {
  const at::Tensor& grad = param.grad();
  if (!grad.defined()) {
    throw Error("parameter " + std::to_string(index) + " of optimizer group '" + group.name + "' (shape " +
                shape_text(param.sizes()) + ") has no gradient: call backward() on a loss that uses every parameter before step()");
  }
  return grad;
}

}  // namespace nanochat
