// One pretraining run: its settings (from the stage's options) and the loop that trains,
// evaluates, samples, logs and checkpoints.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "nanochat/schedule.hpp"
#include "nanochat/training.hpp"

namespace nanochat::pretrain {

struct Settings {
  int64_t depth = 20;
  int64_t max_seq_len = 2048;
  int64_t device_batch_size = 32;
  int64_t total_batch_size = 524288;
  int64_t num_iterations = -1;
  double target_flops = -1;
  double target_param_data_ratio = 20;
  int64_t eval_every = 250;
  int64_t eval_tokens = 20 * 524288;
  int64_t sample_every = 2000;
  int64_t save_every = -1;
  int64_t resume_from_step = -1;
  std::string model_tag;  // "" = d<depth>
  std::string device = "auto";
  std::string dtype = "auto";
  uint64_t seed = 42;
  std::string tokenizer = "bpe";
  std::filesystem::path data_dir;  // "" = $NANOCHAT_BASE_DIR/base_data
  std::filesystem::path log_file;  // JSON lines, one per step ("" = none)
  OptimizerChoice optimizers;
  LrSchedule schedule;
  nlohmann::json user_config;  // every option as given, for the checkpoint meta
};

// Trains; throws Error/UsageError with a one-line message on bad settings or data.
void run(const Settings& settings, const std::filesystem::path& base_dir);

}  // namespace nanochat::pretrain
