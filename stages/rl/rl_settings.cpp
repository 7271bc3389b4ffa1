// The `rl` stage's options (see rl_settings.hpp).
#include "rl_settings.hpp"

#include <boost/program_options.hpp>

#include "nanochat/rl_options.hpp"

namespace po = boost::program_options;

namespace nanochat::rl {

void add_rl_options(po::options_description& o, RlSettings& rl, TrainSettings& train) {
  const std::string algo_option = std::string(kAlgoOptionFlag).substr(2);
  o.add_options()
    ("algo", po::value(&rl.algo)->default_value(rl.algo), "RL algorithm plugin: grpo, ppo or any installed (`nanochat plugins list`)")
    (algo_option.c_str(), po::value<std::vector<std::string>>()->value_name("KEY=VALUE")->notifier(
         [&rl](const std::vector<std::string>& texts) {
           rl.algo_options.clear();
           for (const std::string& text : texts) {
             const PluginOption option = parse_option_assignment(kAlgoOptionFlag, text);
             rl.algo_options[option.key] = option.value;
           }
         }),
     "an option of the algorithm, e.g. clip-low=0.2 (repeatable; `nanochat plugins info ALGO` lists them)")
    ("source", po::value(&rl.source)->default_value(rl.source), "the stage to start from: sft, mid or base")
    ("step", po::value(&rl.source_step)->default_value(rl.source_step), "its checkpoint step (-1: the last)")
    ("task", po::value(&rl.task)->default_value(rl.task), "training tasks with a reward: name[=arg][:split], comma-separated (`nanochat tasks list`)")
    ("eval-task", po::value(&rl.eval_task)->default_value(rl.eval_task), "the task of the pass@k evaluation")
    ("task-data-dir", po::value(&rl.task_data_dir)->default_value(rl.task_data_dir), "where the tasks read their data (default $NANOCHAT_DATA_DIR, then ../shared/data)")
    ("examples-per-step", po::value(&rl.examples_per_step)->default_value(rl.examples_per_step), "prompts per step, all ranks")
    ("num-samples", po::value(&rl.num_samples)->default_value(rl.num_samples), "samples per prompt")
    ("max-new-tokens", po::value(&rl.max_new_tokens)->default_value(rl.max_new_tokens), "tokens sampled per answer at most")
    ("temperature", po::value(&rl.temperature)->default_value(rl.temperature), "sampling temperature")
    ("top-k", po::value(&rl.top_k)->default_value(rl.top_k), "sample from the k likeliest tokens (0: all)")
    ("eval-examples", po::value(&rl.eval_examples)->default_value(rl.eval_examples), "problems of the pass@k evaluation")
    ("eval-samples", po::value(&rl.eval_samples)->default_value(rl.eval_samples), "samples per problem: pass@1 .. pass@this")
    ("value-lr", po::value(&rl.value_lr)->default_value(rl.value_lr), "AdamW lr of the value head (for algorithms that use one)");
  add_train_options(o, train);
}

}  // namespace nanochat::rl
