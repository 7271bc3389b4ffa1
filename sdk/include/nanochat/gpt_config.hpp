// The shape of nanochat's GPT (SPEC §3) without LibTorch: depth-derived sizing, the checks
// that make a config buildable, parameter and FLOP counts, and meta.json's "model_config".
// The host plans runs with it (`speedrun --dry-run`); gpt.hpp builds the model from it.
#pragma once

#include <cstdint>

#include <nlohmann/json_fwd.hpp>

namespace nanochat {

struct GPTConfig {
  int64_t sequence_len = 2048;
  int64_t vocab_size = 65536;
  int64_t n_layer = 20;
  int64_t n_head = 10;     // query heads
  int64_t n_kv_head = 10;  // key/value heads (fewer = grouped-query attention)
  int64_t n_embd = 1280;

  // nanochat's sizing: n_layer = depth, n_embd = 64·depth, ceil(n_embd/128) heads.
  static GPTConfig from_depth(int64_t depth, int64_t vocab_size, int64_t sequence_len = 2048);

  // Throws Error saying which field is wrong (e.g. n_embd not divisible by n_head).
  void validate() const;

  int64_t head_dim() const { return n_embd / n_head; }
  // The embedding and lm_head rows: vocab_size rounded up to a multiple of 64.
  int64_t padded_vocab_size() const;
  // Parameter count from the shapes alone (2·Vp·d + 12·L·d² with one kv head per head).
  int64_t num_params() const;
  // Training FLOPs per token: 6·(params − embedding) + 12·L·H·head_dim·sequence_len.
  int64_t flops_per_token() const;

  bool operator==(const GPTConfig& other) const;
  bool operator!=(const GPTConfig& other) const { return !(*this == other); }
};

// The keys of nanochat's meta.json "model_config". from_json validates.
void to_json(nlohmann::json& json, const GPTConfig& config);
void from_json(const nlohmann::json& json, GPTConfig& config);

}  // namespace nanochat
