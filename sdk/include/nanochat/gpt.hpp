// nanochat's GPT (SPEC §3): rotary positions, QK RMS-norm, parameter-free RMSNorm,
// ReLU² MLP, untied embeddings, softcapped logits, no biases. Depth is the one dial:
// width 64·depth, heads of 128. Parameters are named as in nanochat's state_dict, so
// checkpoints map one to one.
#pragma once

#include <torch/nn/module.h>

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#include "nanochat/gpt_config.hpp"
#include "nanochat/kv_cache.hpp"
#include "nanochat/tensor_io.hpp"

namespace nanochat {

enum class LossReduction { Mean, None };

// The optimizers' split (SPEC §4): Muon takes the matrices of the blocks, AdamW the
// embedding and the unembedding with their own learning rates.
struct ParamGroups {
  NamedTensors matrix;       // transformer.h.*
  NamedTensors embedding;    // transformer.wte.weight
  NamedTensors unembedding;  // lm_head.weight
};

namespace detail {
struct Block;
}

class GPT : public torch::nn::Module {
 public:
  static constexpr double kSoftcap = 15.0;
  static constexpr double kRotaryBase = 10000.0;

  // Parameters are fp32 on `device`, allocated but not initialized: call init_weights()
  // or load(). On the meta device nothing is allocated (for counting a large model).
  // Matmuls and activations run in `compute_dtype` (fp32 or bf16; see resolve_dtype).
  explicit GPT(const GPTConfig& config, c10::Device device = c10::kCPU,
               c10::ScalarType compute_dtype = c10::kFloat);
  ~GPT() override;

  const GPTConfig& config() const { return config_; }
  // Positions the model can run over: its rotary table, 10 × sequence_len (nanochat's).
  int64_t max_positions() const { return cos_.size(0); }
  c10::Device device() const;
  c10::ScalarType compute_dtype() const { return compute_dtype_; }
  void set_compute_dtype(c10::ScalarType dtype);

  // SPEC init: Linear N(0, fan_in^-½·min(1, √(fan_out/fan_in))), embedding N(0, 1),
  // lm_head and every c_proj zero. Drawn on the CPU from `seed` in nanochat's module
  // order, so a seed gives the same weights on every device and in nanochat on CPU.
  void init_weights(uint64_t seed);

  // Training: cross-entropy of next-token targets (B, T); targets of -1 are ignored.
  // Mean: a scalar over the counted targets. None: (B, T) losses, 0 where ignored.
  at::Tensor forward(const at::Tensor& idx, const at::Tensor& targets,
                     LossReduction reduction = LossReduction::Mean);
  // The final (normed) hidden states (B, T, n_embd) in the compute dtype, for a head of
  // one's own (RL's value head); token_losses() turns them into forward(idx, targets,
  // None)'s per-token losses, so one pass feeds both heads.
  at::Tensor hidden_states(const at::Tensor& idx);
  at::Tensor token_losses(const at::Tensor& hidden, const at::Tensor& targets);
  // Inference: softcapped logits (B, T, vocab_size) in fp32. With a cache, idx holds the
  // tokens after cache->pos() and the cache is extended by them.
  at::Tensor forward(const at::Tensor& idx, KVCache* cache = nullptr);
  // As forward(), but the logits (B, vocab_size) of the last position only: what sampling
  // needs. After a prompt this skips the output head at every other position, which at
  // depth 8 with 65,536 tokens is more than half of a prefill's work.
  at::Tensor next_token_logits(const at::Tensor& idx, KVCache* cache = nullptr);
  // Logits (B, vocab_size) at one position of each row: positions[b] (int64, shape (B,))
  // of row b. For prompts of different lengths right-padded into one batch, each prompt's
  // last position, without the output head over the (B, T) others. Throws Error for a
  // position outside [0, T).
  at::Tensor logits_at(const at::Tensor& idx, const at::Tensor& positions);

  // A cache for this model's layers and heads, `capacity` positions to start with.
  KVCache make_kv_cache(int64_t batch_size, int64_t capacity) const;

  ParamGroups param_groups() const;
  // Parameters by nanochat's names: "transformer.wte.weight",
  // "transformer.h.0.attn.c_q.weight", ..., "lm_head.weight".
  NamedTensors state_dict() const;
  int64_t num_params() const;
  int64_t estimate_flops() const { return config_.flops_per_token(); }

  // Weights as safetensors, with the model config as metadata "model_config" (JSON).
  void save(const std::filesystem::path& path, const TensorMetadata& metadata = {}) const;
  // Loads weights saved by save() (or converted from nanochat) into this model; throws
  // Error naming the file on a truncated file or a missing, extra or misshapen tensor.
  TensorMetadata load(const std::filesystem::path& path);

 private:
  at::Tensor hidden(const at::Tensor& idx, KVCache* cache);

  GPTConfig config_;
  c10::ScalarType compute_dtype_;
  at::Tensor wte_;      // (padded vocab, d)
  at::Tensor lm_head_;  // (padded vocab, d)
  at::Tensor cos_, sin_;  // rotary tables (10·sequence_len, head_dim/2), fp32
  std::vector<std::shared_ptr<detail::Block>> blocks_;
};

}  // namespace nanochat
