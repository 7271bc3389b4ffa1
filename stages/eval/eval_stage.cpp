// `nanochat run eval`: evaluates a checkpoint. --kind picks what: core (nanochat's
// base_eval: the CORE benchmark), bpb (base_loss: bits per byte on the token shards) or
// sample (base_loss: greedy completions of fixed prompts). Each kind is a function taking
// the common options; under `nanochat launch` the ranks share the work.
#include <boost/program_options.hpp>

#include <fmt/format.h>

#include <functional>
#include <map>

#include "bpb_eval.hpp"
#include "core_eval.hpp"
#include "nanochat/error.hpp"
#include "nanochat/stage.hpp"
#include "nanochat/tensor_plugin.hpp"
#include "sample_eval.hpp"

namespace po = boost::program_options;

namespace nanochat::eval {
namespace {

const std::map<std::string, std::function<void(const EvalOptions&)>>& kinds() {
  static const std::map<std::string, std::function<void(const EvalOptions&)>> table = {
      {"core", run_core_eval},
      {"bpb", run_bpb_eval},
      {"sample", run_sample_eval},
  };
  return table;
}

std::string kind_names() {
  std::string names;
  for (const auto& [name, run] : kinds()) names += (names.empty() ? "" : "|") + name;
  return names;
}

class EvalStage : public Stage {
 public:
  void declare_options(po::options_description& o) override {
    o.add_options()
      ("kind", po::value(&e_.kind)->default_value(e_.kind), ("what to evaluate: " + kind_names()).c_str())
      ("source", po::value(&e_.source)->default_value(e_.source), "the checkpoints to evaluate: base, mid, sft or rl")
      ("model-tag", po::value(&e_.model_tag)->default_value(e_.model_tag), "checkpoint folder, e.g. d20 (default: the one there is)")
      ("step", po::value(&e_.step)->default_value(e_.step), "checkpoint step (-1: the last)")
      ("max-problems", po::value(&e_.max_problems)->default_value(e_.max_problems), "core: items per task, the first after nanochat's shuffle (-1: all)")
      ("device-batch-size", po::value(&e_.device_batch_size)->default_value(e_.device_batch_size), "rows per forward pass")
      ("device", po::value(&e_.device)->default_value(e_.device), "auto, cpu, cuda or cuda:N")
      ("dtype", po::value(&e_.dtype)->default_value(e_.dtype), "auto (bf16 on CUDA, fp32 on the CPU), fp32 or bf16")
      ("data-dir", po::value(&e_.data_dir)->default_value(e_.data_dir), "core: the data folder holding eval_core/ and eval_hellaswag/ (default $NANOCHAT_DATA_DIR, then ../shared/data)")
      ("split-tokens", po::value(&e_.split_tokens)->default_value(e_.split_tokens), "bpb: tokens of each split, all ranks together");
  }

  void run(const po::variables_map&, const StageContext& context) override {
    const auto kind = kinds().find(e_.kind);
    if (kind == kinds().end()) throw UsageError(fmt::format("unknown --kind '{}': use {}", e_.kind, kind_names()));
    e_.base_dir = context.base_dir;
    kind->second(e_);
  }

 private:
  EvalOptions e_;
};

}  // namespace
}  // namespace nanochat::eval

NANOCHAT_TENSOR_PLUGIN(NANOCHAT_KIND_STAGE, nanochat::Stage, nanochat::eval::EvalStage, "eval", "0.1.0",
                       "evaluates a checkpoint: CORE, bits per byte, samples (nanochat base_eval, base_loss)")
