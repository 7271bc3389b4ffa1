// `nanochat run rl`: nanochat's chat_rl.py with the algorithm a plugin (--algo grpo, ppo or
// any installed; sdk/include/nanochat/rl.hpp). From a chat checkpoint (sft by default),
// rollouts on a task with a reward (GSM8K by default), nanochat's defaults: 16 prompts ×
// 16 samples per step, 256 new tokens, temperature 1, top-k 50, the calculator on, the
// learning rates × 0.05 falling linearly to 0; pass@k every --eval-every steps;
// checkpoints to chatrl_checkpoints/<tag>/.
#include <boost/program_options.hpp>

#include "nanochat/chat_training.hpp"
#include "nanochat/engine.hpp"
#include "nanochat/error.hpp"
#include "nanochat/log.hpp"
#include "nanochat/plugin_registry.hpp"
#include "nanochat/rl.hpp"
#include "nanochat/stage.hpp"
#include "nanochat/task_eval.hpp"
#include "nanochat/tensor_plugin.hpp"
#include "rl_run.hpp"
#include "rl_settings.hpp"

namespace po = boost::program_options;

namespace nanochat::rl {
namespace {

void check_settings(const RlSettings& rl, const TrainSettings& train, int world_size) {
  if (rl.examples_per_step < 1 || rl.examples_per_step % world_size != 0) {
    throw UsageError("--examples-per-step " + std::to_string(rl.examples_per_step) + " must be a positive multiple of the " +
                     std::to_string(world_size) + " ranks");
  }
  if (rl.num_samples < 1) throw UsageError("--num-samples must be at least 1");
  if (rl.max_new_tokens < 1) throw UsageError("--max-new-tokens must be at least 1");
  if (!(rl.temperature >= 0)) throw UsageError("--temperature must be >= 0");
  if (rl.top_k < 0) throw UsageError("--top-k must be >= 0");
  if (rl.eval_samples < 1) throw UsageError("--eval-samples must be at least 1");
  if (train.device_batch_size < 1) throw UsageError("--device-batch-size must be at least 1");
}

// The tasks of a list, in order, each of which must have a reward.
TaskSequence open_reward_tasks(const std::string& list, const std::string& data_dir, const std::string& split) {
  TaskSequence tasks(open_tasks(parse_task_list(list), data_dir.empty() ? default_task_data_dir() : std::filesystem::path(data_dir), split));
  for (const TaskRef& part : tasks.parts()) {
    if (!part.task->has_evaluation()) {
      throw UsageError("task " + part.label() + " has no reward (it has no evaluation): RL needs a task that scores answers");
    }
  }
  if (tasks.size() == 0) throw UsageError("the tasks '" + list + "' have no examples");
  return tasks;
}

std::string options_text(const OptionValues& options) {
  std::string text;
  for (const auto& [name, value] : options) text += (text.empty() ? "" : " ") + name + "=" + format_option_value(value);
  return text;
}

class RlStage : public Stage {
 public:
  RlStage() {
    train_.device_batch_size = 8;
    train_.eval_every = 60;
    train_.save_every = 60;
    train_.init_lr_frac = 0.05;
  }

  void declare_options(po::options_description& o) override { add_rl_options(o, rl_, train_); }

  void run(const po::variables_map& v, const StageContext& context) override {
    TrainProcess p = join_training_process(train_.device);
    check_settings(rl_, train_, p.dist->world_size());

    std::shared_ptr<RlAlgorithm> algorithm = PluginRegistry::instance().create<RlAlgorithm>(PluginKind::rl, rl_.algo);
    const OptionValues algorithm_options = resolve_options(rl_.algo, algorithm->describe_options(), rl_.algo_options);
    algorithm->configure(algorithm_options);
    const RlNeeds needs = algorithm->needs();

    ChatTrainingStart start = start_chat_training(context.base_dir, rl_.source, rl_.source_step, train_, Artifact::chatrl_checkpoints, p);
    std::shared_ptr<GPT> model = start.source.model;
    OptimizerSet optimizers = make_optimizers(*model, train_.optimizers, p.dist);
    std::unique_ptr<ValueHead> value_head;
    if (needs.value_head) {
      value_head = std::make_unique<ValueHead>(model->config().n_embd, p.device);
      optimizers.optimizers.emplace_back("value-head", value_head_optimizer(*value_head, rl_.value_lr, p.dist));
    }
    std::shared_ptr<GPT> reference;
    if (needs.ref_logprobs) {
      // The frozen start model: the source checkpoint again, never trained.
      reference = start_chat_training(context.base_dir, rl_.source, start.source.checkpoint.step, train_,
                                      Artifact::chatrl_checkpoints, p).source.model;
      reference->eval();
      for (at::Tensor& param : reference->parameters()) param.requires_grad_(false);
    }

    const TaskSequence tasks = open_reward_tasks(rl_.task, rl_.task_data_dir, "train");
    const TaskSequence eval_tasks = open_reward_tasks(rl_.eval_task, rl_.task_data_dir, "test");
    if (eval_tasks.parts().size() != 1) throw UsageError("--eval-task names one task, not '" + rl_.eval_task + "'");

    Engine engine(model, start.source.tokenizer);
    RolloutSettings rollout;
    rollout.examples_per_rank = rl_.examples_per_step / p.dist->world_size();
    rollout.num_samples = rl_.num_samples;
    rollout.rows_per_pass = train_.device_batch_size;
    rollout.sampling = SamplingOptions{rl_.temperature, static_cast<int>(rl_.top_k), train_.seed, static_cast<int>(rl_.max_new_tokens)};
    rollout.max_prompt_tokens = prompt_token_limit(*model);
    RolloutSampler sampler(tasks, engine, rollout, p.dist->rank(), p.dist->world_size(), p.device);

    RlRunParts parts;
    parts.process = &p;
    parts.model = model;
    parts.reference = reference;
    parts.algorithm = algorithm;
    parts.algorithm_name = rl_.algo;
    parts.algorithm_options = algorithm_options;
    parts.optimizers = &optimizers;
    parts.value_head = value_head.get();
    parts.sampler = &sampler;
    parts.engine = &engine;
    parts.eval_task = eval_tasks.parts().front();
    parts.eval.problems = static_cast<size_t>(std::max<int64_t>(0, rl_.eval_examples));
    parts.eval.samples = rl_.eval_samples;
    parts.eval.rows_per_pass = train_.device_batch_size;
    parts.eval.sampling = rollout.sampling;
    parts.eval.max_prompt_tokens = rollout.max_prompt_tokens;
    parts.checkpoint_dir = start.output_dir;
    ChatTrainingOptions recorded;
    recorded.source = rl_.source;
    recorded.mixture = rl_.task;
    recorded.max_seq_len = static_cast<int64_t>(rollout.max_prompt_tokens) + rl_.max_new_tokens;
    parts.meta = chat_training_meta(start, recorded, v);
    parts.report = {{"source", rl_.source + " step " + std::to_string(start.source.checkpoint.step)},
                    {"algorithm", rl_.algo},
                    {"algorithm options", options_text(algorithm_options)},
                    {"task", rl_.task},
                    {"prompts per step", rl_.examples_per_step},
                    {"samples per prompt", rl_.num_samples},
                    {"max new tokens", rl_.max_new_tokens}};

    const int64_t num_steps = train_.num_iterations > 0 ? train_.num_iterations
                                                        : static_cast<int64_t>(tasks.size()) / rl_.examples_per_step;
    if (p.dist->is_main()) {
      log::info("rl: --algo {} ({}), {} steps of {} prompts × {} samples from {} examples", rl_.algo, options_text(algorithm_options),
                num_steps, rl_.examples_per_step, rl_.num_samples, tasks.size());
    }
    RlRun run(train_, num_steps, rl_.max_new_tokens, std::move(parts));
    run.resume_if_asked();
    run.run();
  }

 private:
  TrainSettings train_;
  RlSettings rl_;
};

}  // namespace
}  // namespace nanochat::rl

NANOCHAT_TENSOR_PLUGIN(NANOCHAT_KIND_STAGE, nanochat::Stage, nanochat::rl::RlStage, "rl", "0.1.0",
                       "reinforcement learning on a task's reward with an RL-algorithm plugin (nanochat chat_rl)")
