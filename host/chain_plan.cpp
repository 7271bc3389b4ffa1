// The dry run of a chain (see chain_plan.hpp).
#include "chain_plan.hpp"

#include <fmt/format.h>

#include <boost/any.hpp>

#include <cstdio>
#include <map>
#include <memory>

#include "nanochat/error.hpp"
#include "nanochat/gpt_config.hpp"
#include "nanochat/gpu_table.hpp"
#include "nanochat/plugin_registry.hpp"
#include "nanochat/schedule.hpp"
#include "nanochat/stage.hpp"
#include "stage_options.hpp"

namespace po = boost::program_options;

namespace nanochat::host {
namespace {

// An option's value as the command line would write it; "?" for a type not listed here.
std::string value_text(const boost::any& value) {
  if (const auto* v = boost::any_cast<std::string>(&value)) return *v;
  if (const auto* v = boost::any_cast<int64_t>(&value)) return std::to_string(*v);
  if (const auto* v = boost::any_cast<int>(&value)) return std::to_string(*v);
  if (const auto* v = boost::any_cast<uint64_t>(&value)) return std::to_string(*v);
  if (const auto* v = boost::any_cast<unsigned>(&value)) return std::to_string(*v);
  if (const auto* v = boost::any_cast<double>(&value)) return fmt::format("{}", *v);
  if (const auto* v = boost::any_cast<float>(&value)) return fmt::format("{}", *v);
  if (const auto* v = boost::any_cast<bool>(&value)) return *v ? "true" : "false";
  if (const auto* v = boost::any_cast<std::vector<std::string>>(&value)) {
    std::string joined;
    for (const std::string& item : *v) joined += (joined.empty() ? "" : ",") + item;
    return joined;
  }
  return "?";
}

double number(const po::variables_map& vm, const std::string& key, double fallback) {
  if (!vm.count(key)) return fallback;
  const std::string text = value_text(vm[key].value());
  try {
    return std::stod(text);
  } catch (const std::exception&) {
    return fallback;
  }
}

std::string with_commas(int64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string hours_text(double hours) {
  const int64_t minutes = static_cast<int64_t>(hours * 60 + 0.5);
  return fmt::format("{}h{:02d}m", minutes / 60, minutes % 60);
}

// The step's options as its stage resolves them (the stage plugin is loaded, not run).
po::variables_map resolve_options(const Chain& chain, const ChainStep& step, bool smoke) {
  std::shared_ptr<Stage> stage = PluginRegistry::instance().create<Stage>(PluginKind::stage, step.stage);
  po::options_description options;
  stage->declare_options(options);
  std::vector<std::string> args = {"--config", chain.file.string()};
  for (const std::string& section : step_sections(step, smoke)) args.insert(args.end(), {"--config-section", section});
  return parse_stage_command_line(options, args, step.stage).values;
}

// The GPUs the plan is for: --gpus, else the chain's, else what nvidia-smi lists.
std::string planned_gpus(const Chain& chain, const PlanOptions& options) {
  if (!options.gpus.empty()) return options.gpus;
  if (!chain.gpus.empty()) return chain.gpus;
  std::map<std::string, int64_t> found;
  if (FILE* pipe = popen("nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null", "r")) {
    char line[256];
    while (fgets(line, sizeof line, pipe)) {
      std::string name(line);
      while (!name.empty() && (name.back() == '\n' || name.back() == ' ')) name.pop_back();
      if (!name.empty()) ++found[name];
    }
    pclose(pipe);
  }
  if (found.empty()) return "";
  return std::to_string(found.begin()->second) + "x" + found.begin()->first;
}

struct StepCost {
  double hours = 0;
  double dollars = 0;
};

// Pretraining's size and cost: the horizon, as the pretrain stage derives it.
StepCost print_pretrain_plan(const po::variables_map& vm, int64_t vocab_size, const ChainStep& step,
                             const std::string& gpus, const PlanOptions& options, std::ostream& out) {
  const auto depth = static_cast<int64_t>(number(vm, "depth", 20));
  const auto seq_len = static_cast<int64_t>(number(vm, "max-seq-len", 2048));
  const auto total_batch = static_cast<int64_t>(number(vm, "total-batch-size", 524288));
  const auto device_batch = static_cast<int64_t>(number(vm, "device-batch-size", 32));
  const GPTConfig config = GPTConfig::from_depth(depth, vocab_size, seq_len);
  TrainingHorizon horizon;
  horizon.num_iterations = static_cast<int64_t>(number(vm, "num-iterations", -1));
  horizon.target_flops = number(vm, "target-flops", -1);
  horizon.target_param_data_ratio = number(vm, "target-param-data-ratio", 20);
  const int64_t params = config.num_params();
  const int64_t steps = training_steps(horizon, params, config.flops_per_token(), total_batch);
  const double tokens = static_cast<double>(steps) * static_cast<double>(total_batch);
  const double flops = tokens * static_cast<double>(config.flops_per_token());
  const int64_t per_pass = device_batch * seq_len * step.nproc;
  out << fmt::format("  model: depth {}, vocab {}, {} parameters, {} FLOPs/token\n", depth, with_commas(vocab_size),
                     with_commas(params), with_commas(config.flops_per_token()));
  out << fmt::format("  data: {} steps x {} tokens = {:.2f}B tokens ({:.1f} per parameter), {} accumulation step(s)\n",
                     with_commas(steps), with_commas(total_batch), tokens / 1e9, tokens / static_cast<double>(params),
                     per_pass > 0 && total_batch % per_pass == 0 ? std::to_string(total_batch / per_pass)
                                                                 : "no whole number of");
  StepCost cost;
  if (gpus.empty()) {
    out << fmt::format("  compute: {:.3e} FLOPs (no GPUs given or found: pass --gpus 8xH100 for hours)\n", flops);
    return cost;
  }
  const GpuSet set = parse_gpu_set(gpus);
  const double peak = gpu_peak_flops_from_table(set.name);
  if (peak <= 0) {
    out << fmt::format("  compute: {:.3e} FLOPs (no peak known for '{}')\n", flops, set.name);
    return cost;
  }
  cost.hours = flops / (static_cast<double>(set.count) * peak * options.assumed_mfu) / 3600.0;
  cost.dollars = cost.hours * static_cast<double>(set.count) * gpu_hourly_price(set.name);
  out << fmt::format("  compute: {:.3e} FLOPs, {} on {} at {:.0f}% MFU", flops, hours_text(cost.hours), gpus,
                     100 * options.assumed_mfu);
  if (cost.dollars > 0) out << fmt::format(", about ${:.0f} at ${:.0f}/GPU-hour", cost.dollars, gpu_hourly_price(set.name));
  out << "\n";
  if (static_cast<int64_t>(set.count) != step.nproc) {
    out << fmt::format("  note: the step runs {} rank(s) but the plan is for {} GPUs\n", step.nproc, set.count);
  }
  return cost;
}

}  // namespace

void print_chain_plan(const Chain& chain, const std::vector<ChainStep>& steps, const PlanOptions& options,
                      std::ostream& out) {
  const std::string gpus = planned_gpus(chain, options);
  if (!gpus.empty()) parse_gpu_set(gpus);  // a malformed --gpus fails before anything is printed
  out << "chain " << chain.name << " (" << chain.file.string() << "): " << steps.size() << " step(s)"
      << (options.smoke ? ", smoke sizes" : "") << ", planned for " << (gpus.empty() ? "no GPUs" : gpus) << "\n";
  int64_t vocab_size = 65536;  // nanochat's tokenizer default, until a tokenizer step says otherwise
  StepCost total;
  double budget_minutes = 0;
  for (const ChainStep& step : chain.steps) {
    const po::variables_map vm = resolve_options(chain, step, options.smoke);
    if (step.stage == "tokenizer") vocab_size = static_cast<int64_t>(number(vm, "vocab-size", 65536));
    size_t position = 0;
    while (position < steps.size() && steps[position].label != step.label) ++position;
    if (position == steps.size()) continue;  // not selected (--from/--only), but its vocab counts
    out << fmt::format("\nstep {}/{} {} (stage {}{})\n  nanochat", position + 1, steps.size(), step.label, step.stage,
                       step.nproc > 1 ? fmt::format(", {} ranks", step.nproc) : "");
    for (const std::string& arg : step_command(chain, step, options.smoke)) out << " " << arg;
    out << "\n  options:";
    for (const auto& [key, value] : vm) {
      if (key == "config" || key == "config-section" || key == "help") continue;
      out << " --" << key << "=" << value_text(value.value());
    }
    out << "\n";
    if (step.minutes > 0) {
      out << fmt::format("  budget: {} min\n", step.minutes);
      budget_minutes += step.minutes;
    }
    if (step.stage == "pretrain") {
      const StepCost cost = print_pretrain_plan(vm, vocab_size, step, gpus, options, out);
      total.hours += cost.hours;
      total.dollars += cost.dollars;
    }
  }
  out << "\nestimated: pretraining " << (total.hours > 0 ? hours_text(total.hours) : "-");
  if (total.dollars > 0) out << fmt::format(" (about ${:.0f})", total.dollars);
  out << "; the other stages are sized by their data and not estimated";
  if (budget_minutes > 0) out << fmt::format("; the chain's budgets add up to {} min", budget_minutes);
  out << "\n";
}

}  // namespace nanochat::host
