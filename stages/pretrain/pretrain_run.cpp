// nanochat's base-training loop (SPEC §5): derived horizon and gradient accumulation,
// warm-down schedule, Muon momentum warm-up, val bpb, greedy samples, atomic checkpoints
// with exact resume, one log line per step.
#include "pretrain_run.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/util/Exception.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <thread>

#include "nanochat/base_dir.hpp"
#include "nanochat/device.hpp"
#include "nanochat/error.hpp"
#include "nanochat/log.hpp"
#include "nanochat/peak_flops.hpp"
#include "nanochat/plugin_registry.hpp"
#include "nanochat/report.hpp"
#include "nanochat/step_log.hpp"
#include "nanochat/token_shard.hpp"

namespace fs = std::filesystem;

namespace nanochat::pretrain {
namespace {

const char* kSamplePrompts[] = {"The capital of France is", "The chemical symbol of gold is",
                                "If yesterday was Friday, then tomorrow will be", "The opposite of hot is",
                                "The planets of the solar system are:", "My favorite color is",
                                "If 5*x + 3 = 13, then x is"};

// One process of a possibly data-parallel run.
struct Process {
  DistEnv env;
  c10::Device device = c10::Device(c10::kCPU);
  std::shared_ptr<Distributed> dist;
};

Process join(const std::string& device_name) {
  Process p;
  p.env = DistEnv::from_environment();
  p.device = resolve_device(device_name);
  if (p.device.is_cuda() && !p.device.has_index()) p.device = c10::Device(c10::kCUDA, p.env.local_rank);
  const char* local_world = std::getenv("LOCAL_WORLD_SIZE");
  int ranks_here = local_world ? std::max(1, std::atoi(local_world)) : 1;
  if (p.device.is_cpu() && ranks_here > 1) {
    // Ranks on one machine share its cores; oversubscribing them slows every rank down.
    at::set_num_threads(std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / ranks_here));
  }
  if (p.device.is_cpu()) reuse_host_memory();
  p.dist = Distributed::init(p.env, p.device);
  return p;
}

int64_t horizon(const Settings& s, const GPTConfig& config, int64_t num_params) {
  if (s.num_iterations > 0) return s.num_iterations;
  double steps = 0;
  if (s.target_flops > 0) {
    steps = std::round(s.target_flops / (static_cast<double>(config.flops_per_token()) * s.total_batch_size));
  } else if (s.target_param_data_ratio > 0) {
    steps = std::floor(s.target_param_data_ratio * static_cast<double>(num_params) / s.total_batch_size);
  } else {
    throw UsageError("no horizon: set --num-iterations, --target-flops or --target-param-data-ratio");
  }
  return std::max<int64_t>(1, static_cast<int64_t>(steps));
}

void check_settings(const Settings& s, int world) {
  if (s.depth < 1) throw UsageError("--depth must be at least 1");
  if (s.max_seq_len < 2) throw UsageError("--max-seq-len must be at least 2");
  if (s.device_batch_size < 1) throw UsageError("--device-batch-size must be at least 1");
  const int64_t per_pass = s.device_batch_size * s.max_seq_len * world;
  if (s.total_batch_size < per_pass || s.total_batch_size % per_pass != 0) {
    throw UsageError("--total-batch-size " + std::to_string(s.total_batch_size) +
                     " must be a multiple of device-batch-size·max-seq-len·ranks = " + std::to_string(per_pass));
  }
}

// The model, its optimizers, data and loop state: everything a step touches.
class Trainer {
 public:
  Trainer(const Settings& s, const fs::path& base_dir, Process& p)
      : s_(s), base_dir_(base_dir), p_(p), batch_size_(s.device_batch_size) {
    tokenizer_ = PluginRegistry::instance().create<Tokenizer>(PluginKind::tokenizer, s.tokenizer);
    tokenizer_dir_ = artifact_dir(Artifact::tokenizer, base_dir);
    tokenizer_->load(tokenizer_dir_);
    auto lengths = load_token_bytes(tokenizer_dir_);
    token_bytes_ = at::tensor(std::vector<int64_t>(lengths.begin(), lengths.end()), at::kLong);

    config_ = GPTConfig::from_depth(s.depth, static_cast<int64_t>(tokenizer_->vocab_size()), s.max_seq_len);
    dtype_ = resolve_dtype(s.dtype, p.device);
    model_ = std::make_shared<GPT>(config_, p.device, dtype_);
    model_->init_weights(s.seed);
    optimizers_ = make_optimizers(*model_, s.optimizers, p.dist);
    num_iterations_ = horizon(s, config_, model_->num_params());
    data_dir_ = s.data_dir.empty() ? artifact_dir(Artifact::base_data, base_dir) : s.data_dir;
    open_loaders();
    checkpoint_dir_ = artifact_dir(Artifact::base_checkpoints, base_dir) /
                      (s.model_tag.empty() ? "d" + std::to_string(s.depth) : s.model_tag);
    peak_ = peak_flops(p.device, dtype_);
  }

  void describe() const {
    if (!p_.dist->is_main()) return;
    log::info("pretrain: depth {} (d={}, {} heads), vocab {}, {} parameters, {:.3e} FLOPs/token", s_.depth,
              config_.n_embd, config_.n_head, config_.vocab_size, model_->num_params(),
              static_cast<double>(config_.flops_per_token()));
    log::info("pretrain: {} steps of {} tokens ({} ranks x {} rows x {} tokens x {} accumulation), device {} {}",
              num_iterations_, s_.total_batch_size, p_.dist->world_size(), batch_size_, s_.max_seq_len, grad_accum(),
              device_name(p_.device), dtype_flag_name(dtype_));
    log::info("pretrain: peak {:.1f} GFLOP/s per rank ({}); checkpoints in {}", peak_.flops / 1e9, peak_.source,
              checkpoint_dir_.string());
  }

  void resume(int64_t step) {
    nlohmann::json meta = load_training_checkpoint(CheckpointFiles{checkpoint_dir_, step}, *model_, &optimizers_,
                                                   p_.dist->rank());
    GPTConfig saved = meta.at("model_config").get<GPTConfig>();
    if (saved != config_) throw UsageError("checkpoint step " + std::to_string(step) + " is for another model (depth or vocab differ)");
    train_->restore(DataLoaderState::from_json(meta.at("dataloader_state_dict").dump()));
    const auto& loop = meta.at("loop_state");
    // JSON has no infinity: a run that never evaluated saved null.
    min_val_bpb_ = loop.at("min_val_bpb").is_null() ? std::numeric_limits<double>::infinity()
                                                    : loop.at("min_val_bpb").get<double>();
    smoother_.restore(loop.at("smooth_train_loss_ema").get<double>(), loop.at("smooth_train_loss_count").get<int64_t>());
    training_seconds_ = loop.at("total_training_time").get<double>();
    start_step_ = step;
    if (p_.dist->is_main()) log::info("pretrain: resumed from step {} of {}", step, checkpoint_dir_.string());
  }

  void train();

 private:
  int64_t grad_accum() const { return s_.total_batch_size / (batch_size_ * s_.max_seq_len * p_.dist->world_size()); }

  void open_loaders() {
    DataLoaderOptions options;
    options.data_dir = data_dir_;
    options.batch_size = batch_size_;
    options.seq_len = s_.max_seq_len;
    options.rank = p_.dist->rank();
    options.world_size = p_.dist->world_size();
    options.device = p_.device;
    options.tokenizer_fingerprint = tokenizer_fingerprint(*tokenizer_);
    train_ = std::make_unique<DataLoader>(options);
    options.split = DataSplit::val;
    val_ = std::make_unique<DataLoader>(options);
  }

  // Forward/backward over grad_accum() micro-batches; returns the mean loss of this rank.
  double accumulate_gradients() {
    const int64_t accum = grad_accum();
    at::Tensor loss_sum = at::zeros({}, at::TensorOptions().device(p_.device));
    for (int64_t micro = 0; micro < accum; ++micro) {
      Batch batch = train_->next();
      at::Tensor loss = model_->forward(batch.inputs, batch.targets);
      loss_sum += loss.detach();
      (loss / static_cast<double>(accum)).backward();
    }
    return (loss_sum / static_cast<double>(accum)).item<double>();
  }

  // The first step of a process finds out whether the device batch fits; on an
  // out-of-memory error it halves the batch (doubling accumulation: same rows, same result).
  double first_step_gradients() {
    DataLoaderState before = train_->state();
    for (;;) {
      try {
        return accumulate_gradients();
      } catch (const c10::OutOfMemoryError&) {
        if (batch_size_ == 1) throw Error("out of memory even at --device-batch-size 1: use a smaller --depth or --max-seq-len");
        optimizers_.zero_grad();
        batch_size_ /= 2;
        log::warn("pretrain: out of memory; halving the device batch to {} (accumulation {})", batch_size_, grad_accum());
        open_loaders();
        if (before.rows > 0) train_->restore(before);
      }
    }
  }

  void evaluate(int64_t step) {
    EvalBatches batches(*val_, static_cast<uint64_t>(s_.eval_tokens));
    val_bpb_ = evaluate_bpb(*model_, batches, token_bytes_, *p_.dist);
    min_val_bpb_ = std::min(min_val_bpb_, val_bpb_);
    if (p_.dist->is_main()) log::info("step {:05d} | val bpb {:.6f} (min {:.6f})", step, val_bpb_, min_val_bpb_);
  }

  void sample() {
    if (!p_.dist->is_main()) return;
    for (const char* prompt : kSamplePrompts) {
      std::string completion = sample_greedy(*model_, *tokenizer_, prompt, 16);
      for (char& c : completion) {
        if (c == '\n') c = ' ';  // one log line per sample
      }
      log::info("sample: {} | {}", prompt, completion);
    }
  }

  void save(int64_t step) {
    nlohmann::json meta = {
        {"step", step},
        {"val_bpb", val_bpb_},
        {"model_config", config_},
        {"user_config", s_.user_config},
        {"device_batch_size", batch_size_},
        {"max_seq_len", s_.max_seq_len},
        {"world_size", p_.dist->world_size()},
        {"dataloader_state_dict", nlohmann::json::parse(train_->state().to_json())},
        {"loop_state",
         {{"min_val_bpb", min_val_bpb_},
          {"smooth_train_loss_ema", smoother_.raw()},
          {"smooth_train_loss_count", smoother_.count()},
          {"total_training_time", training_seconds_}}}};
    save_training_checkpoint(CheckpointFiles{checkpoint_dir_, step}, *model_, optimizers_, meta, *p_.dist);
    if (p_.dist->is_main()) log::info("pretrain: saved step {} in {}", step, checkpoint_dir_.string());
  }

  void log_step(int64_t step, double loss, double lrm, double dt) {
    if (!p_.dist->is_main()) return;
    StepStats stats;
    stats.step = step;
    stats.num_steps = num_iterations_;
    stats.loss = smoother_.update(loss);
    stats.lr_multiplier = lrm;
    stats.dt_seconds = dt;
    stats.tokens_per_second = static_cast<double>(s_.total_batch_size) / dt;
    double flops = static_cast<double>(config_.flops_per_token()) * static_cast<double>(s_.total_batch_size);
    stats.mfu_percent = 100.0 * flops / dt / (peak_.flops * p_.dist->world_size());
    if (timed_steps_ > 0) stats.eta_seconds = training_seconds_ / timed_steps_ * static_cast<double>(num_iterations_ - step - 1);
    std::cout << format_step_line(stats) << std::endl;
    if (!s_.log_file.empty()) {
      std::ofstream out(s_.log_file, std::ios::app);
      out << nlohmann::json{{"step", step}, {"loss", loss}, {"smooth_loss", stats.loss}, {"lrm", lrm},
                            {"dt", dt}, {"tok_per_sec", stats.tokens_per_second}, {"mfu", stats.mfu_percent}}
                 .dump()
          << "\n";
    }
  }

  void write_report() const {
    if (!p_.dist->is_main()) return;
    write_report_section(base_dir_, "Base model training",
                         {{"depth", s_.depth},
                          {"parameters", model_->num_params()},
                          {"FLOPs per token", static_cast<double>(config_.flops_per_token())},
                          {"iterations", num_iterations_},
                          {"tokens per step", s_.total_batch_size},
                          {"training tokens", num_iterations_ * s_.total_batch_size},
                          {"ranks", static_cast<int64_t>(p_.dist->world_size())},
                          {"device", device_name(p_.device)},
                          {"dtype", std::string(dtype_flag_name(dtype_))},
                          {"minimum val bpb", min_val_bpb_},
                          {"final val bpb", val_bpb_},
                          {"training time (s)", training_seconds_}});
  }

  const Settings& s_;
  fs::path base_dir_;
  Process& p_;
  int64_t batch_size_;
  std::shared_ptr<Tokenizer> tokenizer_;
  fs::path tokenizer_dir_;
  at::Tensor token_bytes_;
  GPTConfig config_;
  c10::ScalarType dtype_ = c10::kFloat;
  std::shared_ptr<GPT> model_;
  OptimizerSet optimizers_;
  int64_t num_iterations_ = 0;
  fs::path data_dir_;
  std::unique_ptr<DataLoader> train_, val_;
  fs::path checkpoint_dir_;
  PeakFlops peak_;
  int64_t start_step_ = 0;
  LossSmoother smoother_;
  double min_val_bpb_ = std::numeric_limits<double>::infinity();
  double val_bpb_ = std::numeric_limits<double>::quiet_NaN();
  double training_seconds_ = 0;
  int64_t timed_steps_ = 0;
};

void Trainer::train() {
  bool first = true;
  for (int64_t step = start_step_;; ++step) {
    const bool last = step == num_iterations_;
    if (s_.eval_every > 0 && (last || step % s_.eval_every == 0)) evaluate(step);
    if (s_.sample_every > 0 && (last || (step > 0 && step % s_.sample_every == 0))) sample();
    const bool periodic_save = s_.save_every > 0 && step > 0 && step % s_.save_every == 0 && step != start_step_;
    if (last || periodic_save) save(step);
    if (last) break;

    synchronize(p_.device);
    auto start = std::chrono::steady_clock::now();
    double loss = first ? first_step_gradients() : accumulate_gradients();
    first = false;
    const double lrm = lr_multiplier(step, num_iterations_, s_.schedule);
    optimizers_.set_lr_multiplier(lrm);
    optimizers_.step();
    optimizers_.zero_grad();
    at::Tensor loss_tensor = at::full({}, loss, at::TensorOptions().dtype(at::kDouble).device(p_.device));
    p_.dist->all_reduce_avg(loss_tensor);  // the whole batch's loss, whatever the world size
    loss = loss_tensor.item<double>();
    synchronize(p_.device);
    double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (step - start_step_ >= 10) {  // as nanochat: the first steps include warm-up costs
      training_seconds_ += dt;
      ++timed_steps_;
    }
    if (!std::isfinite(loss)) throw Error("loss is " + std::to_string(loss) + " at step " + std::to_string(step) + ": lower the learning rates");
    log_step(step, loss, lrm, dt);
  }
  write_report();
}

}  // namespace

void run(const Settings& s, const fs::path& base_dir) {
  Process p = join(s.device);
  check_settings(s, p.dist->world_size());
  Trainer trainer(s, base_dir, p);
  if (s.resume_from_step >= 0) trainer.resume(s.resume_from_step);
  trainer.describe();
  trainer.train();
}

}  // namespace nanochat::pretrain
