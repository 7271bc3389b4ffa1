// One pretraining run: its settings (from the stage's options) and the run itself —
// nanochat's base_train on token shards, through the SDK's shared training loop.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "nanochat/schedule.hpp"
#include "nanochat/train_settings.hpp"

namespace nanochat::pretrain {

struct Settings {
  TrainSettings train;  // the options every training stage shares
  int64_t depth = 20;
  int64_t max_seq_len = 2048;
  int64_t total_batch_size = 524288;
  double target_flops = -1;
  double target_param_data_ratio = 20;
  int64_t eval_tokens = 20 * 524288;
  int64_t sample_every = 2000;
  std::string data_dir;  // "" = $NANOCHAT_BASE_DIR/base_data
  LrSchedule schedule;
  nlohmann::json user_config;  // every option as given, for the checkpoint meta
};

// Trains; throws Error/UsageError with a one-line message on bad settings or data.
void run(const Settings& settings, const std::filesystem::path& base_dir);

}  // namespace nanochat::pretrain
