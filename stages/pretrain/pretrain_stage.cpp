// `nanochat run pretrain`: nanochat's base_train options (kebab-case) → Settings → run.
#include <boost/program_options.hpp>

#include "nanochat/optimizer_options.hpp"
#include "nanochat/stage.hpp"
#include "nanochat/tensor_plugin.hpp"
#include "pretrain_run.hpp"

namespace po = boost::program_options;

namespace nanochat::pretrain {
namespace {

class PretrainStage : public Stage {
 public:
  void declare_options(po::options_description& o) override {
    Settings d;
    o.add_options()
      ("depth", po::value<int64_t>()->default_value(d.depth), "layers; width is 64·depth (the one dial)")
      ("max-seq-len", po::value<int64_t>()->default_value(d.max_seq_len), "context length T")
      ("device-batch-size", po::value<int64_t>()->default_value(d.device_batch_size), "rows per forward pass (halved automatically when it does not fit)")
      ("total-batch-size", po::value<int64_t>()->default_value(d.total_batch_size), "tokens per optimizer step, all ranks")
      ("num-iterations", po::value<int64_t>()->default_value(d.num_iterations), "steps (-1: from --target-flops or --target-param-data-ratio)")
      ("target-flops", po::value<double>()->default_value(d.target_flops), "training FLOPs (-1: off)")
      ("target-param-data-ratio", po::value<double>()->default_value(d.target_param_data_ratio), "tokens per parameter (Chinchilla: 20)")
      ("eval-every", po::value<int64_t>()->default_value(d.eval_every), "steps between val bpb evaluations (-1: off)")
      ("eval-tokens", po::value<int64_t>()->default_value(d.eval_tokens), "val tokens per evaluation")
      ("sample-every", po::value<int64_t>()->default_value(d.sample_every), "steps between greedy samples (-1: off)")
      ("save-every", po::value<int64_t>()->default_value(d.save_every), "steps between checkpoints (-1: only at the end)")
      ("resume-from-step", po::value<int64_t>()->default_value(d.resume_from_step), "continue from this checkpoint step (-1: start fresh)")
      ("model-tag", po::value<std::string>()->default_value(""), "checkpoint folder name (default d<depth>)")
      ("device", po::value<std::string>()->default_value(d.device), "auto, cpu, cuda, cuda:N")
      ("dtype", po::value<std::string>()->default_value(d.dtype), "compute dtype: auto (bf16 on CUDA, fp32 on CPU), fp32, bf16")
      ("seed", po::value<uint64_t>()->default_value(d.seed), "initialization seed")
      ("warmup-ratio", po::value<double>()->default_value(d.schedule.warmup_ratio), "fraction of steps warming the lr up")
      ("warmdown-ratio", po::value<double>()->default_value(d.schedule.warmdown_ratio), "fraction of steps decaying the lr at the end")
      ("final-lr-frac", po::value<double>()->default_value(d.schedule.final_lr_frac), "lr multiplier at the last step")
      ("tokenizer", po::value<std::string>()->default_value(d.tokenizer), "tokenizer plugin (reads $NANOCHAT_BASE_DIR/tokenizer)")
      ("data-dir", po::value<std::string>()->default_value(""), "token shards (default $NANOCHAT_BASE_DIR/base_data)")
      ("log-file", po::value<std::string>()->default_value(""), "also write each step as a JSON line here");
    add_optimizer_options(o, optimizers_);
  }

  void run(const po::variables_map& v, const StageContext& context) override {
    Settings s;
    s.depth = v["depth"].as<int64_t>();
    s.max_seq_len = v["max-seq-len"].as<int64_t>();
    s.device_batch_size = v["device-batch-size"].as<int64_t>();
    s.total_batch_size = v["total-batch-size"].as<int64_t>();
    s.num_iterations = v["num-iterations"].as<int64_t>();
    s.target_flops = v["target-flops"].as<double>();
    s.target_param_data_ratio = v["target-param-data-ratio"].as<double>();
    s.eval_every = v["eval-every"].as<int64_t>();
    s.eval_tokens = v["eval-tokens"].as<int64_t>();
    s.sample_every = v["sample-every"].as<int64_t>();
    s.save_every = v["save-every"].as<int64_t>();
    s.resume_from_step = v["resume-from-step"].as<int64_t>();
    s.model_tag = v["model-tag"].as<std::string>();
    s.device = v["device"].as<std::string>();
    s.dtype = v["dtype"].as<std::string>();
    s.seed = v["seed"].as<uint64_t>();
    s.optimizers = optimizers_;
    s.schedule.warmup_ratio = v["warmup-ratio"].as<double>();
    s.schedule.warmdown_ratio = v["warmdown-ratio"].as<double>();
    s.schedule.final_lr_frac = v["final-lr-frac"].as<double>();
    s.tokenizer = v["tokenizer"].as<std::string>();
    s.data_dir = v["data-dir"].as<std::string>();
    s.log_file = v["log-file"].as<std::string>();
    for (const auto& [name, value] : v) {
      const auto& any = value.value();
      if (any.type() == typeid(int64_t)) s.user_config[name] = boost::any_cast<int64_t>(any);
      else if (any.type() == typeid(uint64_t)) s.user_config[name] = boost::any_cast<uint64_t>(any);
      else if (any.type() == typeid(double)) s.user_config[name] = boost::any_cast<double>(any);
      else if (any.type() == typeid(std::string)) s.user_config[name] = boost::any_cast<std::string>(any);
    }
    pretrain::run(s, context.base_dir);
  }

 private:
  OptimizerChoice optimizers_;  // written by the options add_optimizer_options declared
};

}  // namespace
}  // namespace nanochat::pretrain

NANOCHAT_TENSOR_PLUGIN(NANOCHAT_KIND_STAGE, nanochat::Stage, nanochat::pretrain::PretrainStage, "pretrain", "0.1.0",
                       "base training of the GPT on token shards (nanochat base_train)")
