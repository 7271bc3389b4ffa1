// nanochat's base training (base_train.py) on the shared loop: the model from --depth, the
// horizon derived from --num-iterations, --target-flops or --target-param-data-ratio, token
// shards as the data, val bits-per-byte as the metric, greedy samples of fixed prompts.
#include "pretrain_run.hpp"

#include <ATen/ATen.h>

#include <algorithm>

#include "nanochat/base_dir.hpp"
#include "nanochat/device.hpp"
#include "nanochat/error.hpp"
#include "nanochat/log.hpp"
#include "nanochat/plugin_registry.hpp"
#include "nanochat/sample_prompts.hpp"
#include "nanochat/token_shard.hpp"
#include "nanochat/train_loop.hpp"

namespace fs = std::filesystem;

namespace nanochat::pretrain {
namespace {

// The token shards as the loop's data: a DataLoader whose batch size follows what the
// loop asks for (it halves after an out-of-memory error), at the same position.
class ShardData : public TrainData {
 public:
  explicit ShardData(DataLoaderOptions options) : options_(std::move(options)), loader_(options_) {}

  Batch next(int64_t rows) override {
    if (rows != options_.batch_size) {
      DataLoaderState position = loader_.state();
      options_.batch_size = rows;
      loader_ = DataLoader(options_);
      if (position.rows > 0) loader_.restore(position);
    }
    return loader_.next();
  }
  nlohmann::json state() const override { return nlohmann::json::parse(loader_.state().to_json()); }
  void restore(const nlohmann::json& state) override { loader_.restore(DataLoaderState::from_json(state.dump())); }

 private:
  DataLoaderOptions options_;
  DataLoader loader_;
};

}  // namespace

void run(const Settings& s, const fs::path& base_dir) {
  TrainProcess p = join_training_process(s.train.device);
  if (s.depth < 1) throw UsageError("--depth must be at least 1");
  if (s.max_seq_len < 2) throw UsageError("--max-seq-len must be at least 2");
  if (s.total_batch_size % s.max_seq_len != 0) {
    throw UsageError("--total-batch-size " + std::to_string(s.total_batch_size) + " must be a multiple of --max-seq-len " +
                     std::to_string(s.max_seq_len));
  }

  auto tokenizer = PluginRegistry::instance().create<Tokenizer>(PluginKind::tokenizer, s.train.tokenizer);
  const fs::path tokenizer_dir = artifact_dir(Artifact::tokenizer, base_dir);
  tokenizer->load(tokenizer_dir);
  const at::Tensor token_bytes = load_token_bytes_tensor(tokenizer_dir);

  const GPTConfig config = GPTConfig::from_depth(s.depth, static_cast<int64_t>(tokenizer->vocab_size()), s.max_seq_len);
  GPT model(config, p.device, resolve_dtype(s.train.dtype, p.device));
  model.init_weights(s.train.seed);
  OptimizerSet optimizers = make_optimizers(model, s.train.optimizers, p.dist);

  DataLoaderOptions data;
  data.data_dir = s.data_dir.empty() ? artifact_dir(Artifact::base_data, base_dir) : fs::path(s.data_dir);
  data.batch_size = s.train.device_batch_size;
  data.seq_len = s.max_seq_len;
  data.rank = p.dist->rank();
  data.world_size = p.dist->world_size();
  data.device = p.device;
  data.tokenizer_fingerprint = tokenizer_fingerprint(*tokenizer);
  ShardData train(data);
  data.split = DataSplit::val;
  const DataLoader val(data);

  TrainLoopSpec spec;
  spec.stage = "pretrain";
  spec.report_section = "Base model training";
  spec.num_iterations = training_steps({s.train.num_iterations, s.target_flops, s.target_param_data_ratio}, model.num_params(),
                                       config.flops_per_token(), s.total_batch_size);
  spec.rows_per_step = s.total_batch_size / s.max_seq_len;
  spec.device_batch_size = s.train.device_batch_size;
  spec.flops_per_token = static_cast<double>(config.flops_per_token());
  spec.schedule = s.schedule;
  spec.checkpoint_dir = artifact_dir(Artifact::base_checkpoints, base_dir) /
                        (s.train.model_tag.empty() ? "d" + std::to_string(s.depth) : s.train.model_tag);
  spec.meta = {{"user_config", s.user_config},
               {"max_seq_len", s.max_seq_len},
               {"tokenizer_fingerprint", tokenizer_fingerprint(*tokenizer)}};
  spec.report = {{"depth", s.depth},
                 {"parameters", model.num_params()},
                 {"FLOPs per token", static_cast<double>(config.flops_per_token())},
                 {"tokens per step", s.total_batch_size},
                 {"training tokens", spec.num_iterations * s.total_batch_size}};
  spec.evaluate = [&] {
    EvalBatches batches(val, static_cast<uint64_t>(s.eval_tokens));
    return std::vector<std::pair<std::string, double>>{{"val_bpb", evaluate_bpb(model, batches, token_bytes, *p.dist)}};
  };
  spec.sample_every = s.sample_every;
  spec.sample = [&](int64_t) {
    if (!p.dist->is_main()) return;
    for (const char* prompt : kBaseSamplePrompts) {
      std::string completion = sample_greedy(model, *tokenizer, prompt, 16);
      std::replace(completion.begin(), completion.end(), '\n', ' ');  // one log line per sample
      log::info("sample: {} | {}", prompt, completion);
    }
  };
  if (p.dist->is_main()) {
    log::info("pretrain: depth {} (d={}, {} heads), vocab {}, {} parameters, {:.3e} FLOPs/token", s.depth, config.n_embd,
              config.n_head, config.vocab_size, model.num_params(), static_cast<double>(config.flops_per_token()));
  }
  TrainLoop loop(s.train, std::move(spec), p, model, optimizers, train);
  loop.resume_if_asked();
  loop.run();
}

}  // namespace nanochat::pretrain
