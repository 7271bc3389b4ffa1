// The C++ half of the optimizer parity check (optimizer_parity.py is the other): builds a
// depth-2 GPT and its optimizers as `nanochat run pretrain` does (Muon for the matrices with
// Newton–Schulz in fp32, AdamW for wte and lm_head, weight decay 0.01), runs warm-up steps so
// that every state is non-trivial and Muon's momentum ramp is near its end, then writes into
// OUT_DIR:
//   start.safetensors  the parameters and the optimizer state before the compared steps
//   steps.safetensors  the gradient of every parameter at each compared step
//   end.safetensors    the parameters and optimizer state after them
//   run.json           model size, steps, lr multipliers, learning rates and group order
// usage: optimizer_parity_tool OUT_DIR
#include <ATen/ATen.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "nanochat/gpt.hpp"
#include "nanochat/plugin_registry.hpp"
#include "nanochat/tensor_io.hpp"
#include "nanochat/training.hpp"

namespace fs = std::filesystem;
using namespace nanochat;

namespace {

constexpr int64_t kDepth = 2;
constexpr int64_t kVocab = 256;
constexpr int64_t kSequenceLen = 32;
// 298 warm-up steps: the compared steps are Muon's 298th, 299th and 300th, where the ramp
// still rises (0.9493, 0.9497) and then reaches 0.95.
constexpr int kWarmupSteps = 298;
const std::vector<double> kLrMultipliers = {1.0, 0.75, 0.5};

void set_random_grads(GPT& model) {
  for (const auto& [name, param] : model.state_dict()) param.mutable_grad() = at::randn(param.sizes());
}

NamedTensors params_and_state(const GPT& model, const OptimizerSet& optimizers) {
  NamedTensors out;
  for (const auto& [name, param] : model.state_dict()) out.emplace_back("param/" + name, param.detach().clone());
  for (const auto& [name, tensor] : optimizers.state_dict()) out.emplace_back("state/" + name, tensor.clone());
  return out;
}

std::vector<std::string> names_of(const NamedTensors& named) {
  std::vector<std::string> names;
  for (const auto& [name, tensor] : named) names.push_back(name);
  return names;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: optimizer_parity_tool OUT_DIR\n";
    return 2;
  }
  try {
    const fs::path out = argv[1];
    fs::create_directories(out);
    PluginRegistry::instance().set_search_dirs({NANOCHAT_BUILD_PLUGIN_DIR});
    at::manual_seed(11);
    GPT model(GPTConfig::from_depth(kDepth, kVocab, kSequenceLen));
    model.init_weights(5);

    OptimizerChoice choice;
    choice.weight_decay = 0.01;
    choice.plugin_options = {{"muon", {{"ns-bf16", 0.0}}}};  // nanochat's reference forced to fp32 likewise
    OptimizerSet optimizers = make_optimizers(model, choice, nullptr);
    for (int step = 0; step < kWarmupSteps; ++step) {
      set_random_grads(model);
      optimizers.step();
      optimizers.zero_grad();
    }

    save_tensors(out / "start.safetensors", params_and_state(model, optimizers));
    NamedTensors grads;
    for (size_t k = 0; k < kLrMultipliers.size(); ++k) {
      set_random_grads(model);
      for (const auto& [name, param] : model.state_dict()) {
        grads.emplace_back("grad/" + std::to_string(k) + "/" + name, param.grad().clone());
      }
      optimizers.set_lr_multiplier(kLrMultipliers[k]);
      optimizers.step();
      optimizers.zero_grad();
    }
    save_tensors(out / "steps.safetensors", grads);
    save_tensors(out / "end.safetensors", params_and_state(model, optimizers));

    const ParamGroups groups = model.param_groups();
    const nlohmann::json run = {
        {"depth", kDepth},
        {"vocab_size", kVocab},
        {"sequence_len", kSequenceLen},
        {"warmup_steps", kWarmupSteps},
        {"lr_multipliers", kLrMultipliers},
        {"matrix_lr", choice.matrix_lr},
        {"embedding_lr", choice.embedding_lr},
        {"unembedding_lr", choice.unembedding_lr},
        {"weight_decay", choice.weight_decay},
        // Each group's parameters in the order its state names count them.
        {"groups", {{"matrix", names_of(groups.matrix)}, {"embedding", names_of(groups.embedding)},
                    {"unembedding", names_of(groups.unembedding)}}},
    };
    std::ofstream(out / "run.json") << run.dump(2) << "\n";
    std::cout << "wrote " << out.string() << ": " << kWarmupSteps << " warm-up steps, then " << kLrMultipliers.size()
              << " compared steps\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "optimizer_parity_tool: " << e.what() << "\n";
    return 1;
  }
}
