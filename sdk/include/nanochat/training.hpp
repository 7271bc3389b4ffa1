// What every training stage (pretrain, midtrain, sft, rl) shares: building the optimizers
// for a GPT from plugins (SPEC §4's split and learning rates), bits-per-byte evaluation,
// greedy samples, and checkpoints that hold the model, each rank's optimizer state and
// the loop's metadata.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nanochat/checkpoint.hpp"
#include "nanochat/data_loader.hpp"
#include "nanochat/distributed.hpp"
#include "nanochat/gpt.hpp"
#include "nanochat/optimizer.hpp"
#include "nanochat/tokenizer.hpp"

namespace nanochat {

struct OptimizerChoice {
  std::string matrix = "muon";      // plugin for the blocks' matrices
  std::string embedding = "adamw";  // plugin for wte and lm_head
  double matrix_lr = 0.02;
  double embedding_lr = 0.2;
  double unembedding_lr = 0.004;
  double weight_decay = 0.0;
};

// The optimizers one after the other, stepped and scheduled together.
struct OptimizerSet {
  std::vector<std::pair<std::string, std::shared_ptr<Optimizer>>> optimizers;  // (plugin name, optimizer)

  void step();
  void zero_grad();
  void set_lr_multiplier(double multiplier);
  // Sets `name` on every optimizer that knows it (e.g. Muon's "momentum").
  void set_option_where_known(const std::string& name, double value);
  // Every optimizer's state, names prefixed with "<plugin>/".
  OptimizerState state_dict() const;
  void load_state_dict(const OptimizerState& state);
};

// AdamW-like plugin for wte (embedding_lr) and lm_head (unembedding_lr), both scaled by
// (d/768)^-½; Muon-like plugin for every block matrix (matrix_lr).
OptimizerSet make_optimizers(GPT& model, const OptimizerChoice& choice, std::shared_ptr<Distributed> dist);

// Bits per byte over the batches (SPEC §9): nats summed over targets whose token has
// bytes (specials and -1 targets excluded) ÷ (ln 2 · bytes), summed across ranks.
double evaluate_bpb(GPT& model, EvalBatches& batches, const at::Tensor& token_bytes, Distributed& dist);

// Greedy continuation of `prompt` by `max_tokens` tokens (BOS is prepended).
std::string sample_greedy(GPT& model, const Tokenizer& tokenizer, const std::string& prompt, int max_tokens);

// Saves a training checkpoint: rank 0 writes the weights, every rank its optimizer state,
// then (after all ranks are done) rank 0 writes meta last, with every file's size and XXH64
// added as "files" (checkpoint.hpp). Collective.
void save_training_checkpoint(const CheckpointFiles& files, const GPT& model, const OptimizerSet& optimizers,
                              const nlohmann::json& meta, Distributed& dist);

// Loads what save_training_checkpoint wrote into `model` and `optimizers` (may be null to skip
// optimizer state); returns meta. Each file is checked against meta's size and XXH64 first.
// Throws Error naming the file that is missing or damaged.
nlohmann::json load_training_checkpoint(const CheckpointFiles& files, GPT& model, OptimizerSet* optimizers,
                                        int rank);

}  // namespace nanochat
