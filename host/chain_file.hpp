// Chain files (`nanochat chain FILE.ini`, the presets of `nanochat speedrun`): which steps
// run in which order, and what each step hands its stage.
//
//   [chain]
//   name = tiny          ; run folder $NANOCHAT_BASE_DIR/runs/<name> (default: the file name)
//   stages = tokenizer pretrain core-eval   ; step labels, run in this order
//   gpus = 8xH100        ; what the chain is sized for (--dry-run's default --gpus)
//   [pretrain]           ; one step's options; keys the chain itself reads:
//   stage = pretrain     ;   the stage plugin it runs (default: the label)
//   nproc = 8            ;   ranks, started by `nanochat launch` (default 1)
//   minutes = 7          ;   the step's time budget, for the chain's ETA
//   depth = 20           ; everything else goes to the stage
//   [pretrain.smoke]     ; with --smoke: these keys win over [pretrain]'s (tiny sizes for tests)
//   num-iterations = 2
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace nanochat::host {

struct ChainStep {
  std::string label;   // the INI section and done-marker name
  std::string stage;   // the stage plugin it runs
  int64_t nproc = 1;   // ranks
  double minutes = 0;  // time budget; 0 = none given
  bool has_smoke = false;  // the file has a [label.smoke] section
};

struct Chain {
  std::filesystem::path file;
  std::string name;
  std::string gpus;  // [chain] gpus, "" if not set
  std::vector<ChainStep> steps;
};

// Throws UsageError naming the file for an unreadable or malformed file, a label or chain
// name that is not a plain file name, or a bad nproc/minutes.
Chain read_chain(const std::filesystem::path& file);

// The config sections a step's stage reads, the first winning: [label.smoke] then [label]
// with `smoke`, else [label].
std::vector<std::string> step_sections(const ChainStep& step, bool smoke);

// The arguments after `nanochat` that run the step: "run STAGE --config FILE
// --config-section ...", behind "launch --nproc N --" when it has several ranks.
std::vector<std::string> step_command(const Chain& chain, const ChainStep& step, bool smoke);

// The steps to run: all of them, those from `from` on, or only `only` (labels). Throws
// UsageError listing the labels for an unknown one.
std::vector<ChainStep> select_steps(const Chain& chain, const std::string& from, const std::string& only);

}  // namespace nanochat::host
