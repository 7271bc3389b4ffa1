// Which optimizer plugins train which parameters, with what learning rates and options:
// the torch-free half of the optimizer contract. Every training stage declares the same
// flags through add_optimizer_options(), so they are named once.
#pragma once

#include <boost/program_options/options_description.hpp>

#include <string>

#include "nanochat/plugin_options.hpp"

namespace nanochat {

// The interface id of optimizer plugins (nanochat::Optimizer in optimizer.hpp), here so that
// torch-free code (the host's `plugins info`) can recognize one. /2: describe_options() and
// supports_weight_decay() came in, defaults() and set_option() went.
inline constexpr const char* kOptimizerInterfaceId = "nanochat.optimizer/2";

// The flag that sets plugin options, PLUGIN.KEY=VALUE, repeatable.
inline constexpr const char* kOptimizerOptionFlag = "--optimizer-option";

struct OptimizerChoice {
  std::string matrix = "muon";      // plugin for the blocks' matrices
  std::string embedding = "adamw";  // plugin for wte and lm_head
  double matrix_lr = 0.02;          // as given: no width scaling
  double embedding_lr = 0.2;        // scaled by (d/768)^-½ in make_optimizers
  double unembedding_lr = 0.004;    // scaled likewise
  double weight_decay = 0.0;        // for the groups whose plugin supports weight decay
  PluginOptionValues plugin_options;  // --optimizer-option, by plugin then key
};

// Declares --matrix-optimizer, --embedding-optimizer, --matrix-lr, --embedding-lr,
// --unembedding-lr, --weight-decay and --optimizer-option (repeatable), with `choice`'s
// current values as defaults, writing into `choice` (which must outlive the parsing) when
// the options are notified (po::notify, as the host does before Stage::run). The
// syntax of --optimizer-option is checked then (UsageError); whether its plugins and keys
// exist, by make_optimizers. From an INI file, one `optimizer-option = PLUGIN.KEY=VALUE`
// line per assignment; --optimizer-option on the command line replaces the file's lines.
void add_optimizer_options(boost::program_options::options_description& options, OptimizerChoice& choice);

}  // namespace nanochat
