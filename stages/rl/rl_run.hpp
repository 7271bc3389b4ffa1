// The RL loop (nanochat chat_rl.py's main loop, with the algorithm a plugin): per step,
// rollouts → the algorithm's inputs → epochs × minibatches of updates → one log line;
// pass@k every --eval-every steps; checkpoints with the optimizers and the algorithm's
// state, so `--resume-from-step auto` continues with the same rollouts and losses.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "nanochat/gpt.hpp"
#include "nanochat/rl.hpp"
#include "nanochat/train_loop.hpp"
#include "nanochat/training.hpp"
#include "pass_at_k.hpp"
#include "rollouts.hpp"
#include "value_head.hpp"

namespace nanochat::rl {

// What the stage wires together for a run.
struct RlRunParts {
  TrainProcess* process = nullptr;
  std::shared_ptr<GPT> model;      // trained
  std::shared_ptr<GPT> reference;  // frozen start model, or null when the algorithm does not ask
  std::shared_ptr<RlAlgorithm> algorithm;
  std::string algorithm_name;
  OptionValues algorithm_options;  // resolved
  OptimizerSet* optimizers = nullptr;
  ValueHead* value_head = nullptr;  // null when the algorithm does not ask
  RolloutSampler* sampler = nullptr;
  Engine* engine = nullptr;         // for the evaluation
  TaskRef eval_task;
  PassAtKSettings eval;
  std::filesystem::path checkpoint_dir;
  nlohmann::json meta;              // saved in every checkpoint
  ReportItems report;
};

class RlRun {
 public:
  RlRun(const TrainSettings& settings, int64_t num_steps, int64_t max_new_tokens, RlRunParts parts);
  void resume_if_asked();
  void run();

 private:
  void train_step(int64_t step);
  double update(const Rollouts& rollouts, std::map<std::string, double>& metrics);
  void evaluate(int64_t step);
  void save(int64_t steps_done);
  void write_report() const;

  const TrainSettings& settings_;
  int64_t num_steps_;
  int64_t max_new_tokens_;
  RlRunParts parts_;
  RlNeeds needs_;
  int64_t start_step_ = 0;
  double training_seconds_ = 0;
  std::vector<double> rewards_;  // mean reward of each step since the start of the run
  std::vector<double> last_pass_;
};

}  // namespace nanochat::rl
