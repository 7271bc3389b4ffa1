// `nanochat run eval --kind bpb`: nanochat's base_loss.py without the samples: bits per
// byte of the model on --split-tokens tokens of the train and the val split of
// base_data/, in rows of the model's sequence length, summed across the ranks. Writes
// eval/<source>-bpb.json ({"summary": {"train bpb", "val bpb"}}) and, for the base model,
// the "Base model loss" report section.
#pragma once

#include "eval_common.hpp"

namespace nanochat::eval {

void run_bpb_eval(const EvalOptions& options);

}  // namespace nanochat::eval
