// `nanochat run eval --kind chat` (see chat_eval.hpp): loads the checkpoint on this rank's
// device, scores each task through nanochat/task_eval.hpp, adds up the ranks, and on rank 0
// writes the results.
#include "chat_eval.hpp"

#include <boost/program_options.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>

#include "chat_eval_results.hpp"
#include "chat_eval_tasks.hpp"
#include "nanochat/chat_model.hpp"
#include "nanochat/error.hpp"
#include "nanochat/gpt.hpp"
#include "nanochat/log.hpp"
#include "nanochat/train_loop.hpp"

namespace po = boost::program_options;

namespace nanochat::eval {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void check_options(const EvalOptions& o, const ChatEvalOptions& c) {
  if (o.device_batch_size < 1) throw UsageError("--device-batch-size must be at least 1");
  if (o.max_problems < -1 || o.max_problems == 0) throw UsageError("--max-problems must be at least 1 (-1: all)");
  if (c.num_samples < 1) throw UsageError("--num-samples must be at least 1");
  if (!(c.temperature >= 0.0) || !std::isfinite(c.temperature)) throw UsageError("--temperature must be a number ≥ 0");
  if (c.top_k < 0) throw UsageError("--top-k must be ≥ 0 (0: all tokens)");
  if (c.max_new_tokens < 1) throw UsageError("--max-new-tokens must be at least 1");
}

// Rank 0's progress on a task, at most every 10 seconds.
ScoreProgress progress_line(const std::string& label, bool main_rank) {
  if (!main_rank) return {};
  return [label, last = Clock::now()](const TaskScore& score) mutable {
    if (seconds_since(last) < 10.0) return;
    last = Clock::now();
    log::info("chat eval: {}: rank 0 so far {}/{} ({:.2f}%)", label, score.passed, score.total, 100 * score.accuracy());
  };
}

ReportItems report_options(const EvalOptions& o, const ChatEvalOptions& c, const ChatModel& loaded) {
  return {{"source", loaded.source},
          {"model tag", loaded.checkpoint.dir.filename().string()},
          {"step", loaded.checkpoint.step},
          {"tasks", o.tasks.empty() ? std::string("nanochat's six (default)") : o.tasks},
          {"max problems", o.max_problems < 0 ? ReportValue(std::string("all")) : ReportValue(o.max_problems)},
          {"num samples", static_cast<int64_t>(c.num_samples)},
          {"temperature", c.temperature},
          {"top k", static_cast<int64_t>(c.top_k)},
          {"max new tokens", static_cast<int64_t>(c.max_new_tokens)},
          {"device batch size", o.device_batch_size}};
}

ChatModel load_model(const EvalOptions& o, c10::Device device) {
  ChatModelOptions model;
  model.source = o.source;
  model.model_tag = o.model_tag;
  model.step = o.step;
  model.device = device.str();
  model.dtype = o.dtype;
  model.tokenizer = o.tokenizer;
  return load_chat_model(o.base_dir, model);
}

SamplingOptions sampling_of(const ChatEvalOptions& c) {
  SamplingOptions sampling;
  sampling.temperature = c.temperature;
  sampling.top_k = c.top_k;
  sampling.seed = c.seed;
  sampling.max_tokens = c.max_new_tokens;
  return sampling;
}

}  // namespace

void add_chat_eval_options(po::options_description& d, ChatEvalOptions& c) {
  d.add_options()
    ("num-samples", po::value(&c.num_samples)->default_value(c.num_samples), "completions per generative problem; it passes if any is right (pass@k)")
    ("temperature", po::value(&c.temperature)->default_value(c.temperature, "0"), "sampling temperature of generative tasks (0: greedy)")
    ("top-k", po::value(&c.top_k)->default_value(c.top_k), "sample among the k most likely tokens (0: all)")
    ("max-new-tokens", po::value(&c.max_new_tokens)->default_value(c.max_new_tokens), "tokens per completion at most")
    ("seed", po::value(&c.seed)->default_value(c.seed), "sampling seed (the same for every problem, as nanochat's)");
}

void run_chat_eval(const EvalOptions& options, const ChatEvalOptions& chat) {
  check_options(options, chat);
  const auto started = Clock::now();
  TrainProcess p = join_training_process(options.device);
  const bool main_rank = p.dist->is_main();
  if (main_rank && chat.num_samples > 1 && chat.temperature == 0.0) {
    log::warn("chat eval: --num-samples {} at --temperature 0 draws the same greedy completion {} times",
              chat.num_samples, chat.num_samples);
  }
  const std::vector<ChatEvalTask> tasks = open_chat_eval_tasks(options.tasks, options.data_dir, main_rank);

  const ChatModel loaded = load_model(options, p.device);
  GPT& model = *loaded.model;
  const Tokenizer& tokenizer = *loaded.tokenizer;
  Engine engine(loaded.model, loaded.tokenizer);
  const CompletionSource complete = engine_completions(engine, chat.num_samples, sampling_of(chat));
  const RankShare share{p.dist->rank(), p.dist->world_size()};
  if (main_rank) {
    log::info("chat eval: {} step {} from {} on {} ({} rank{})", loaded.source, loaded.checkpoint.step,
              loaded.checkpoint.dir.string(), p.device.str(), share.world_size, share.world_size == 1 ? "" : "s");
  }

  ChatEvalRun run;
  run.source = loaded.source;
  run.model_tag = loaded.checkpoint.dir.filename().string();
  run.step = loaded.checkpoint.step;
  run.max_problems = options.max_problems;
  run.num_samples = chat.num_samples;
  for (const ChatEvalTask& task : tasks) {
    const auto task_started = Clock::now();
    const size_t available = task.ref.size();
    const size_t problems = options.max_problems < 0 ? available
                                                     : std::min(available, static_cast<size_t>(options.max_problems));
    const EvalType type = task.ref.task->eval_type();
    const ScoreProgress progress = progress_line(task.label, main_rank);
    const TaskScore mine =
        type == EvalType::categorical
            ? evaluate_categorical(model, tokenizer, task.ref, problems, options.device_batch_size, share, progress)
            : evaluate_generative(task.ref, problems, tokenizer, complete, prompt_token_limit(model), share, progress);
    ChatTaskResult result{task.ref.task->name(), task.label, task.ref.split, type, sum_over_ranks(mine, *p.dist, p.device),
                          seconds_since(task_started)};
    if (main_rank) {
      log::info("chat eval: {} accuracy {:.2f}% ({}/{}, {}) in {:.1f}s", result.label, 100 * result.score.accuracy(),
                result.score.passed, result.score.total, eval_type_name(type), result.seconds);
    }
    run.tasks.push_back(std::move(result));
  }
  run.seconds = seconds_since(started);
  if (!main_rank) return;
  const auto file = write_chat_eval(options.base_dir, run, report_options(options, chat, loaded));
  std::cout << chat_eval_table(run) << std::flush;
  log::info("chat eval: results in {}", file.string());
}

}  // namespace nanochat::eval
