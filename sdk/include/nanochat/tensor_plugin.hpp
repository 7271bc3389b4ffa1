// NANOCHAT_TENSOR_PLUGIN(...): like NANOCHAT_PLUGIN, for plugins linked against LibTorch;
// records the LibTorch version they were compiled with so the host can refuse a mismatch.
#pragma once

#include <torch/headeronly/version.h>

#include "nanochat/plugin.hpp"

// NANOCHAT_TENSOR_PLUGIN(KIND, INTERFACE, IMPL, NAME, VERSION, DESCRIPTION): the arguments are
// NANOCHAT_PLUGIN_WITH_TORCH's (plugin.hpp documents each); TORCH_VER is the TORCH_VERSION of
// the LibTorch headers this file is compiled with. Link the plugin with NanochatSDK::tensor
// (nanochat_add_plugin(... TENSOR)).
#define NANOCHAT_TENSOR_PLUGIN(KIND, INTERFACE, IMPL, NAME, VERSION, DESCRIPTION) \
  NANOCHAT_PLUGIN_WITH_TORCH(KIND, INTERFACE, IMPL, NAME, VERSION, DESCRIPTION, TORCH_VERSION)
