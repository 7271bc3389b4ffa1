// The optimizer flags every training stage takes, declared once and bound to an
// OptimizerChoice.
#pragma once

#include <boost/program_options/options_description.hpp>

#include "nanochat/training.hpp"

namespace nanochat {

void add_optimizer_options(boost::program_options::options_description& options, OptimizerChoice& choice);

}  // namespace nanochat
