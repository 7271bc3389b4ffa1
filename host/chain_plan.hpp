// `nanochat chain FILE --dry-run` / `speedrun --dry-run`: every step's resolved command line
// and options (the stage plugin parses them exactly as a real run would, defaults included),
// and for pretraining its parameters, tokens, FLOPs and the hours and dollars they take on
// the GPUs given (--gpus 8xH100), found (nvidia-smi) or named by the chain ([chain] gpus).
// Runs nothing and writes nothing.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "chain_file.hpp"

namespace nanochat::host {

struct PlanOptions {
  std::string gpus;           // "8xH100"; "" = the chain's, else nvidia-smi's, else none
  double assumed_mfu = 0.45;  // for hours: nanochat's d20 speedrun pretrains near it
  bool smoke = false;
};

void print_chain_plan(const Chain& chain, const std::vector<ChainStep>& steps, const PlanOptions& options,
                      std::ostream& out);

}  // namespace nanochat::host
