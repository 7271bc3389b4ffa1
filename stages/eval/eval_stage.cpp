// `nanochat run eval`: the evaluations of a checkpoint, one --kind per nanochat script —
// core is scripts/base_eval.py (the CORE benchmark, core_eval.hpp), bpb and sample are
// scripts/base_loss.py (bits per byte, bpb_eval.hpp; greedy samples, sample_eval.hpp), chat
// is scripts/chat_eval.py (chat_eval.hpp). The options every kind shares are one struct
// (eval_options.hpp); a kind adds its own.
#include <boost/program_options.hpp>

#include "bpb_eval.hpp"
#include "chat_eval.hpp"
#include "core_eval.hpp"
#include "eval_options.hpp"
#include "nanochat/error.hpp"
#include "nanochat/stage.hpp"
#include "nanochat/tensor_plugin.hpp"
#include "sample_eval.hpp"

namespace po = boost::program_options;

namespace nanochat::eval {
namespace {

class EvalStage : public Stage {
 public:
  void declare_options(po::options_description& o) override {
    o.add_options()("kind", po::value(&options_.kind)->default_value(options_.kind),
                    "what to evaluate: core (nanochat's base_eval), bpb or sample (its base_loss), chat (its chat_eval)");
    add_eval_options(o, options_);
    add_bpb_options(o, bpb_);
    add_chat_eval_options(o, chat_);
  }

  void run(const po::variables_map&, const StageContext& context) override {
    options_.base_dir = context.base_dir;
    if (options_.kind == "core") return run_core_eval(options_);
    if (options_.kind == "bpb") return run_bpb_eval(options_, bpb_);
    if (options_.kind == "sample") return run_sample_eval(options_);
    if (options_.kind == "chat") return run_chat_eval(options_, chat_);
    throw UsageError("unknown --kind '" + options_.kind + "': expected core, bpb, sample or chat");
  }

 private:
  EvalOptions options_;
  BpbOptions bpb_;
  ChatEvalOptions chat_;
};

}  // namespace
}  // namespace nanochat::eval

NANOCHAT_TENSOR_PLUGIN(NANOCHAT_KIND_STAGE, nanochat::Stage, nanochat::eval::EvalStage, "eval", "0.1.0",
                       "evaluates a checkpoint: --kind core (CORE, nanochat's base_eval), bpb and sample (its base_loss), chat (its chat_eval: ARC, MMLU, GSM8K, HumanEval, SpellingBee, ChatCORE)")
