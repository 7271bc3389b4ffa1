// GPTConfig: nanochat's depth-derived sizing, the checks that make a config buildable,
// the shape arithmetic (parameters, FLOPs) and the meta.json "model_config" form.
#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include <algorithm>

#include "nanochat/error.hpp"
#include "nanochat/gpt_config.hpp"

namespace nanochat {
namespace {

constexpr int64_t kVocabMultiple = 64;  // nanochat pads for matmul tiles and DDP splits
constexpr int64_t kWidthPerLayer = 64;
constexpr int64_t kTargetHeadDim = 128;

const char* const kKeys[] = {"sequence_len", "vocab_size", "n_layer", "n_head", "n_kv_head", "n_embd"};

}  // namespace

GPTConfig GPTConfig::from_depth(int64_t depth, int64_t vocab_size, int64_t sequence_len) {
  if (depth < 1) throw Error(fmt::format("depth must be at least 1, got {}", depth));
  GPTConfig config;
  config.sequence_len = sequence_len;
  config.vocab_size = vocab_size;
  config.n_layer = depth;
  config.n_embd = kWidthPerLayer * depth;
  config.n_head = std::max<int64_t>(1, (config.n_embd + kTargetHeadDim - 1) / kTargetHeadDim);
  config.n_kv_head = config.n_head;
  if (config.n_embd % config.n_head != 0) {
    throw Error(fmt::format(
        "depth {} gives width {}, which {} heads do not divide; nanochat's sizing works for "
        "even depths and for 1, 3, 7, 15, 31",
        depth, config.n_embd, config.n_head));
  }
  config.validate();
  return config;
}

void GPTConfig::validate() const {
  auto positive = [](const char* name, int64_t value) {
    if (value < 1) throw Error(fmt::format("model config: {} must be positive, got {}", name, value));
  };
  positive("sequence_len", sequence_len);
  positive("vocab_size", vocab_size);
  positive("n_layer", n_layer);
  positive("n_head", n_head);
  positive("n_kv_head", n_kv_head);
  positive("n_embd", n_embd);
  if (n_embd % n_head != 0) {
    throw Error(fmt::format("model config: n_embd {} is not divisible by n_head {}", n_embd, n_head));
  }
  if (n_head % n_kv_head != 0) {
    throw Error(fmt::format("model config: n_head {} is not a multiple of n_kv_head {}", n_head,
                            n_kv_head));
  }
  if (head_dim() % 2 != 0) {
    throw Error(fmt::format("model config: head dim {} (n_embd/n_head) must be even for rotary "
                            "embeddings", head_dim()));
  }
}

int64_t GPTConfig::padded_vocab_size() const {
  return (vocab_size + kVocabMultiple - 1) / kVocabMultiple * kVocabMultiple;
}

int64_t GPTConfig::num_params() const {
  const int64_t d = n_embd;
  const int64_t kv_dim = n_kv_head * head_dim();
  const int64_t attention = d * d + 2 * d * kv_dim + d * d;  // c_q, c_k, c_v, c_proj
  const int64_t mlp = 2 * d * 4 * d;                          // c_fc, c_proj
  return 2 * padded_vocab_size() * d + n_layer * (attention + mlp);
}

int64_t GPTConfig::flops_per_token() const {
  const int64_t embedding = padded_vocab_size() * n_embd;
  return 6 * (num_params() - embedding) + 12 * n_layer * n_head * head_dim() * sequence_len;
}

bool GPTConfig::operator==(const GPTConfig& other) const {
  return sequence_len == other.sequence_len && vocab_size == other.vocab_size &&
         n_layer == other.n_layer && n_head == other.n_head && n_kv_head == other.n_kv_head &&
         n_embd == other.n_embd;
}

void to_json(nlohmann::json& json, const GPTConfig& config) {
  json = {{"sequence_len", config.sequence_len}, {"vocab_size", config.vocab_size},
          {"n_layer", config.n_layer},           {"n_head", config.n_head},
          {"n_kv_head", config.n_kv_head},       {"n_embd", config.n_embd}};
}

void from_json(const nlohmann::json& json, GPTConfig& config) {
  if (!json.is_object()) throw Error("model config must be a JSON object, got " + json.dump());
  int64_t* fields[] = {&config.sequence_len, &config.vocab_size, &config.n_layer,
                       &config.n_head,       &config.n_kv_head,  &config.n_embd};
  for (size_t i = 0; i < std::size(kKeys); ++i) {
    auto it = json.find(kKeys[i]);
    if (it == json.end()) throw Error(fmt::format("model config lacks \"{}\": {}", kKeys[i], json.dump()));
    if (!it->is_number_integer()) {
      throw Error(fmt::format("model config \"{}\" must be an integer, got {}", kKeys[i], it->dump()));
    }
    *fields[i] = it->get<int64_t>();
  }
  config.validate();
}

}  // namespace nanochat
