// The CORE evaluation over all tasks (see core_eval.hpp).
#include "core_eval.hpp"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <set>

#include "core_prompts.hpp"
#include "core_scoring.hpp"
#include "core_tasks.hpp"
#include "eval_common.hpp"
#include "nanochat/error.hpp"
#include "nanochat/gpt.hpp"
#include "nanochat/log.hpp"
#include "nanochat/report.hpp"
#include "nanochat/task.hpp"

namespace fs = std::filesystem;

namespace nanochat::eval {
namespace {

struct TaskResult {
  const CoreTaskSpec* spec;
  size_t items = 0;
  int64_t correct = 0;
  double accuracy = 0, centered = 0, random_baseline = 0;
  double seconds = 0;  // loading, rendering and scoring the task's items, as base_eval times a task
};

// Items rank, rank + world, ... of the task, as core_eval.evaluate_task strides them; the
// count of correct ones summed over the ranks.
int64_t count_correct(const CoreTaskSpec& spec, const std::vector<CoreItem>& items, EvalRun& run,
                      int64_t max_rows) {
  const Tokenizer& tokenizer = *run.model.tokenizer;
  const TokenId bos = tokenizer.special_id(special_tokens::bos);
  Distributed& dist = *run.process.dist;
  int64_t correct = 0;
  {
    c10::InferenceMode inference;  // not around the all-reduce: Gloo's threads run outside it
    for (size_t i = static_cast<size_t>(dist.rank()); i < items.size(); i += static_cast<size_t>(dist.world_size())) {
      const SequenceScores scores = score_sequences(*run.model.model, prepare_core_item(spec, items, i, tokenizer), bos, max_rows);
      correct += core_item_correct(spec.type, scores, items[i].gold) ? 1 : 0;
    }
  }
  at::Tensor total = at::full({1}, static_cast<double>(correct), at::TensorOptions().dtype(at::kDouble).device(run.process.device));
  dist.all_reduce_sum(total);
  return static_cast<int64_t>(total.item<double>());
}

// --tasks as CORE labels; empty: all. Throws UsageError naming an unknown label.
std::set<std::string> chosen_tasks(const std::string& list) {
  std::set<std::string> chosen;
  for (size_t at = 0; at < list.size();) {
    const size_t comma = std::min(list.find(',', at), list.size());
    if (comma > at) chosen.insert(list.substr(at, comma - at));
    at = comma + 1;
  }
  for (const std::string& label : chosen) {
    const auto& table = core_task_table();
    if (std::none_of(table.begin(), table.end(), [&](const CoreTaskSpec& s) { return label == s.label; })) {
      std::vector<std::string> labels;
      for (const CoreTaskSpec& s : table) labels.emplace_back(s.label);
      throw UsageError(fmt::format("unknown CORE task '{}' in --tasks: use {}", label, fmt::join(labels, ",")));
    }
  }
  return chosen;
}

std::string summary_name(size_t tasks) { return tasks == core_task_table().size() ? "CORE" : fmt::format("CORE-{}", tasks); }

void write_results(const EvalOptions& options, const EvalRun& run, const std::vector<TaskResult>& results,
                   const std::vector<std::string>& missing, double core, const fs::path& data_dir) {
  nlohmann::json tasks = nlohmann::json::array();
  for (const TaskResult& r : results) {
    tasks.push_back({{"name", r.spec->label}, {"label", r.spec->label}, {"accuracy", r.accuracy},
                     {"centered", r.centered}, {"items", r.items}, {"correct", r.correct},
                     {"shots", r.spec->shots}, {"type", core_task_type_name(r.spec->type)},
                     {"random_baseline", r.random_baseline}, {"seconds", r.seconds}});
  }
  const std::string name = summary_name(results.size());
  const fs::path file = write_eval_result(
      options, run,
      {{"tasks", tasks}, {"summary", {{name, core}}}, {"missing_tasks", missing}, {"data_dir", data_dir.string()}});
  log::info("core: results in {}", file.string());
  if (run.model.source != "base") return;  // nanochat's section is the base model's
  ReportItems items = {{"Model", run.model_name()}, {name + " metric", core}};
  if (!missing.empty()) items.emplace_back("tasks missing from the data", fmt::format("{}", fmt::join(missing, ", ")));
  for (const TaskResult& r : results) items.emplace_back(r.spec->label, r.centered);
  write_report_section(options.base_dir, "Base model evaluation", items);
}

}  // namespace

void run_core_eval(const EvalOptions& options) {
  if (options.device_batch_size < 1) throw UsageError("--device-batch-size must be at least 1");
  const fs::path data_dir = options.data_dir.empty() ? default_task_data_dir() : fs::path(options.data_dir);
  if (!fs::is_directory(data_dir / "eval_core")) {
    throw Error(fmt::format("no CORE data in {}: expected eval_core/ and eval_hellaswag/ there (the shared data "
                            "folder); set --data-dir or NANOCHAT_DATA_DIR",
                            data_dir.string()));
  }
  const std::map<std::string, double> baselines = load_random_baselines(data_dir / "eval_core" / "eval_meta_data.csv");
  const std::set<std::string> chosen = chosen_tasks(options.tasks);
  std::vector<std::pair<const CoreTaskSpec*, std::vector<fs::path>>> tasks;
  std::vector<std::string> missing;
  for (const CoreTaskSpec& spec : core_task_table()) {
    if (!chosen.empty() && !chosen.count(spec.label)) continue;
    std::vector<fs::path> files = core_task_files(data_dir, spec);
    if (files.empty() && spec.optional && chosen.empty()) {
      missing.emplace_back(spec.label);
    } else if (files.empty()) {
      throw Error(fmt::format("no data for the CORE task {} in {} (eval_core/eval_data/{})", spec.label,
                              data_dir.string(), spec.file));
    } else if (!baselines.count(spec.label)) {
      throw Error(fmt::format("{}: no random baseline for {}", (data_dir / "eval_core" / "eval_meta_data.csv").string(),
                              spec.label));
    } else {
      tasks.emplace_back(&spec, std::move(files));
    }
  }

  for (const auto& [spec, files] : tasks) {
    if (options.max_problems >= 0 && options.max_problems < spec->shots + 1) {
      throw UsageError(fmt::format("{}-shot prompts need at least {} items per task, --max-problems keeps {}: raise it",
                                   spec->shots, spec->shots + 1, options.max_problems));
    }
  }

  EvalRun run = start_eval(options);
  if (run.is_main()) {
    log::info("core: {} on {} rank(s), {} tasks, {} items per task", run.model_name(), run.process.dist->world_size(),
              tasks.size(), options.max_problems < 0 ? std::string("all") : std::to_string(options.max_problems));
  }
  std::vector<TaskResult> results;
  double centered_sum = 0;
  for (const auto& [spec, files] : tasks) {
    const auto task_start = std::chrono::steady_clock::now();
    const std::vector<CoreItem> items = load_core_items(files, spec->type, options.max_problems);
    TaskResult r{spec, items.size()};
    r.correct = count_correct(*spec, items, run, options.device_batch_size);
    r.accuracy = static_cast<double>(r.correct) / static_cast<double>(r.items);
    r.random_baseline = baselines.at(spec->label);
    r.centered = centered_accuracy(r.accuracy, r.random_baseline);
    centered_sum += r.centered;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - task_start).count();
    results.push_back(r);
    if (run.is_main()) {
      fmt::print("{:<34} accuracy {:.4f} | centered {:>7.4f} | {:>5} items, {}-shot {} | {:.1f}s\n", spec->label,
                 r.accuracy, r.centered, r.items, spec->shots, core_task_type_name(spec->type), r.seconds);
      std::fflush(stdout);
    }
  }
  const double core = centered_sum / static_cast<double>(results.size());
  if (!run.is_main()) return;
  if (results.size() == core_task_table().size()) {
    fmt::print("CORE: {:.4f} (mean centered accuracy of all {} tasks)\n", core, results.size());
  } else {
    fmt::print("{}: {:.4f} (mean centered accuracy of the {} tasks in {}; not the {}-task CORE score: {})\n",
               summary_name(results.size()), core, results.size(), data_dir.string(), core_task_table().size(),
               missing.empty() ? std::string("--tasks chose them") : fmt::format("{} missing", fmt::join(missing, ", ")));
  }
  write_results(options, run, results, missing, core, data_dir);
}

}  // namespace nanochat::eval
