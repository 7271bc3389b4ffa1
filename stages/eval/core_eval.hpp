// `nanochat run eval --kind core`: nanochat's base_eval.py. Every CORE task whose data is
// there, items in nanochat's order and split across the ranks by stride, one line per task
// (accuracy, centered) and their mean; with squad and coqa absent it is CORE-20, not
// the 22-task score. Writes eval/<source>-core.json and the "Base model evaluation"
// report section.
#pragma once

#include "eval_options.hpp"

namespace nanochat::eval {

void run_core_eval(const EvalOptions& options);

}  // namespace nanochat::eval
