// Reading chain files and turning their steps into command lines (see chain_file.hpp).
#include "chain_file.hpp"

#include <boost/program_options.hpp>

#include <fstream>
#include <map>
#include <sstream>

#include "nanochat/error.hpp"

namespace fs = std::filesystem;
namespace po = boost::program_options;

namespace nanochat::host {
namespace {

// A chain name names the run folder under runs/, a step label the done marker inside it: each
// must be one plain file name, so that no chain file can make nanochat write elsewhere. A
// label names an INI section too, where a '.' would start a subsection ([label.smoke]).
void require_plain_name(const fs::path& file, const std::string& what, const std::string& name, bool is_label) {
  const bool plain = !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
                     name.find('\0') == std::string::npos && !(is_label && name.find('.') != std::string::npos);
  if (!plain) {
    throw UsageError(file.string() + ": " + what + " '" + name + "' must be a plain name (no '/'" +
                     (is_label ? " or '.'" : ", not '.' or '..'") + "), since it names a file in the run folder");
  }
}

double number_of(const fs::path& file, const std::string& key, const std::string& text) {
  try {
    size_t used = 0;
    const double value = std::stod(text, &used);
    if (used == text.size() && value >= 0) return value;
  } catch (const std::exception&) {
  }
  throw UsageError(file.string() + ": " + key + " = '" + text + "' is not a non-negative number");
}

}  // namespace

Chain read_chain(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw UsageError("cannot read chain file " + file.string());
  po::options_description none;
  std::map<std::string, std::string> keys;
  try {
    for (const auto& option : po::parse_config_file(in, none, true).options) {
      keys[option.string_key] = option.value.empty() ? "" : option.value.front();
    }
  } catch (const po::error& e) {
    throw UsageError(file.string() + ": " + e.what());
  }
  Chain chain;
  chain.file = file;
  chain.name = keys.count("chain.name") ? keys["chain.name"] : file.stem().string();
  require_plain_name(file, "chain name", chain.name, false);
  chain.gpus = keys.count("chain.gpus") ? keys["chain.gpus"] : "";
  std::string list = keys["chain.stages"];
  for (char& c : list) {
    if (c == ',') c = ' ';
  }
  std::istringstream words(list);
  for (std::string label; words >> label;) {
    require_plain_name(file, "step label", label, true);
    ChainStep step;
    step.label = label;
    step.stage = keys.count(label + ".stage") ? keys[label + ".stage"] : label;
    if (keys.count(label + ".nproc")) {
      step.nproc = static_cast<int64_t>(number_of(file, "[" + label + "] nproc", keys[label + ".nproc"]));
      if (step.nproc < 1) throw UsageError(file.string() + ": [" + label + "] nproc must be at least 1");
    }
    if (keys.count(label + ".minutes")) step.minutes = number_of(file, "[" + label + "] minutes", keys[label + ".minutes"]);
    const std::string smoke_prefix = label + ".smoke.";
    for (const auto& entry : keys) step.has_smoke |= entry.first.rfind(smoke_prefix, 0) == 0;
    chain.steps.push_back(step);
  }
  if (chain.steps.empty()) throw UsageError(file.string() + ": [chain] needs `stages = step1 step2 ...`");
  return chain;
}

std::vector<std::string> step_sections(const ChainStep& step, bool smoke) {
  if (smoke && step.has_smoke) return {step.label + ".smoke", step.label};
  return {step.label};
}

std::vector<std::string> step_command(const Chain& chain, const ChainStep& step, bool smoke) {
  std::vector<std::string> args;
  if (step.nproc > 1) args = {"launch", "--nproc", std::to_string(step.nproc), "--"};
  args.insert(args.end(), {"run", step.stage, "--config", fs::absolute(chain.file).string()});
  for (const std::string& section : step_sections(step, smoke)) args.insert(args.end(), {"--config-section", section});
  return args;
}

std::vector<ChainStep> select_steps(const Chain& chain, const std::string& from, const std::string& only) {
  if (!from.empty() && !only.empty()) throw UsageError("give --from or --only, not both");
  const std::string& wanted = from.empty() ? only : from;
  if (wanted.empty()) return chain.steps;
  for (size_t i = 0; i < chain.steps.size(); ++i) {
    if (chain.steps[i].label != wanted) continue;
    if (!only.empty()) return {chain.steps[i]};
    return {chain.steps.begin() + static_cast<std::ptrdiff_t>(i), chain.steps.end()};
  }
  std::string labels;
  for (const ChainStep& step : chain.steps) labels += (labels.empty() ? "" : ", ") + step.label;
  throw UsageError("chain " + chain.name + " has no step '" + wanted + "' (its steps: " + labels + ")");
}

}  // namespace nanochat::host
