// The optimizer interface (plugin kind `optimizer`, e.g. "adamw" and "muon"): parameter
// groups with their own learning rate, hyperparameters by name, and — since there is no
// DDP wrapper (SPEC §4) — the cross-rank gradient averaging inside step(). With more than
// one rank the state is sharded, so each rank saves and loads its own part of it.
// Also SPEC §4's schedule and lr-scale formulas, and small helpers for implementations.
#pragma once

#include <ATen/core/Tensor.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "nanochat/distributed.hpp"
#include "nanochat/error.hpp"

namespace nanochat {

struct ParamGroup {
  std::string name;                // names the group's entries in state_dict(), e.g. "wte"
  std::vector<at::Tensor> params;  // the model's tensors, updated in place
  double lr = 0.0;                 // initial learning rate; set_lr_multiplier() scales it
  double weight_decay = 0.0;       // decoupled: p *= 1 - lr·wd before each update
};

// Hyperparameters by name. Each optimizer lists the ones it knows in defaults().
using OptimizerOptions = std::map<std::string, double>;
// Named tensors of one rank's optimizer state (what a checkpoint saves per rank).
using OptimizerState = std::map<std::string, at::Tensor>;

class Optimizer {
 public:
  static constexpr const char* kInterfaceId = "nanochat.optimizer/1";

  virtual ~Optimizer() = default;

  // Every hyperparameter this optimizer accepts, with its default value.
  virtual OptimizerOptions defaults() const = 0;

  // Takes the parameters to update (once, before the first step). `options` overrides
  // defaults(); an unknown name or a value out of range throws UsageError. `dist` may be
  // null for one process. Every rank passes the same groups, in the same order.
  virtual void setup(std::vector<ParamGroup> groups, const OptimizerOptions& options,
                     std::shared_ptr<Distributed> dist) = 0;

  // Averages the gradients across ranks, then updates the parameters; every rank ends with
  // the same parameters. Collective: all ranks call it together. Every parameter needs a
  // gradient (Error otherwise: a rank that skipped one would leave the others waiting).
  virtual void step() = 0;

  // Drops the gradients (set to none, as PyTorch does, so backward allocates fresh ones).
  virtual void zero_grad() = 0;

  // From the next step on, each group's lr is its initial lr · multiplier.
  virtual void set_lr_multiplier(double multiplier) = 0;

  // Changes one hyperparameter between steps (e.g. Muon's "momentum" warm-up); the same
  // names and checks as setup().
  virtual void set_option(const std::string& name, double value) = 0;

  // This rank's state as named contiguous tensors. They are the live state, not copies:
  // save them before the next step().
  virtual OptimizerState state_dict() const = 0;

  // Restores what state_dict() returned on the same rank of a run with the same groups and
  // world size. A missing name or a wrong shape throws Error naming it.
  virtual void load_state_dict(const OptimizerState& state) = 0;
};

// Muon's momentum warm-up: 0.85 at step 0, linearly to 0.95 at step 300, then constant.
inline double muon_momentum(int64_t step) {
  double frac = std::min(static_cast<double>(step) / 300.0, 1.0);
  return (1.0 - frac) * 0.85 + frac * 0.95;
}

// The AdamW groups' lr scale for model width d: (d/768)^-½, so lrs tuned at d=768 carry over.
inline double adamw_lr_scale(int64_t model_dim) {
  return std::pow(static_cast<double>(model_dim) / 768.0, -0.5);
}

// --- Helpers for implementations -------------------------------------------------------

// `defaults` overridden by `given`; throws UsageError for a name not in `defaults`.
inline OptimizerOptions merge_optimizer_options(const std::string& optimizer, const OptimizerOptions& defaults,
                                                const OptimizerOptions& given) {
  OptimizerOptions merged = defaults;
  for (const auto& [name, value] : given) {
    if (defaults.count(name) == 0) {
      std::string known;
      for (const auto& entry : defaults) known += (known.empty() ? "" : ", ") + entry.first;
      throw UsageError("optimizer '" + optimizer + "' has no option '" + name + "' (it knows: " + known + ")");
    }
    merged[name] = value;
  }
  return merged;
}

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
// non-negative, and every parameter a floating-point tensor.
inline void check_param_groups(const std::string& optimizer, const std::vector<ParamGroup>& groups) {
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
