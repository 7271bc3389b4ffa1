// NANOCHAT_TENSOR_PLUGIN(...): like NANOCHAT_PLUGIN, for plugins linked against LibTorch;
// records the LibTorch version they were compiled with so the host can refuse a mismatch.
#pragma once

#include <torch/headeronly/version.h>

#include "nanochat/plugin.hpp"

#define NANOCHAT_TENSOR_PLUGIN(KIND, INTERFACE, IMPL, NAME, VERSION, DESCRIPTION) \
  NANOCHAT_PLUGIN_WITH_TORCH(KIND, INTERFACE, IMPL, NAME, VERSION, DESCRIPTION, TORCH_VERSION)
