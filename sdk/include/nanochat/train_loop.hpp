// The one training loop that pretrain, midtrain and SFT (and RL's optimizer side) share:
// gradient accumulation with token-level normalisation across micro-batches and ranks,
// the lr schedule, an out-of-memory retry at half the device batch, periodic evaluation,
// checkpoints with exact resume (`--resume-from-step N|auto`, `--keep-last N`), one log
// line and one JSON line per step (--log-file), the step and evaluation metrics the report
// plots (report.hpp's report_metrics_file), and the stage's report section.
//
// A stage supplies the model, its optimizers and a TrainData (what a micro-batch is);
// the loop owns everything else, so no stage repeats it.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nanochat/data_loader.hpp"
#include "nanochat/distributed.hpp"
#include "nanochat/gpt.hpp"
#include "nanochat/report.hpp"
#include "nanochat/schedule.hpp"
#include "nanochat/step_log.hpp"
#include "nanochat/train_settings.hpp"
#include "nanochat/training.hpp"

namespace nanochat {

// One process of a possibly data-parallel run: the rendezvous from the environment
// (RANK, WORLD_SIZE, ...), its device, and the process group.
struct TrainProcess {
  DistEnv env;
  c10::Device device = c10::Device(c10::kCPU);
  std::shared_ptr<Distributed> dist;
};

// Joins the run: resolves `device_name` (cuda means cuda:LOCAL_RANK), splits the CPU's
// cores between the ranks of one machine, and initialises the process group.
TrainProcess join_training_process(const std::string& device_name);

// Where a stage's micro-batches come from. Targets of -1 are not trained on.
class TrainData {
 public:
  virtual ~TrainData() = default;
  // This rank's next micro-batch of `rows` rows.
  virtual Batch next(int64_t rows) = 0;
  // What was consumed so far, for a checkpoint; restore() continues exactly after it.
  virtual nlohmann::json state() const = 0;
  virtual void restore(const nlohmann::json& state) = 0;
};

// What the stage tells the loop about its run.
struct TrainLoopSpec {
  std::string stage;                   // "pretrain", "midtrain", "sft": log prefix
  std::string report_section;          // e.g. "Midtraining"
  int64_t num_iterations = 0;          // optimizer steps
  int64_t rows_per_step = 0;           // rows of all ranks per optimizer step
  int64_t device_batch_size = 0;       // rows per forward pass (halved on out-of-memory)
  double flops_per_token = 0;          // for MFU
  LrSchedule schedule;
  std::filesystem::path checkpoint_dir;
  nlohmann::json meta;                 // stage facts saved in every checkpoint's meta
  ReportItems report;                  // stage facts for the report section
  // Evaluation at step 0, every eval_every steps and at the end: named metrics (the
  // first one is "the" metric, e.g. val_bpb). Empty function: no evaluation.
  std::function<std::vector<std::pair<std::string, double>>()> evaluate;
  // Called where evaluation is (rank 0 logs samples); may be empty.
  std::function<void(int64_t step)> sample;
  int64_t sample_every = -1;
};

class TrainLoop {
 public:
  // Checks the batch arithmetic (rows_per_step a multiple of device_batch_size·ranks).
  TrainLoop(const TrainSettings& settings, TrainLoopSpec spec, TrainProcess& process, GPT& model,
            OptimizerSet& optimizers, TrainData& data);

  // --resume-from-step: a step number, "auto" (the newest complete checkpoint in
  // spec.checkpoint_dir, or a fresh start when there is none) or "-1" (fresh).
  // Restores model, optimizer state, data position and loop state.
  void resume_if_asked();

  // Trains to spec.num_iterations, evaluating, saving and logging on the way.
  void run();

  int64_t start_step() const { return start_step_; }
  // The last value of each metric evaluate() returned.
  const std::map<std::string, double>& metrics() const { return metrics_; }

 private:
  int64_t grad_accum() const;
  double train_step(int64_t step);
  double accumulate(const std::vector<Batch>& batches, double global_valid);
  std::vector<Batch> take_micro_batches();
  void run_evaluation(int64_t step);
  void save(int64_t step);
  void prune_old_checkpoints(int64_t newest);
  void log_step(int64_t step, double loss, double dt);
  void write_report() const;

  const TrainSettings& settings_;
  TrainLoopSpec spec_;
  TrainProcess& process_;
  GPT& model_;
  OptimizerSet& optimizers_;
  TrainData& data_;
  int64_t batch_rows_;
  int64_t start_step_ = 0;
  LossSmoother smoother_;
  std::map<std::string, double> metrics_;
  std::map<std::string, double> best_;
  double training_seconds_ = 0;
  int64_t timed_steps_ = 0;
  double peak_flops_ = 0;
  std::string peak_source_;
  bool first_step_ = true;
  double last_lrm_ = 1.0;     // of the step just taken, for its log line
  double last_tokens_ = 0;   // tokens (all ranks) of the step just taken
};

}  // namespace nanochat
