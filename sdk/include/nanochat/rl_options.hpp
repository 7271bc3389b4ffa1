// The torch-free half of the RL-algorithm contract (nanochat::RlAlgorithm in rl.hpp): its
// interface id and the flag that sets an algorithm's options, so the host's `plugins info`
// can recognise an RL plugin and list its options without LibTorch.
#pragma once

namespace nanochat {

// /1: needs(), prepare(), loss(), on_step_end(), state() and load_state().
inline constexpr const char* kRlInterfaceId = "nanochat.rl/1";

// The flag that sets the chosen algorithm's options, KEY=VALUE (clip-eps=0.2), repeatable.
inline constexpr const char* kAlgoOptionFlag = "--algo-option";

}  // namespace nanochat
