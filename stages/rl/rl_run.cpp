// The RL loop (see rl_run.hpp).
#include "rl_run.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <chrono>
#include <iostream>
#include <numeric>

#include "nanochat/base_dir.hpp"
#include "nanochat/checkpoint.hpp"
#include "nanochat/device.hpp"
#include "nanochat/error.hpp"
#include "nanochat/log.hpp"
#include "nanochat/report.hpp"
#include "nanochat/step_log.hpp"
#include "policy_pass.hpp"

namespace nanochat::rl {
namespace {

constexpr const char* kSection = "Chat RL";

double mean_of(const std::vector<double>& values, size_t begin, size_t end) {
  if (end <= begin) return 0.0;
  return std::accumulate(values.begin() + static_cast<std::ptrdiff_t>(begin), values.begin() + static_cast<std::ptrdiff_t>(end), 0.0) /
         static_cast<double>(end - begin);
}

// Sums `values` (one per name, in the same order on every rank) across ranks.
std::vector<double> sum_over_ranks(const std::vector<double>& values, Distributed& dist, c10::Device device) {
  at::Tensor t = at::tensor(values, at::kDouble).to(device);
  dist.all_reduce_sum(t);
  t = t.cpu();
  return std::vector<double>(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
}

}  // namespace

RlRun::RlRun(const TrainSettings& settings, int64_t num_steps, int64_t max_new_tokens, RlRunParts parts)
    : settings_(settings), num_steps_(num_steps), max_new_tokens_(max_new_tokens), parts_(std::move(parts)),
      needs_(parts_.algorithm->needs()) {
  if (num_steps_ < 1) throw UsageError("rl: nothing to train (0 steps)");
  if (needs_.epochs < 1 || needs_.minibatches < 1) {
    throw Error("rl algorithm '" + parts_.algorithm_name + "' asks for " + std::to_string(needs_.epochs) + " epochs and " +
                std::to_string(needs_.minibatches) + " minibatches; both must be at least 1");
  }
}

void RlRun::resume_if_asked() {
  Distributed& dist = *parts_.process->dist;
  const std::optional<int64_t> step = resolve_resume_step(settings_.resume_from_step, parts_.checkpoint_dir);
  if (!step) {
    if (settings_.resume_from_step == "auto" && dist.is_main()) {
      log::info("rl: no checkpoint in {} yet; starting fresh", parts_.checkpoint_dir.string());
    }
    return;
  }
  const nlohmann::json meta =
      load_training_checkpoint(CheckpointFiles{parts_.checkpoint_dir, *step}, *parts_.model, parts_.optimizers, dist.rank());
  const nlohmann::json& rl = meta.at("rl");
  if (rl.at("algo").get<std::string>() != parts_.algorithm_name) {
    throw UsageError(fmt::format("checkpoint step {} in {} was trained with --algo {}, not {}: resume with the same algorithm",
                                 *step, parts_.checkpoint_dir.string(), rl.at("algo").get<std::string>(), parts_.algorithm_name));
  }
  if (meta.at("model_config").get<GPTConfig>() != parts_.model->config()) {
    throw UsageError("checkpoint step " + std::to_string(*step) + " in " + parts_.checkpoint_dir.string() + " is for another model");
  }
  parts_.algorithm->load_state(rl.at("algo_state").get<RlState>());
  training_seconds_ = rl.at("training_seconds").get<double>();
  rewards_ = rl.at("rewards").get<std::vector<double>>();
  start_step_ = *step;
  if (dist.is_main()) log::info("rl: resumed from step {} of {}", *step, parts_.checkpoint_dir.string());
}

void RlRun::run() {
  for (int64_t step = start_step_; step < num_steps_; ++step) {
    if (settings_.eval_every > 0 && step % settings_.eval_every == 0) evaluate(step);
    train_step(step);
    const int64_t done = step + 1;
    if (done == num_steps_ || (settings_.save_every > 0 && done % settings_.save_every == 0)) save(done);
  }
  if (settings_.eval_every != 0 && (settings_.eval_every < 0 || num_steps_ % settings_.eval_every != 0 || start_step_ == num_steps_)) {
    evaluate(num_steps_);
  }
  write_report();
}

void RlRun::train_step(int64_t step) {
  Distributed& dist = *parts_.process->dist;
  const c10::Device device = parts_.process->device;
  const auto start = std::chrono::steady_clock::now();

  Rollouts rollouts = parts_.sampler->sample(step);
  RlBatch& batch = rollouts.batch;
  const int64_t rows_per_pass = settings_.device_batch_size;
  {
    at::NoGradGuard no_grad;
    if (needs_.old_logprobs || needs_.ref_logprobs || needs_.value_head) {
      PolicyOutput old = policy_pass_no_grad(*parts_.model, parts_.value_head, batch, rollouts.lengths, rows_per_pass);
      batch.old_logp = old.logp;
      batch.old_values = old.values;
    }
    if (needs_.ref_logprobs) {
      batch.ref_logp = policy_pass_no_grad(*parts_.reference, nullptr, batch, rollouts.lengths, rows_per_pass).logp;
    }
    parts_.algorithm->prepare(batch);
  }
  const double sampled = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  // nanochat's RL schedule: the learning rates fall linearly to 0 over the run.
  const double lrm = (1.0 - static_cast<double>(step) / static_cast<double>(num_steps_)) * settings_.init_lr_frac;
  parts_.optimizers->set_lr_multiplier(lrm);
  std::map<std::string, double> metrics;
  const double loss = update(rollouts, metrics);
  const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  // Step statistics over all ranks: reward, lengths, KL, tokens.
  const double rows = static_cast<double>(batch.inputs.size(0));
  const double kl_sum = batch.ref_logp.defined() ? ((batch.old_logp - batch.ref_logp) * batch.mask).sum().item<double>() : 0.0;
  const std::vector<double> totals =
      sum_over_ranks({batch.rewards.sum().item<double>(), rows, rollouts.generated_tokens, kl_sum, batch.mask.sum().item<double>(),
                      static_cast<double>(batch.inputs.numel())},
                     dist, device);
  RlStepStats stats;
  stats.step = step;
  stats.num_steps = num_steps_;
  stats.mean_reward = totals[0] / totals[1];
  stats.kl = totals[4] > 0 ? totals[3] / totals[4] : 0.0;
  stats.metrics = metrics;
  parts_.algorithm->on_step_end(stats);
  rewards_.push_back(stats.mean_reward);
  training_seconds_ += dt;
  if (!dist.is_main()) return;

  const double mean_length = totals[2] / totals[1];
  const double sample_tok_s = totals[2] / sampled;
  const double train_tok_s = totals[5] * static_cast<double>(needs_.epochs) / std::max(1e-9, dt - sampled);
  std::string line = fmt::format("rl step {:05d}/{:05d} ({:.2f}%) | reward {:.4f} | len {:.1f} | loss {:.6f}", step, num_steps_,
                                 100.0 * static_cast<double>(step + 1) / static_cast<double>(num_steps_), stats.mean_reward,
                                 mean_length, loss);
  if (batch.ref_logp.defined()) line += fmt::format(" | kl {:.5f}", stats.kl);
  for (const auto& [name, value] : metrics) {
    if (name != "loss") line += fmt::format(" | {} {:.4g}", name, value);
  }
  const double eta = training_seconds_ / static_cast<double>(step + 1 - start_step_) * static_cast<double>(num_steps_ - step - 1);
  line += fmt::format(" | lrm {:.3f} | sample tok/s {:.0f} | train tok/s {:.0f} | dt {:.2f}s | eta {}", lrm, sample_tok_s,
                      train_tok_s, dt, format_duration(eta));
  std::cout << line << std::endl;
  const nlohmann::json json = {{"stage", "rl"},          {"step", step},
                               {"loss", loss},           {"reward", stats.mean_reward},
                               {"seq_len", mean_length}, {"kl", stats.kl},
                               {"lrm", lrm},             {"dt", dt},
                               {"tok_per_sec", train_tok_s}, {"sample_tok_per_sec", sample_tok_s},
                               {"metrics", metrics}};
  append_json_line(report_metrics_file(base_dir(), kSection), json);
  if (!settings_.log_file.empty()) append_json_line(settings_.log_file, json);
}

// epochs × minibatches optimizer steps over the rollouts; returns the mean loss of the
// updates and fills `metrics` with the mean of each loss metric.
double RlRun::update(const Rollouts& rollouts, std::map<std::string, double>& metrics) {
  Distributed& dist = *parts_.process->dist;
  const c10::Device device = parts_.process->device;
  const RlBatch& batch = rollouts.batch;
  const int64_t rows = batch.inputs.size(0);
  if (rows % needs_.minibatches != 0) {
    throw UsageError(fmt::format("rl: {} rows per rank (prompts per rank × --num-samples) do not split into the {} minibatches "
                                 "of --algo {}", rows, needs_.minibatches, parts_.algorithm_name));
  }
  const int64_t per_minibatch = rows / needs_.minibatches;
  const double world = dist.world_size();
  std::vector<std::string> names;
  std::vector<double> sums;  // the loss, then each metric, summed over this rank's slices and the updates
  for (int64_t epoch = 0; epoch < needs_.epochs; ++epoch) {
    for (int64_t m = 0; m < needs_.minibatches; ++m) {
      const int64_t begin = m * per_minibatch, end = begin + per_minibatch;
      const std::vector<double> counts =
          sum_over_ranks({batch.mask.slice(0, begin, end).sum().item<double>(), static_cast<double>(per_minibatch)}, dist, device);
      const RlNorm norm{counts[0], counts[1], max_new_tokens_};
      for (int64_t s = begin; s < end; s += settings_.device_batch_size) {
        const RlSlice slice{s, std::min(end, s + settings_.device_batch_size)};
        const PolicyOutput out = policy_pass(*parts_.model, parts_.value_head, batch, slice, rollouts.lengths);
        const RlLoss loss = parts_.algorithm->loss(batch, slice, out.logp, out.values, norm);
        (loss.loss * world).backward();
        if (names.empty()) {
          names.push_back("loss");
          for (const auto& [name, value] : loss.metrics) names.push_back(name);
          sums.assign(names.size(), 0.0);
        }
        sums[0] += loss.loss.item<double>();
        for (size_t i = 0; i < loss.metrics.size() && i + 1 < sums.size(); ++i) sums[i + 1] += loss.metrics[i].second.item<double>();
      }
      parts_.optimizers->step();
      parts_.optimizers->zero_grad();
    }
  }
  const std::vector<double> totals = sum_over_ranks(sums, dist, device);
  const double updates = static_cast<double>(needs_.epochs * needs_.minibatches);
  for (size_t i = 1; i < names.size(); ++i) metrics[names[i]] = totals[i] / updates;
  return totals[0] / updates;
}

void RlRun::evaluate(int64_t step) {
  Distributed& dist = *parts_.process->dist;
  if (parts_.eval.problems == 0) return;
  const auto start = std::chrono::steady_clock::now();
  last_pass_ = pass_at_k(*parts_.engine, parts_.eval_task, parts_.eval, dist, parts_.process->device);
  if (!dist.is_main()) return;
  std::string line = fmt::format("rl eval at step {:05d} | {}", step, parts_.eval_task.label());
  nlohmann::json eval = nlohmann::json::object();
  for (size_t k = 0; k < last_pass_.size(); ++k) {
    line += fmt::format(" | pass@{} {:.4f}", k + 1, last_pass_[k]);
    eval["pass@" + std::to_string(k + 1)] = last_pass_[k];
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  log::info("{} ({:.1f}s)", line, seconds);
  append_json_line(report_metrics_file(base_dir(), kSection), {{"stage", "rl"}, {"step", step}, {"eval", eval}});
}

void RlRun::save(int64_t steps_done) {
  Distributed& dist = *parts_.process->dist;
  nlohmann::json meta = parts_.meta;
  meta["step"] = steps_done;
  meta["model_config"] = parts_.model->config();
  meta["dtype"] = dtype_flag_name(parts_.model->compute_dtype());
  meta["world_size"] = dist.world_size();
  meta["rl"] = {{"algo", parts_.algorithm_name},
                {"algo_options", parts_.algorithm_options},
                {"algo_state", parts_.algorithm->state()},
                {"training_seconds", training_seconds_},
                {"rewards", rewards_}};
  save_training_checkpoint(CheckpointFiles{parts_.checkpoint_dir, steps_done}, *parts_.model, *parts_.optimizers, meta, dist);
  if (!dist.is_main()) return;
  log::info("rl: saved step {} in {}", steps_done, parts_.checkpoint_dir.string());
  for (int64_t old : prune_checkpoints(parts_.checkpoint_dir, settings_.keep_last, steps_done, dist.world_size())) {
    log::info("rl: deleted step {} (--keep-last {})", old, settings_.keep_last);
  }
}

void RlRun::write_report() const {
  if (!parts_.process->dist->is_main()) return;
  ReportItems items = parts_.report;
  items.emplace_back("steps", num_steps_);
  items.emplace_back("ranks", static_cast<int64_t>(parts_.process->dist->world_size()));
  items.emplace_back("device", device_name(parts_.process->device));
  const size_t n = rewards_.size(), window = std::min<size_t>(10, n);
  items.emplace_back("mean reward, first " + std::to_string(window) + " steps", mean_of(rewards_, 0, window));
  items.emplace_back("mean reward, last " + std::to_string(window) + " steps", mean_of(rewards_, n - window, n));
  for (size_t k = 0; k < last_pass_.size(); ++k) {
    items.emplace_back(parts_.eval_task.label() + " pass@" + std::to_string(k + 1), last_pass_[k]);
  }
  items.emplace_back("training time (s)", training_seconds_);
  write_report_section(base_dir(), kSection, items);
}

}  // namespace nanochat::rl
