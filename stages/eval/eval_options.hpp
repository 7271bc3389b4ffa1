// The options every kind of `nanochat run eval` shares: what to evaluate (--kind), which
// checkpoint (--source, --model-tag, --step), where it runs (--device, --dtype,
// --device-batch-size) and what it is scored on (--tasks, --max-problems, --data-dir),
// bound to one struct, with the base dir the host gives the stage.
#pragma once

#include <boost/program_options/options_description.hpp>

#include <cstdint>
#include <filesystem>
#include <string>

namespace nanochat::eval {

struct EvalOptions {
  std::string kind = "core";
  std::string source;              // base, mid, sft or rl; "" = the kind's default (core, bpb, sample: base; chat: the latest stage with checkpoints)
  std::string model_tag;           // checkpoint folder ("" = the largest depth)
  int64_t step = -1;               // -1 = the last saved step
  std::string device = "auto";
  std::string dtype = "auto";
  std::string tokenizer = "bpe";
  int64_t device_batch_size = 8;   // rows per forward pass (nanochat's -b for chat)
  int64_t max_problems = -1;       // per task; -1 = all (core: the first after nanochat's shuffle; chat: nanochat's -x)
  std::string tasks;               // comma-separated; "" = the kind's default (core: every CORE task there is; chat: nanochat's six)
  std::string data_dir;            // "" = default_task_data_dir()
  std::filesystem::path base_dir;  // NANOCHAT_BASE_DIR
};

// Declares the flags above but --kind, bound to `options` (its values are the defaults).
void add_eval_options(boost::program_options::options_description& description, EvalOptions& options);

}  // namespace nanochat::eval
