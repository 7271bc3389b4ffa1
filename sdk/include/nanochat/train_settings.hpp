// The options every training stage (pretrain, midtrain, sft, rl) takes, declared once and
// bound to one struct: `add_train_options` names each flag a single time, with the stage's
// own defaults (whatever the struct holds when it is called).
#pragma once

#include <boost/program_options/options_description.hpp>
#include <boost/program_options/variables_map.hpp>

#include <cstdint>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "nanochat/training.hpp"

namespace nanochat {

struct TrainSettings {
  int64_t num_iterations = -1;     // -1: the stage's natural horizon (e.g. one epoch)
  int64_t device_batch_size = 32;  // rows per forward pass
  int64_t eval_every = 250;        // -1: only at the end
  int64_t save_every = -1;         // -1: only at the end
  std::string resume_from_step = "-1";  // a step, "auto" or -1
  int64_t keep_last = -1;          // keep this many newest checkpoints (-1: all)
  std::string model_tag;           // checkpoint folder name ("" = the stage's default)
  std::string device = "auto";
  std::string dtype = "auto";
  uint64_t seed = 42;
  std::string tokenizer = "bpe";
  double init_lr_frac = 1.0;       // every group's lr is scaled by this from the start
  std::filesystem::path log_file;  // one JSON line per step ("" = none)
  OptimizerChoice optimizers;
};

// Declares --num-iterations, --device-batch-size, --eval-every, --save-every,
// --resume-from-step, --keep-last, --model-tag, --device, --dtype, --seed, --tokenizer,
// --init-lr-frac, --log-file and the optimizer flags, bound to `settings`.
void add_train_options(boost::program_options::options_description& options, TrainSettings& settings);

// Every option of a parsed command line as JSON (what a checkpoint's "user_config" records).
nlohmann::json options_as_json(const boost::program_options::variables_map& values);

}  // namespace nanochat
