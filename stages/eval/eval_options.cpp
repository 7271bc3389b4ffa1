// The shared options of `nanochat run eval` (see eval_options.hpp).
#include "eval_options.hpp"

#include <boost/program_options.hpp>

namespace po = boost::program_options;

namespace nanochat::eval {

void add_eval_options(po::options_description& d, EvalOptions& o) {
  d.add_options()
    ("source", po::value(&o.source)->default_value(o.source), "checkpoints of base, mid, sft or rl (core, bpb, sample: base when not given; chat: the latest stage that has some)")
    ("model-tag", po::value(&o.model_tag)->default_value(o.model_tag), "checkpoint folder, e.g. d20 (default: the largest depth)")
    ("step", po::value(&o.step)->default_value(o.step), "checkpoint step (-1: the last one)")
    ("device", po::value(&o.device)->default_value(o.device), "auto, cpu, cuda, cuda:N (under `nanochat launch`, cuda means cuda:LOCAL_RANK)")
    ("dtype", po::value(&o.dtype)->default_value(o.dtype), "compute dtype: auto (bf16 on CUDA, fp32 on CPU), fp32, bf16")
    ("tokenizer", po::value(&o.tokenizer)->default_value(o.tokenizer), "tokenizer plugin (reads $NANOCHAT_BASE_DIR/tokenizer)")
    ("device-batch-size", po::value(&o.device_batch_size)->default_value(o.device_batch_size), "rows (prompts) per forward pass")
    ("max-problems", po::value(&o.max_problems)->default_value(o.max_problems), "problems per task at most (-1: all; core: the first after nanochat's shuffle)")
    ("tasks", po::value(&o.tasks)->default_value(o.tasks), "tasks, comma-separated (core: CORE labels, e.g. arc_easy,copa; chat: name[=arg][:split][[start:stop]], `nanochat tasks list`; default: the kind's own)")
    ("data-dir", po::value(&o.data_dir)->default_value(o.data_dir), "where the tasks read their data (default $NANOCHAT_DATA_DIR, then ../shared/data)");
}

}  // namespace nanochat::eval
