// The `rl` stage's own options (nanochat chat_rl.py's, in kebab-case) beside the training
// options every stage shares (TrainSettings).
#pragma once

#include <boost/program_options/options_description.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "nanochat/plugin_options.hpp"
#include "nanochat/train_settings.hpp"

namespace nanochat::rl {

struct RlSettings {
  std::string algo = "grpo";
  OptionValues algo_options;     // --algo-option KEY=VALUE
  std::string source = "sft";
  int64_t source_step = -1;
  std::string task = "gsm8k";    // a task list; its parts are mixed in order, split train by default
  std::string eval_task = "gsm8k:test";
  std::string task_data_dir;     // "" = default_task_data_dir()
  int64_t examples_per_step = 16;  // prompts per step, all ranks
  int64_t num_samples = 16;        // samples per prompt
  int64_t max_new_tokens = 256;
  double temperature = 1.0;
  int64_t top_k = 50;
  int64_t eval_examples = 400;
  int64_t eval_samples = 8;        // pass@1..this
  double value_lr = 1e-3;          // the value head's AdamW lr (algorithms that ask for one)
};

// Declares the options above and add_train_options(train), with nanochat's RL defaults.
void add_rl_options(boost::program_options::options_description& options, RlSettings& rl, TrainSettings& train);

}  // namespace nanochat::rl
