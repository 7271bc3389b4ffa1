// `nanochat run eval --kind bpb`: nanochat's base_loss.py without the samples: bits per
// byte of the model on --split-tokens tokens of the train and the val split of
// base_data/, in rows of the model's sequence length (--device-batch-size rows a pass),
// summed across the ranks. Writes
// eval/<source>-bpb.json ({"summary": {"train bpb", "val bpb"}}) and, for the base model,
// the "Base model loss" report section.
#pragma once

#include <boost/program_options/options_description.hpp>

#include <cstdint>

#include "eval_options.hpp"

namespace nanochat::eval {

struct BpbOptions {
  int64_t split_tokens = 20 * 524288;  // tokens of each split, all ranks together (base_loss's)
};

// Declares --split-tokens.
void add_bpb_options(boost::program_options::options_description& description, BpbOptions& options);

void run_bpb_eval(const EvalOptions& options, const BpbOptions& bpb);

}  // namespace nanochat::eval
