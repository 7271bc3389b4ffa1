// The optimizer flags every training stage shares (optimizer_options.hpp).
#include "nanochat/optimizer_options.hpp"

#include <boost/program_options/value_semantic.hpp>

#include <vector>

namespace po = boost::program_options;

namespace nanochat {
namespace {

// A number bound to `field`, its default shown as a user would type it ("0.2", not 0.2000...01).
po::typed_value<double>* number(double* field) { return po::value(field)->default_value(*field, format_option_value(*field)); }

}  // namespace

void add_optimizer_options(po::options_description& options, OptimizerChoice& choice) {
  const std::string flag_name = std::string(kOptimizerOptionFlag).substr(2);
  options.add_options()
    ("matrix-optimizer", po::value(&choice.matrix)->default_value(choice.matrix),
     "optimizer plugin for the blocks' matrices")
    ("embedding-optimizer", po::value(&choice.embedding)->default_value(choice.embedding),
     "optimizer plugin for wte and lm_head (may be the same plugin)")
    ("matrix-lr", number(&choice.matrix_lr), "lr of the block matrices")
    ("embedding-lr", number(&choice.embedding_lr), "lr of wte (scaled by (d/768)^-1/2)")
    ("unembedding-lr", number(&choice.unembedding_lr), "lr of lm_head (scaled likewise)")
    ("weight-decay", number(&choice.weight_decay),
     "decoupled weight decay of the groups whose optimizer supports it (e.g. adamw, not muon)")
    (flag_name.c_str(),
     po::value<std::vector<std::string>>()->value_name("PLUGIN.KEY=VALUE")->notifier(
         [&choice](const std::vector<std::string>& texts) {
           choice.plugin_options = parse_plugin_options(kOptimizerOptionFlag, texts);
         }),
     "an optimizer plugin's option, e.g. muon.ns-steps=6 (repeatable; `nanochat plugins info NAME` lists them)");
}

}  // namespace nanochat
