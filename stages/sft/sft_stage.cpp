// `nanochat run sft`: nanochat's chat_sft.py. One conversation per row, padded to the
// longest row of the micro-batch; the loss counts only what the assistant is trained to
// say (the render mask: its text, its tool calls and <|assistant_end|>). One epoch of
// --target-examples-per-step conversations per step, the learning rates × 0.02 falling
// linearly to 0, val loss on the test splits; fresh optimizers.
#include <boost/program_options.hpp>

#include "nanochat/chat_data.hpp"
#include "nanochat/chat_training.hpp"
#include "nanochat/error.hpp"
#include "nanochat/log.hpp"
#include "nanochat/stage.hpp"
#include "nanochat/tensor_plugin.hpp"
#include "nanochat/train_settings.hpp"

namespace po = boost::program_options;

namespace nanochat::sft {
namespace {

class SftStage : public Stage {
 public:
  SftStage() {
    train_.device_batch_size = 4;
    train_.eval_every = 100;
    train_.init_lr_frac = 0.02;
    chat_.source = "mid";
    // nanochat's SFT mixture with this project's stand-ins for SmolTalk (plugins/tasks/README.md).
    chat_.mixture = "arc-easy,arc-challenge,gsm8k,oasst,hh-rlhf,alpaca,identity,simple-spelling=300,spellingbee=300";
    chat_.val_mixture = "oasst:test,hh-rlhf:test,alpaca:test";  // SmolTalk test in nanochat
  }

  void declare_options(po::options_description& o) override {
    o.add_options()
      ("target-examples-per-step", po::value(&examples_per_step_)->default_value(examples_per_step_), "conversations per optimizer step, all ranks")
      ("eval-examples", po::value(&eval_examples_)->default_value(eval_examples_), "val conversations per evaluation");
    add_chat_training_options(o, chat_, train_);
  }

  void run(const po::variables_map& v, const StageContext& context) override {
    if (chat_.max_seq_len < 2) throw UsageError("--max-seq-len must be at least 2");
    TrainProcess p = join_training_process(train_.device);
    ChatTrainingStart start = start_chat_training(context.base_dir, chat_.source, chat_.step, train_, Artifact::chatsft_checkpoints, p);
    GPT& model = *start.source.model;
    const Tokenizer& tokenizer = *start.source.tokenizer;
    OptimizerSet optimizers = make_optimizers(model, train_.optimizers, p.dist);

    // A row holds T inputs and T targets: T + 1 tokens of the conversation.
    const size_t row_tokens = static_cast<size_t>(chat_.max_seq_len) + 1;
    const TokenId pad = tokenizer.special_id(special_tokens::assistant_end);
    PaddedRows train(render_task_mixture(chat_.mixture, "train", chat_.task_data_dir, train_.seed, tokenizer, row_tokens), pad,
                     p.dist->rank(), p.dist->world_size(), p.device);
    const PaddedRows val(render_task_mixture(chat_.val_mixture, "test", chat_.task_data_dir, train_.seed, tokenizer, row_tokens,
                                             static_cast<size_t>(std::max<int64_t>(1, eval_examples_))),
                         pad, p.dist->rank(), p.dist->world_size(), p.device);
    const at::Tensor token_bytes = load_token_bytes_tensor(artifact_dir(Artifact::tokenizer, context.base_dir));

    TrainLoopSpec spec;
    spec.stage = "sft";
    spec.report_section = "Chat SFT";
    spec.rows_per_step = examples_per_step_;
    spec.num_iterations = train_.num_iterations > 0 ? train_.num_iterations : static_cast<int64_t>(train.rows()) / examples_per_step_;
    if (spec.num_iterations < 1) {
      throw UsageError("the mixture has " + std::to_string(train.rows()) + " conversations, less than one step of " +
                       std::to_string(examples_per_step_) + ": lower --target-examples-per-step or add tasks");
    }
    spec.device_batch_size = train_.device_batch_size;
    spec.flops_per_token = static_cast<double>(model.config().flops_per_token());
    spec.schedule = LrSchedule{0.0, 1.0, 0.0};  // lrm = 1 - step/steps
    spec.checkpoint_dir = start.output_dir;
    spec.meta = chat_training_meta(start, chat_, v);
    spec.report = {{"source", chat_.source + " step " + std::to_string(start.source.checkpoint.step)},
                   {"mixture", chat_.mixture},
                   {"val mixture", chat_.val_mixture},
                   {"conversations", static_cast<int64_t>(train.rows())},
                   {"conversations per step", examples_per_step_}};
    spec.evaluate = [&, val_batches = eval_batches(val, train_.device_batch_size, val.rows(), p.dist->rank(), p.dist->world_size())] {
      const TokenLossTotals totals = evaluate_token_losses(model, val_batches, token_bytes, *p.dist);
      return std::vector<std::pair<std::string, double>>{{"val_loss", totals.mean_loss()}, {"val_bpb", totals.bpb()}};
    };
    if (p.dist->is_main()) {
      log::info("sft: {} conversations ({} left out: nothing to train on within {} tokens), {} val conversations",
                train.rows(), train.dropped(), row_tokens, val.rows());
    }
    TrainLoop loop(train_, std::move(spec), p, model, optimizers, train);
    loop.resume_if_asked();
    loop.run();
  }

 private:
  TrainSettings train_;
  ChatTrainingOptions chat_;
  int64_t examples_per_step_ = 32;
  int64_t eval_examples_ = 3200;
};

}  // namespace
}  // namespace nanochat::sft

NANOCHAT_TENSOR_PLUGIN(NANOCHAT_KIND_STAGE, nanochat::Stage, nanochat::sft::SftStage, "sft", "0.1.0",
                       "supervised fine-tuning on padded conversations, loss on the assistant's tokens (nanochat chat_sft)")
