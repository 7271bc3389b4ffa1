// `nanochat run eval --kind sample`: the samples of nanochat's base_loss.py: each fixed
// prompt (sample_prompts.hpp) completed greedily by 16 tokens, on rank 0. Writes
// eval/<source>-sample.json ({"samples": ["prompt + completion", ...]}) and, for the base
// model, the "Base model loss" report section.
#pragma once

#include "eval_options.hpp"

namespace nanochat::eval {

void run_sample_eval(const EvalOptions& options);

}  // namespace nanochat::eval
