// The shared training loop (see nanochat/train_loop.hpp).
#include "nanochat/train_loop.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/util/Exception.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <limits>
#include <optional>
#include <thread>

#include "nanochat/checkpoint.hpp"
#include "nanochat/device.hpp"
#include "nanochat/error.hpp"
#include "nanochat/log.hpp"
#include "nanochat/peak_flops.hpp"
#include "nanochat/step_log.hpp"

namespace fs = std::filesystem;

namespace nanochat {
namespace {

// The report's metrics file of a stage (step and evaluation lines), its folder made.
fs::path report_metrics(const TrainLoopSpec& spec) {
  return report_metrics_file(base_dir(), spec.report_section);
}

}  // namespace

TrainProcess join_training_process(const std::string& device_name) {
  TrainProcess p;
  p.env = DistEnv::from_environment();
  p.device = resolve_device(device_name);
  if (p.device.is_cuda() && !p.device.has_index()) p.device = c10::Device(c10::kCUDA, p.env.local_rank);
  const char* local_world = std::getenv("LOCAL_WORLD_SIZE");
  const int ranks_here = local_world ? std::max(1, std::atoi(local_world)) : 1;
  if (p.device.is_cpu() && ranks_here > 1) {
    // Ranks on one machine share its cores; oversubscribing them slows every rank down.
    at::set_num_threads(std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / ranks_here));
  }
  if (p.device.is_cpu()) reuse_host_memory();
  p.dist = Distributed::init(p.env, p.device);
  return p;
}

TrainLoop::TrainLoop(const TrainSettings& settings, TrainLoopSpec spec, TrainProcess& process, GPT& model,
                     OptimizerSet& optimizers, TrainData& data)
    : settings_(settings),
      spec_(std::move(spec)),
      process_(process),
      model_(model),
      optimizers_(optimizers),
      data_(data),
      batch_rows_(spec_.device_batch_size) {
  const int64_t per_pass = batch_rows_ * process_.dist->world_size();
  if (batch_rows_ < 1) throw UsageError("--device-batch-size must be at least 1");
  if (spec_.rows_per_step < per_pass || spec_.rows_per_step % per_pass != 0) {
    throw UsageError(spec_.stage + ": " + std::to_string(spec_.rows_per_step) +
                     " rows per step must be a multiple of device-batch-size·ranks = " + std::to_string(per_pass));
  }
  if (spec_.num_iterations < 1) throw UsageError(spec_.stage + ": nothing to train (0 steps)");
  const PeakFlops peak = peak_flops(process_.device, model_.compute_dtype());
  peak_flops_ = peak.flops;
  peak_source_ = peak.source;
}

int64_t TrainLoop::grad_accum() const { return spec_.rows_per_step / (batch_rows_ * process_.dist->world_size()); }

void TrainLoop::resume_if_asked() {
  const std::optional<int64_t> resume = resolve_resume_step(settings_.resume_from_step, spec_.checkpoint_dir);
  if (!resume) {
    if (settings_.resume_from_step == "auto" && process_.dist->is_main()) {
      log::info("{}: no checkpoint in {} yet; starting fresh", spec_.stage, spec_.checkpoint_dir.string());
    }
    return;
  }
  const int64_t step = *resume;
  const nlohmann::json meta = load_training_checkpoint(CheckpointFiles{spec_.checkpoint_dir, step}, model_, &optimizers_,
                                                       process_.dist->rank());
  if (meta.at("model_config").get<GPTConfig>() != model_.config()) {
    throw UsageError("checkpoint step " + std::to_string(step) + " in " + spec_.checkpoint_dir.string() +
                     " is for another model (depth, width or vocab differ)");
  }
  if (meta.contains("dtype") && settings_.dtype == "auto") {
    model_.set_compute_dtype(resolve_dtype(meta.at("dtype").get<std::string>(), process_.device));
  }
  data_.restore(meta.at("dataloader_state_dict"));
  const auto& loop = meta.at("loop_state");
  smoother_.restore(loop.at("smooth_train_loss_ema").get<double>(), loop.at("smooth_train_loss_count").get<int64_t>());
  training_seconds_ = loop.at("total_training_time").get<double>();
  timed_steps_ = loop.value("timed_steps", int64_t{0});
  for (const auto& [name, value] : loop.value("best", nlohmann::json::object()).items()) best_[name] = value.get<double>();
  for (const auto& [name, value] : meta.value("metrics", nlohmann::json::object()).items()) metrics_[name] = value.get<double>();
  start_step_ = step;
  if (process_.dist->is_main()) log::info("{}: resumed from step {} of {}", spec_.stage, step, spec_.checkpoint_dir.string());
}

std::vector<Batch> TrainLoop::take_micro_batches() {
  std::vector<Batch> batches;
  for (int64_t i = 0, n = grad_accum(); i < n; ++i) batches.push_back(data_.next(batch_rows_));
  return batches;
}

// Backward over the step's micro-batches. Every target counts the same wherever it is:
// a micro-batch's mean loss is weighted by its share of the step's targets on all ranks
// (× world, since the optimizers average gradients across ranks). For pretraining that is
// the 1/accumulation of nanochat; for padded SFT rows it makes 2 ranks equal 1 process.
// Returns this rank's summed token loss.
double TrainLoop::accumulate(const std::vector<Batch>& batches, double global_valid) {
  const double world = process_.dist->world_size();
  at::Tensor loss_sum = at::zeros({}, at::TensorOptions().dtype(at::kDouble).device(process_.device));
  for (const Batch& batch : batches) {
    const int64_t valid = (batch.targets >= 0).sum().item<int64_t>();
    if (valid == 0) {
      // Nothing to learn here, but every parameter still needs a (zero) gradient.
      model_.forward(batch.inputs, batch.targets, LossReduction::None).sum().backward();
      continue;
    }
    at::Tensor loss = model_.forward(batch.inputs, batch.targets);
    loss_sum += loss.detach().to(at::kDouble) * static_cast<double>(valid);
    (loss * (static_cast<double>(valid) * world / global_valid)).backward();
  }
  return loss_sum.item<double>();
}

double TrainLoop::train_step(int64_t step) {
  std::vector<Batch> batches;
  nlohmann::json before = data_.state();
  double local_loss = 0, local_valid = 0, local_tokens = 0;
  at::Tensor counts;
  for (;;) {
    batches = take_micro_batches();
    local_valid = local_tokens = 0;
    for (const Batch& b : batches) {
      local_valid += static_cast<double>((b.targets >= 0).sum().item<int64_t>());
      local_tokens += static_cast<double>(b.inputs.numel());
    }
    counts = at::tensor({local_valid, local_tokens}, at::kDouble).to(process_.device);
    process_.dist->all_reduce_sum(counts);
    const double global_valid = counts[0].item<double>();
    if (global_valid == 0) throw Error(spec_.stage + ": step " + std::to_string(step) + " has no trainable targets on any rank");
    try {
      local_loss = accumulate(batches, global_valid);
      break;
    } catch (const c10::OutOfMemoryError&) {
      // Only the first step of a process finds out whether the device batch fits; half the
      // rows per pass with twice the accumulation trains on the same rows.
      if (!first_step_ || batch_rows_ == 1) throw Error("out of memory even at --device-batch-size " + std::to_string(batch_rows_) + ": use a smaller model or sequence length");
      optimizers_.zero_grad();
      batch_rows_ /= 2;
      log::warn("{}: out of memory; halving the device batch to {} (accumulation {})", spec_.stage, batch_rows_, grad_accum());
      data_.restore(before);
    }
  }
  first_step_ = false;
  const double lrm = lr_multiplier(step, spec_.num_iterations, spec_.schedule) * settings_.init_lr_frac;
  optimizers_.set_lr_multiplier(lrm);
  optimizers_.step();
  optimizers_.zero_grad();
  at::Tensor loss = at::full({}, local_loss, at::TensorOptions().dtype(at::kDouble).device(process_.device));
  process_.dist->all_reduce_sum(loss);
  last_lrm_ = lrm;
  last_tokens_ = counts[1].item<double>();
  return loss.item<double>() / counts[0].item<double>();
}

void TrainLoop::run_evaluation(int64_t step) {
  if (!spec_.evaluate) return;
  auto results = spec_.evaluate();
  std::string line;
  for (const auto& [name, value] : results) {
    metrics_[name] = value;
    auto best = best_.find(name);
    if (best == best_.end() || value < best->second) best_[name] = value;
    std::string shown = name;  // "val_bpb" is logged as "val bpb"
    std::replace(shown.begin(), shown.end(), '_', ' ');
    line += fmt::format(" | {} {:.6f} (min {:.6f})", shown, value, best_[name]);
  }
  if (!process_.dist->is_main()) return;
  log::info("step {:05d}{}", step, line);
  nlohmann::json eval = nlohmann::json::object();
  for (const auto& [name, value] : results) eval[name] = value;
  append_json_line(report_metrics(spec_), {{"stage", spec_.stage}, {"step", step}, {"eval", eval}});
}

void TrainLoop::save(int64_t step) {
  nlohmann::json meta = spec_.meta;
  meta["step"] = step;
  meta["model_config"] = model_.config();
  meta["dtype"] = dtype_flag_name(model_.compute_dtype());
  meta["device_batch_size"] = batch_rows_;
  meta["world_size"] = process_.dist->world_size();
  meta["dataloader_state_dict"] = data_.state();
  meta["metrics"] = metrics_;
  for (const auto& [name, value] : metrics_) meta[name] = value;  // nanochat's top-level "val_bpb"
  nlohmann::json loop = nlohmann::json::object();
  loop["smooth_train_loss_ema"] = smoother_.raw();
  loop["smooth_train_loss_count"] = smoother_.count();
  loop["total_training_time"] = training_seconds_;
  loop["timed_steps"] = timed_steps_;
  loop["best"] = best_;
  meta["loop_state"] = loop;
  save_training_checkpoint(CheckpointFiles{spec_.checkpoint_dir, step}, model_, optimizers_, meta, *process_.dist);
  if (process_.dist->is_main()) {
    log::info("{}: saved step {} in {}", spec_.stage, step, spec_.checkpoint_dir.string());
    prune_old_checkpoints(step);
  }
}

// --keep-last N: called after step `newest` is complete (its meta written last), so at
// least one whole checkpoint always survives a crash during the deletion.
void TrainLoop::prune_old_checkpoints(int64_t newest) {
  for (int64_t step : prune_checkpoints(spec_.checkpoint_dir, settings_.keep_last, newest, process_.dist->world_size())) {
    log::info("{}: deleted step {} (--keep-last {})", spec_.stage, step, settings_.keep_last);
  }
}

void TrainLoop::log_step(int64_t step, double loss, double dt) {
  if (!process_.dist->is_main()) return;
  StepStats stats;
  stats.step = step;
  stats.num_steps = spec_.num_iterations;
  stats.loss = smoother_.update(loss);
  stats.lr_multiplier = last_lrm_;
  stats.dt_seconds = dt;
  stats.tokens_per_second = last_tokens_ / dt;
  const double flops_per_rank = spec_.flops_per_token * last_tokens_ / dt / process_.dist->world_size();
  if (flops_per_rank > peak_flops_) {
    // The cached peak was measured while the machine was busy: measure it again.
    const PeakFlops peak = peak_flops(process_.device, model_.compute_dtype(), flops_per_rank);
    log::warn("{}: a step ran at {:.1f} GFLOP/s, above the cached peak of {:.1f}: measured again: {:.1f} GFLOP/s ({})",
              spec_.stage, flops_per_rank / 1e9, peak_flops_ / 1e9, peak.flops / 1e9, peak.source);
    peak_flops_ = peak.flops;
    peak_source_ = peak.source;
  }
  stats.mfu_percent = 100.0 * spec_.flops_per_token * last_tokens_ / dt / (peak_flops_ * process_.dist->world_size());
  if (timed_steps_ > 0) {
    stats.eta_seconds = training_seconds_ / static_cast<double>(timed_steps_) * static_cast<double>(spec_.num_iterations - step - 1);
  }
  std::cout << spec_.stage << " " << format_step_line(stats) << std::endl;
  const nlohmann::json line = {{"stage", spec_.stage}, {"step", step},     {"loss", loss},
                               {"smooth_loss", stats.loss},  {"lrm", last_lrm_}, {"dt", dt},
                               {"tok_per_sec", stats.tokens_per_second}, {"mfu", stats.mfu_percent}, {"metrics", metrics_}};
  append_json_line(report_metrics(spec_), line);
  if (!settings_.log_file.empty()) append_json_line(settings_.log_file, line);
}

void TrainLoop::write_report() const {
  if (!process_.dist->is_main()) return;
  ReportItems items = spec_.report;
  items.emplace_back("iterations", spec_.num_iterations);
  items.emplace_back("rows per step", spec_.rows_per_step);
  items.emplace_back("ranks", static_cast<int64_t>(process_.dist->world_size()));
  items.emplace_back("device", device_name(process_.device));
  items.emplace_back("dtype", std::string(dtype_flag_name(model_.compute_dtype())));
  for (const auto& [name, value] : best_) items.emplace_back("minimum " + name, value);
  for (const auto& [name, value] : metrics_) items.emplace_back("final " + name, value);
  items.emplace_back("training time (s)", training_seconds_);
  write_report_section(base_dir(), spec_.report_section, items);
}

void TrainLoop::run() {
  if (process_.dist->is_main()) {
    log::info("{}: {} steps of {} rows ({} ranks x {} rows x {} accumulation), device {} {}, peak {:.1f} GFLOP/s ({})",
              spec_.stage, spec_.num_iterations, spec_.rows_per_step, process_.dist->world_size(), batch_rows_, grad_accum(),
              device_name(process_.device), dtype_flag_name(model_.compute_dtype()), peak_flops_ / 1e9, peak_source_);
  }
  for (int64_t step = start_step_;; ++step) {
    const bool last = step == spec_.num_iterations;
    const bool eval_due = settings_.eval_every > 0 && step % settings_.eval_every == 0 && step != start_step_;
    if (last || eval_due || (step == 0 && settings_.eval_every > 0)) run_evaluation(step);
    if (spec_.sample && spec_.sample_every > 0 && (last || (step > 0 && step % spec_.sample_every == 0))) spec_.sample(step);
    const bool periodic_save = settings_.save_every > 0 && step > 0 && step % settings_.save_every == 0 && step != start_step_;
    if (last || periodic_save) save(step);
    if (last) break;

    synchronize(process_.device);
    const auto start = std::chrono::steady_clock::now();
    const double loss = train_step(step);
    synchronize(process_.device);
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (step - start_step_ >= 10) {  // as nanochat: the first steps include warm-up costs
      training_seconds_ += dt;
      ++timed_steps_;
    }
    if (!std::isfinite(loss)) {
      throw Error(spec_.stage + ": loss is " + std::to_string(loss) + " at step " + std::to_string(step) + ": lower the learning rates");
    }
    log_step(step, loss, dt);
  }
  write_report();
}

}  // namespace nanochat
