// What core, bpb and sample share: the start of a run (this process's place among the
// ranks and the model to evaluate) and the result file,
// $NANOCHAT_BASE_DIR/eval/<source>-<kind>.json, that `nanochat run report` reads:
//   {"source", "kind", "model_tag", "step", "max_problems" (null: all), "seconds",
//    "time" (ISO 8601 UTC), ...what the kind adds: "tasks", "summary", "samples"}
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "eval_options.hpp"
#include "nanochat/chat_model.hpp"
#include "nanochat/train_loop.hpp"

namespace nanochat::eval {

// One evaluation under way: this process among the ranks, the model, and when it started.
struct EvalRun {
  TrainProcess process;
  ChatModel model;
  std::chrono::steady_clock::time_point started;

  bool is_main() const { return process.dist->is_main(); }
  // "base model d4 step 150", for logs and the report.
  std::string model_name() const;
};

// Joins the ranks (RANK, WORLD_SIZE, ... as `nanochat launch` sets them) and loads the
// checkpoint of options.source, the base model when none is given (as nanochat's base_eval
// and base_loss). Throws Error saying which stage to run when there is none.
EvalRun start_eval(const EvalOptions& options);

// $NANOCHAT_BASE_DIR/eval/<source>-<kind>.json
std::filesystem::path eval_result_path(const std::filesystem::path& base_dir, const std::string& source,
                                       const std::string& kind);

// Adds the common fields to `fields` and writes the file atomically (call on rank 0);
// returns its path.
std::filesystem::path write_eval_result(const EvalOptions& options, const EvalRun& run, nlohmann::json fields);

}  // namespace nanochat::eval
