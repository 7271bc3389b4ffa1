// The optimizer flags (see nanochat/optimizer_options.hpp).
#include "nanochat/optimizer_options.hpp"

#include <boost/program_options.hpp>

namespace po = boost::program_options;

namespace nanochat {

void add_optimizer_options(po::options_description& options, OptimizerChoice& c) {
  options.add_options()
    ("matrix-lr", po::value(&c.matrix_lr)->default_value(c.matrix_lr), "lr of the block matrices")
    ("embedding-lr", po::value(&c.embedding_lr)->default_value(c.embedding_lr), "lr of wte (scaled by (d/768)^-1/2)")
    ("unembedding-lr", po::value(&c.unembedding_lr)->default_value(c.unembedding_lr), "lr of lm_head (scaled likewise)")
    ("weight-decay", po::value(&c.weight_decay)->default_value(c.weight_decay), "weight decay")
    ("matrix-optimizer", po::value(&c.matrix)->default_value(c.matrix), "optimizer plugin for matrices")
    ("embedding-optimizer", po::value(&c.embedding)->default_value(c.embedding), "optimizer plugin for embeddings");
}

}  // namespace nanochat
