// The fixed prompts nanochat's base_train and base_loss complete greedily to show what a
// base model has learnt (pretrain logs them; `nanochat run eval --kind sample` reports them).
#pragma once

#include <array>

namespace nanochat {

inline constexpr std::array<const char*, 7> kBaseSamplePrompts = {
    "The capital of France is",
    "The chemical symbol of gold is",
    "If yesterday was Friday, then tomorrow will be",
    "The opposite of hot is",
    "The planets of the solar system are:",
    "My favorite color is",
    "If 5*x + 3 = 13, then x is",
};

}  // namespace nanochat
