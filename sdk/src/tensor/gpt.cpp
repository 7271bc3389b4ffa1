// The GPT module: parameters under nanochat's names, the forward pass (training loss or
// inference logits, with or without a KV cache), init, parameter groups and save/load.
// The math of each step lives in gpt_ops (fused CPU kernels beside ATen references).
#include "nanochat/gpt.hpp"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <ATen/CPUGeneratorImpl.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <functional>
#include <optional>

#include "nanochat/error.hpp"
#include "nanochat/gpt_ops.hpp"
#include "nanochat/huge_page_arena.hpp"
#include "nanochat/safetensors.hpp"

namespace nanochat {
namespace detail {

// Allocates an uninitialized fp32 parameter of the given shape on the model's device.
using EmptyParameter = std::function<at::Tensor(at::IntArrayRef sizes)>;

// nn.Linear(bias=False) reduced to what the model uses, so its one parameter is
// "<name>.weight" as in nanochat. Weights are stored (out, in).
struct Linear : torch::nn::Module {
  Linear(int64_t in, int64_t out, const EmptyParameter& empty)
      : weight(register_parameter("weight", empty({out, in}))) {}
  at::Tensor weight;
};

struct Attention : torch::nn::Module {
  Attention(const GPTConfig& c, const EmptyParameter& o)
      : c_q(register_module("c_q", std::make_shared<Linear>(c.n_embd, c.n_head * c.head_dim(), o))),
        c_k(register_module("c_k", std::make_shared<Linear>(c.n_embd, c.n_kv_head * c.head_dim(), o))),
        c_v(register_module("c_v", std::make_shared<Linear>(c.n_embd, c.n_kv_head * c.head_dim(), o))),
        c_proj(register_module("c_proj", std::make_shared<Linear>(c.n_embd, c.n_embd, o))) {}
  std::shared_ptr<Linear> c_q, c_k, c_v, c_proj;
};

struct Mlp : torch::nn::Module {
  Mlp(const GPTConfig& c, const EmptyParameter& o)
      : c_fc(register_module("c_fc", std::make_shared<Linear>(c.n_embd, 4 * c.n_embd, o))),
        c_proj(register_module("c_proj", std::make_shared<Linear>(4 * c.n_embd, c.n_embd, o))) {}
  std::shared_ptr<Linear> c_fc, c_proj;
};

struct Block : torch::nn::Module {
  Block(const GPTConfig& c, const EmptyParameter& o)
      : attn(register_module("attn", std::make_shared<Attention>(c, o))),
        mlp(register_module("mlp", std::make_shared<Mlp>(c, o))) {}
  std::shared_ptr<Attention> attn;
  std::shared_ptr<Mlp> mlp;
};

}  // namespace detail

namespace {

// Rotary tables cover 10× the training length, as nanochat's, for generation past it.
constexpr int64_t kRotaryOverCompute = 10;
// Bytes the CPU arena may skip to align each parameter.
constexpr size_t kArenaAlignment = 64;

// Weights are fp32 masters (or whatever the caller made them); matmuls run in the
// compute dtype. Casting an fp32 weight to fp32 returns it as is.
at::Tensor linear(const at::Tensor& x, const at::Tensor& weight, at::ScalarType dtype) {
  return ops::linear(x, weight.to(dtype));
}

struct Dims {
  int64_t batch, time;
};

at::Tensor attention(const detail::Attention& attn, const GPTConfig& config, const at::Tensor& x,
                     const at::Tensor& cos, const at::Tensor& sin, int64_t layer, KVCache* cache,
                     at::ScalarType dtype, Dims dims) {
  const int64_t hd = config.head_dim();
  at::Tensor q = linear(x, attn.c_q->weight, dtype).view({dims.batch, dims.time, config.n_head, hd});
  at::Tensor k = linear(x, attn.c_k->weight, dtype).view({dims.batch, dims.time, config.n_kv_head, hd});
  at::Tensor v = linear(x, attn.c_v->weight, dtype).view({dims.batch, dims.time, config.n_kv_head, hd});
  // (B, T, H, D) -> (B, H, T, D) as views: SDPA takes strided inputs.
  q = ops::rotary_rms_norm(q, cos, sin).transpose(1, 2);
  k = ops::rotary_rms_norm(k, cos, sin).transpose(1, 2);
  v = v.transpose(1, 2);
  if (cache != nullptr) std::tie(k, v) = cache->insert(layer, k, v);
  at::Tensor y = ops::causal_attention(q, k, v);
  y = y.transpose(1, 2).reshape({dims.batch, dims.time, config.n_embd});
  return linear(y, attn.c_proj->weight, dtype);
}

at::Tensor mlp(const detail::Mlp& m, const at::Tensor& x, at::ScalarType dtype) {
  return linear(ops::relu_squared(linear(x, m.c_fc->weight, dtype)), m.c_proj->weight, dtype);
}

void check_compute_dtype(at::ScalarType dtype) {
  if (dtype != at::kFloat && dtype != at::kBFloat16) {
    throw Error(fmt::format("compute dtype must be fp32 or bf16, got {}", c10::toString(dtype)));
  }
}

void check_tokens(const at::Tensor& idx, const char* what, const c10::Device& device) {
  if (idx.dim() != 2 || idx.scalar_type() != at::kLong) {
    throw Error(fmt::format("GPT: {} must be int64 of shape (B, T), got {} {}", what,
                            c10::toString(idx.scalar_type()), c10::str(idx.sizes())));
  }
  if (idx.device() != device) {
    throw Error(fmt::format("GPT: {} are on {} but the model is on {}", what, idx.device().str(),
                            device.str()));
  }
}

}  // namespace

GPT::GPT(const GPTConfig& config, c10::Device device, c10::ScalarType compute_dtype)
    : config_(config), compute_dtype_(compute_dtype) {
  config_.validate();
  check_compute_dtype(compute_dtype);
  const auto options = at::TensorOptions().dtype(at::kFloat).device(device);
  const int64_t vocab = config_.padded_vocab_size();
  // On the CPU all weights share one huge-page block, which decoding streams through.
  std::optional<HugePageArena> arena;
  if (device.is_cpu()) {
    const int64_t tensors = 6 * config_.n_layer + 2;
    arena.emplace(static_cast<size_t>(config_.num_params()) * sizeof(float) + kArenaAlignment * tensors);
  }
  const detail::EmptyParameter empty = [&](at::IntArrayRef sizes) {
    return arena ? arena->take(sizes, at::kFloat) : at::empty(sizes, options);
  };

  auto transformer = register_module("transformer", std::make_shared<torch::nn::Module>());
  auto wte = transformer->register_module("wte", std::make_shared<torch::nn::Module>());
  wte_ = wte->register_parameter("weight", empty({vocab, config_.n_embd}));
  auto h = transformer->register_module("h", std::make_shared<torch::nn::Module>());
  for (int64_t layer = 0; layer < config_.n_layer; ++layer) {
    blocks_.push_back(
        h->register_module(std::to_string(layer), std::make_shared<detail::Block>(config_, empty)));
  }
  auto lm_head = register_module("lm_head", std::make_shared<torch::nn::Module>());
  lm_head_ = lm_head->register_parameter("weight", empty({vocab, config_.n_embd}));

  // Buffers, so Module::to() moves them; not parameters, so never saved.
  auto [cos, sin] = ops::rotary_tables(kRotaryOverCompute * config_.sequence_len,
                                       config_.head_dim(), kRotaryBase);
  cos_ = register_buffer("cos", cos.to(device));
  sin_ = register_buffer("sin", sin.to(device));
}

GPT::~GPT() = default;

c10::Device GPT::device() const { return wte_.device(); }

void GPT::set_compute_dtype(c10::ScalarType dtype) {
  check_compute_dtype(dtype);
  compute_dtype_ = dtype;
}

void GPT::init_weights(uint64_t seed) {
  if (device().is_meta()) throw Error("GPT::init_weights: the model is on the meta device; move it first");
  at::NoGradGuard no_grad;
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto draw = [&](const at::Tensor& param, double std) {
    at::Tensor values = at::empty(param.sizes(), at::kFloat);
    values.normal_(0.0, std, generator);
    param.copy_(values);
  };
  auto draw_linear = [&](const at::Tensor& weight) {
    const double fan_out = static_cast<double>(weight.size(0));
    const double fan_in = static_cast<double>(weight.size(1));
    draw(weight, 1.0 / std::sqrt(fan_in) * std::min(1.0, std::sqrt(fan_out / fan_in)));
  };
  // nanochat draws every Linear, then zeroes lm_head and the c_proj's; drawing them too
  // keeps the generator in step with it.
  draw(wte_, 1.0);
  for (const auto& block : blocks_) {
    for (const at::Tensor* weight : {&block->attn->c_q->weight, &block->attn->c_k->weight,
                                     &block->attn->c_v->weight, &block->attn->c_proj->weight,
                                     &block->mlp->c_fc->weight, &block->mlp->c_proj->weight}) {
      draw_linear(*weight);
    }
    block->attn->c_proj->weight.zero_();
    block->mlp->c_proj->weight.zero_();
  }
  draw_linear(lm_head_);
  lm_head_.zero_();
}

at::Tensor GPT::hidden(const at::Tensor& idx, KVCache* cache) {
  const Dims dims{idx.size(0), idx.size(1)};
  const int64_t start = cache != nullptr ? cache->pos() : 0;
  if (start + dims.time > cos_.size(0)) {
    throw Error(fmt::format("GPT: positions up to {} exceed the rotary table of {} (10 × "
                            "sequence_len {}); use a model config with a longer sequence_len",
                            start + dims.time, cos_.size(0), config_.sequence_len));
  }
  if (cache != nullptr && (cache->num_layers() != config_.n_layer || cache->batch_size() != dims.batch)) {
    throw Error(fmt::format("GPT: KV cache for {} layers × batch {} used with a {}-layer model on "
                            "batch {}", cache->num_layers(), cache->batch_size(), config_.n_layer,
                            dims.batch));
  }
  at::Tensor cos = cos_.narrow(0, start, dims.time);
  at::Tensor sin = sin_.narrow(0, start, dims.time);

  at::Tensor x = ops::rms_norm(at::embedding(wte_, idx).to(compute_dtype_));
  for (size_t layer = 0; layer < blocks_.size(); ++layer) {
    const detail::Block& block = *blocks_[layer];
    x = x + attention(*block.attn, config_, ops::rms_norm(x), cos, sin, static_cast<int64_t>(layer),
                      cache, compute_dtype_, dims);
    x = x + mlp(*block.mlp, ops::rms_norm(x), compute_dtype_);
  }
  return ops::rms_norm(x);
}

at::Tensor GPT::forward(const at::Tensor& idx, const at::Tensor& targets, LossReduction reduction) {
  at::Tensor rows = token_losses(hidden_states(idx), targets);
  if (reduction == LossReduction::None) return rows;
  // The mean over counted targets, as cross_entropy(ignore_index=-1) takes it.
  return rows.sum() / targets.ne(-1).sum();
}

at::Tensor GPT::hidden_states(const at::Tensor& idx) {
  check_tokens(idx, "token ids", device());
  return hidden(idx, nullptr);
}

at::Tensor GPT::token_losses(const at::Tensor& hidden, const at::Tensor& targets) {
  check_tokens(targets, "targets", device());
  if (hidden.dim() != 3 || targets.sizes() != hidden.sizes().slice(0, 2)) {
    throw Error(fmt::format("GPT: targets {} do not match hidden states {}", c10::str(targets.sizes()),
                            c10::str(hidden.sizes())));
  }
  at::Tensor rows = ops::softcap_cross_entropy(hidden.reshape({-1, config_.n_embd}), lm_head_.to(compute_dtype_),
                                               targets.reshape({-1}), config_.vocab_size, kSoftcap);
  return rows.view(targets.sizes());
}

at::Tensor GPT::forward(const at::Tensor& idx, KVCache* cache) {
  check_tokens(idx, "token ids", device());
  return ops::softcap_logits(hidden(idx, cache), lm_head_.to(compute_dtype_), config_.vocab_size,
                             kSoftcap);
}

at::Tensor GPT::next_token_logits(const at::Tensor& idx, KVCache* cache) {
  check_tokens(idx, "token ids", device());
  const at::Tensor last = hidden(idx, cache).select(1, idx.size(1) - 1);
  return ops::softcap_logits(last, lm_head_.to(compute_dtype_), config_.vocab_size, kSoftcap);
}

at::Tensor GPT::logits_at(const at::Tensor& idx, const at::Tensor& positions) {
  check_tokens(idx, "token ids", device());
  const int64_t rows = idx.size(0), time = idx.size(1);
  if (positions.dim() != 1 || positions.size(0) != rows) {
    throw Error(fmt::format("GPT: positions {} for token ids {}: expected one position per row",
                            c10::str(positions.sizes()), c10::str(idx.sizes())));
  }
  const at::Tensor where = positions.to(idx.device(), at::kLong);
  if (rows > 0 && (where.min().item<int64_t>() < 0 || where.max().item<int64_t>() >= time)) {
    throw Error(fmt::format("GPT: a position is outside the {} positions of the token ids", time));
  }
  const at::Tensor x = hidden(idx, nullptr);                                   // (B, T, d)
  const at::Tensor index = where.view({rows, 1, 1}).expand({rows, 1, x.size(2)});  // (B, 1, d)
  return ops::softcap_logits(x.gather(1, index).squeeze(1), lm_head_.to(compute_dtype_), config_.vocab_size,
                             kSoftcap);
}

KVCache GPT::make_kv_cache(int64_t batch_size, int64_t capacity) const {
  return KVCache(batch_size, config_.n_kv_head, config_.head_dim(), config_.n_layer, capacity);
}

ParamGroups GPT::param_groups() const {
  ParamGroups groups;
  for (auto& [name, param] : state_dict()) {
    if (name.rfind("transformer.h.", 0) == 0) {
      groups.matrix.emplace_back(name, param);
    } else if (name == "transformer.wte.weight") {
      groups.embedding.emplace_back(name, param);
    } else {
      groups.unembedding.emplace_back(name, param);
    }
  }
  return groups;
}

NamedTensors GPT::state_dict() const {
  NamedTensors named;
  for (const auto& item : named_parameters(/*recurse=*/true)) named.emplace_back(item.key(), item.value());
  return named;
}

int64_t GPT::num_params() const {
  int64_t total = 0;
  for (const auto& param : parameters()) total += param.numel();
  return total;
}

void GPT::save(const std::filesystem::path& path, const TensorMetadata& metadata) const {
  TensorMetadata all = metadata;
  all["model_config"] = nlohmann::json(config_).dump();
  save_tensors(path, state_dict(), all);
}

TensorMetadata GPT::load(const std::filesystem::path& path) {
  {
    // Same shapes can still mean another model (heads split differently), so the saved
    // config is compared first; sequence_len may differ (it only sizes the rotary table).
    SafetensorsReader reader(path);
    auto it = reader.metadata().find("model_config");
    if (it != reader.metadata().end()) {
      GPTConfig saved;
      try {
        saved = nlohmann::json::parse(it->second).get<GPTConfig>();
      } catch (const std::exception& e) {
        throw Error(fmt::format("{}: metadata model_config is unreadable: {}", path.string(), e.what()));
      }
      saved.sequence_len = config_.sequence_len;
      if (saved != config_) {
        throw Error(fmt::format("{}: saved for model config {}, this model is {}", path.string(),
                                it->second, nlohmann::json(config_).dump()));
      }
    }
  }
  return load_tensors_into(path, state_dict());
}

}  // namespace nanochat
