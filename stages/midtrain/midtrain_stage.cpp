// `nanochat run midtrain`: nanochat's mid_train.py. The base model continues on a task
// mixture whose conversations are rendered and packed into rows of T+1 tokens (every
// token trains), for one epoch, with the base learning rates held flat and decayed
// linearly over the last 20%; val bits-per-byte on the test splits; fresh optimizers.
#include <boost/program_options.hpp>

#include <ATen/ATen.h>

#include "nanochat/chat_data.hpp"
#include "nanochat/chat_training.hpp"
#include "nanochat/error.hpp"
#include "nanochat/log.hpp"
#include "nanochat/stage.hpp"
#include "nanochat/tensor_plugin.hpp"
#include "nanochat/token_shard.hpp"
#include "nanochat/train_settings.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace nanochat::midtrain {
namespace {

// nanochat renders every conversation with render_conversation's default cap before packing.
constexpr size_t kMaxConversationTokens = 2048;

std::vector<TokenId> concatenate(const std::vector<RenderedConversation>& conversations) {
  std::vector<TokenId> stream;
  for (const auto& c : conversations) stream.insert(stream.end(), c.ids.begin(), c.ids.end());
  return stream;
}

class MidtrainStage : public Stage {
 public:
  MidtrainStage() {
    train_.device_batch_size = 32;
    train_.eval_every = 150;
    chat_.source = "base";
    // nanochat's mixture and sizes with this project's stand-ins (plugins/tasks/README.md):
    // the chat sets for SmolTalk, ARC train + MMLU dev for MMLU's auxiliary_train.
    chat_.mixture = "oasst,hh-rlhf,alpaca,arc-easy,arc-challenge,mmlu:dev,gsm8k,identity*2,simple-spelling=200000,spellingbee=80000";
    chat_.val_mixture = "oasst:test,hh-rlhf:test,alpaca:test,mmlu:test[:5200],gsm8k:test[:420]";
  }

  void declare_options(po::options_description& o) override {
    o.add_options()
      ("total-batch-size", po::value(&total_batch_size_)->default_value(total_batch_size_), "tokens per optimizer step, all ranks")
      ("eval-tokens", po::value(&eval_tokens_)->default_value(eval_tokens_), "val tokens per evaluation");
    add_chat_training_options(o, chat_, train_);
  }

  void run(const po::variables_map& v, const StageContext& context) override {
    if (chat_.max_seq_len < 2) throw UsageError("--max-seq-len must be at least 2");
    if (total_batch_size_ % chat_.max_seq_len != 0) {
      throw UsageError("--total-batch-size " + std::to_string(total_batch_size_) + " must be a multiple of --max-seq-len " +
                       std::to_string(chat_.max_seq_len));
    }
    TrainProcess p = join_training_process(train_.device);
    ChatTrainingStart start = start_chat_training(context.base_dir, chat_.source, chat_.step, train_, Artifact::mid_checkpoints, p);
    GPT& model = *start.source.model;
    const Tokenizer& tokenizer = *start.source.tokenizer;
    OptimizerSet optimizers = make_optimizers(model, train_.optimizers, p.dist);

    PackedRows train(concatenate(render_task_mixture(chat_.mixture, "train", chat_.task_data_dir, train_.seed, tokenizer,
                                                     kMaxConversationTokens)),
                     chat_.max_seq_len, p.dist->rank(), p.dist->world_size(), p.device);
    const uint64_t val_rows_wanted = static_cast<uint64_t>(std::max<int64_t>(1, eval_tokens_ / chat_.max_seq_len));
    const PackedRows val(concatenate(render_task_mixture(chat_.val_mixture, "test", chat_.task_data_dir, train_.seed, tokenizer,
                                                         kMaxConversationTokens)),
                         chat_.max_seq_len, p.dist->rank(), p.dist->world_size(), p.device);
    const at::Tensor token_bytes = load_token_bytes_tensor(artifact_dir(Artifact::tokenizer, context.base_dir));

    TrainLoopSpec spec;
    spec.stage = "midtrain";
    spec.report_section = "Midtraining";
    spec.rows_per_step = total_batch_size_ / chat_.max_seq_len;
    spec.num_iterations = train_.num_iterations > 0 ? train_.num_iterations
                                                    : static_cast<int64_t>(train.rows()) / spec.rows_per_step;  // one epoch
    if (spec.num_iterations < 1) {
      throw UsageError("the mixture packs into " + std::to_string(train.rows()) + " rows, less than one step of " +
                       std::to_string(spec.rows_per_step) + ": lower --total-batch-size or add tasks");
    }
    spec.device_batch_size = train_.device_batch_size;
    spec.flops_per_token = static_cast<double>(model.config().flops_per_token());
    spec.schedule = LrSchedule{0.0, 0.2, 0.0};
    spec.checkpoint_dir = start.output_dir;
    spec.meta = chat_training_meta(start, chat_, v);
    spec.report = {{"source", chat_.source + " step " + std::to_string(start.source.checkpoint.step)},
                   {"mixture", chat_.mixture},
                   {"val mixture", chat_.val_mixture},
                   {"training tokens in the mixture", static_cast<int64_t>(train.tokens())},
                   {"rows of T+1 tokens", static_cast<int64_t>(train.rows())}};
    spec.evaluate = [&, val_batches = eval_batches(val, train_.device_batch_size, val_rows_wanted, p.dist->rank(), p.dist->world_size())] {
      return std::vector<std::pair<std::string, double>>{{"val_bpb", evaluate_token_losses(model, val_batches, token_bytes, *p.dist).bpb()}};
    };
    if (p.dist->is_main()) {
      log::info("midtrain: {} tokens in {} rows of {}; {} val rows", train.tokens(), train.rows(), chat_.max_seq_len + 1,
                std::min<uint64_t>(val.rows(), val_rows_wanted));
    }
    TrainLoop loop(train_, std::move(spec), p, model, optimizers, train);
    loop.resume_if_asked();
    loop.run();
  }

 private:
  TrainSettings train_;
  ChatTrainingOptions chat_;
  int64_t total_batch_size_ = 524288;
  int64_t eval_tokens_ = 20 * 524288;
};

}  // namespace
}  // namespace nanochat::midtrain

NANOCHAT_TENSOR_PLUGIN(NANOCHAT_KIND_STAGE, nanochat::Stage, nanochat::midtrain::MidtrainStage, "midtrain", "0.1.0",
                       "chat midtraining of the base model on a packed task mixture (nanochat mid_train)")
