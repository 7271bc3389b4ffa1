// `nanochat run pretrain`: nanochat's base_train options (kebab-case), bound to Settings.
#include <boost/program_options.hpp>

#include "nanochat/stage.hpp"
#include "nanochat/tensor_plugin.hpp"
#include "pretrain_run.hpp"

namespace po = boost::program_options;

namespace nanochat::pretrain {
namespace {

class PretrainStage : public Stage {
 public:
  PretrainStage() {
    s_.train.device_batch_size = 32;
    s_.train.eval_every = 250;
  }

  void declare_options(po::options_description& o) override {
    o.add_options()
      ("depth", po::value(&s_.depth)->default_value(s_.depth), "layers; width is 64·depth (the one dial)")
      ("max-seq-len", po::value(&s_.max_seq_len)->default_value(s_.max_seq_len), "context length T")
      ("total-batch-size", po::value(&s_.total_batch_size)->default_value(s_.total_batch_size), "tokens per optimizer step, all ranks")
      ("target-flops", po::value(&s_.target_flops)->default_value(s_.target_flops), "training FLOPs when --num-iterations is -1 (-1: off)")
      ("target-param-data-ratio", po::value(&s_.target_param_data_ratio)->default_value(s_.target_param_data_ratio), "tokens per parameter when neither steps nor FLOPs are set (Chinchilla: 20)")
      ("eval-tokens", po::value(&s_.eval_tokens)->default_value(s_.eval_tokens), "val tokens per evaluation")
      ("sample-every", po::value(&s_.sample_every)->default_value(s_.sample_every), "steps between greedy samples (-1: off)")
      ("warmup-ratio", po::value(&s_.schedule.warmup_ratio)->default_value(s_.schedule.warmup_ratio), "fraction of steps warming the lr up")
      ("warmdown-ratio", po::value(&s_.schedule.warmdown_ratio)->default_value(s_.schedule.warmdown_ratio), "fraction of steps decaying the lr at the end")
      ("final-lr-frac", po::value(&s_.schedule.final_lr_frac)->default_value(s_.schedule.final_lr_frac), "lr multiplier at the last step")
      ("data-dir", po::value(&s_.data_dir)->default_value(s_.data_dir), "token shards (default $NANOCHAT_BASE_DIR/base_data)");
    add_train_options(o, s_.train);
  }

  void run(const po::variables_map& v, const StageContext& context) override {
    s_.user_config = options_as_json(v);
    pretrain::run(s_, context.base_dir);
  }

 private:
  Settings s_;
};

}  // namespace
}  // namespace nanochat::pretrain

NANOCHAT_TENSOR_PLUGIN(NANOCHAT_KIND_STAGE, nanochat::Stage, nanochat::pretrain::PretrainStage, "pretrain", "0.1.0",
                       "base training of the GPT on token shards (nanochat base_train)")
