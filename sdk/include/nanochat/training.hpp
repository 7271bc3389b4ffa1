// What every training stage (pretrain, midtrain, sft, rl) shares: building the optimizers
// for a GPT from plugins (nanochat's split and learning rates), bits-per-byte evaluation,
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
#include "nanochat/optimizer_options.hpp"
#include "nanochat/tokenizer.hpp"

namespace nanochat {

// One instance per plugin named in an OptimizerChoice, holding all the groups given to that
// plugin, stepped and scheduled together.
struct OptimizerSet {
  std::vector<std::pair<std::string, std::shared_ptr<Optimizer>>> optimizers;  // (plugin name, optimizer)

  void step();
  void zero_grad();
  void set_lr_multiplier(double multiplier);
  // Every optimizer's state, names prefixed with "<plugin>/" (unique: one instance per plugin).
  OptimizerState state_dict() const;
  void load_state_dict(const OptimizerState& state);
};

// An optimizer from the plugin registry (kind optimizer), not yet set up.
std::shared_ptr<Optimizer> make_optimizer(const std::string& plugin);

// The groups "unembedding" (lm_head, unembedding_lr) and "embedding" (wte, embedding_lr),
// both lrs scaled by (d/768)^-½, go to choice.embedding; "matrix" (every block matrix,
// matrix_lr) to choice.matrix. A plugin chosen for both gets all three groups in one
// instance. weight_decay goes to the groups whose plugin supports_weight_decay() (UsageError
// when it is > 0 and none does), and choice.plugin_options to their plugins, checked first
// against what the plugins declare (UsageError naming --optimizer-option).
OptimizerSet make_optimizers(GPT& model, const OptimizerChoice& choice, std::shared_ptr<Distributed> dist);

// <tokenizer dir>/token_bytes as an int64 tensor: each token's length in bytes, 0 for specials.
at::Tensor load_token_bytes_tensor(const std::filesystem::path& tokenizer_dir);

// Bits per byte over the batches (SPEC §9): nats summed over targets whose token has
// bytes (specials and -1 targets excluded) ÷ (ln 2 · bytes), summed across ranks.
double evaluate_bpb(GPT& model, EvalBatches& batches, const at::Tensor& token_bytes, Distributed& dist);

// Summed losses of an evaluation pass over this rank's batches, across all ranks.
struct TokenLossTotals {
  double nats_with_bytes = 0;  // over targets whose token has bytes
  double bytes = 0;
  double nats = 0;             // over every target that is not -1
  double targets = 0;
  double bpb() const;          // nats_with_bytes / (ln 2 · bytes)
  double mean_loss() const;    // nats / targets
};
TokenLossTotals evaluate_token_losses(GPT& model, const std::vector<Batch>& batches, const at::Tensor& token_bytes,
                                      Distributed& dist);

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
