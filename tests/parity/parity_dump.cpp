// parity_dump: runs our GPT on a fixed batch and writes everything nanochat's model must
// reproduce, for tests/parity/check_model_parity.py to load into the PyTorch reference
// (bench/pretrain/reference_nanochat.py). Files in --out, all safetensors:
//   init.safetensors     the weights right after init_weights(seed) (GPT::save)
//   model.safetensors    the weights the rest uses: init, with lm_head and every c_proj
//                        drawn instead of zero (zero there would make logits 0 and most
//                        gradients vanish, proving nothing)
//   batch.safetensors    idx and targets (B, T) int64, some targets -1 (ignored);
//                        metadata: the seed, prefix and chunk lengths of the cached passes
//   outputs.safetensors  logits (B, T, V) fp32 and loss; cached_logits (B, T, V): the same
//                        positions through the KV cache (prefix, then a chunk, then one
//                        token at a time); engine_prompt_logits (1, V) and engine_logits
//                        (B, T-prefix, V): the engine's path, row 0's prefix prefilled at
//                        batch 1, copied to batch B, then each row's tokens decoded
//   grads.safetensors    d loss / d parameter, under the parameter's name
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "nanochat/device.hpp"
#include "nanochat/error.hpp"
#include "nanochat/gpt.hpp"
#include "nanochat/tensor_io.hpp"

namespace fs = std::filesystem;
namespace po = boost::program_options;

namespace {

struct Options {
  fs::path out;
  int64_t depth = 2;
  int64_t vocab = 500;
  int64_t seq_len = 32;
  int64_t batch = 2;
  int64_t prefix = 12;
  int64_t chunk = 5;
  uint64_t seed = 1234;  // init; seed+1 draws lm_head and c_proj, seed+2 the batch
  std::string device = "cpu";
};

Options parse(int argc, char** argv) {
  Options o;
  po::options_description desc("parity_dump: our GPT's outputs for the parity check with nanochat");
  desc.add_options()("help", "this text")
      ("out", po::value(&o.out)->required(), "folder for the safetensors files (created)")
      ("depth", po::value(&o.depth)->default_value(o.depth), "model depth")
      ("vocab", po::value(&o.vocab)->default_value(o.vocab), "vocabulary size (not a multiple of 64 pads)")
      ("seq-len", po::value(&o.seq_len)->default_value(o.seq_len), "tokens per row")
      ("batch", po::value(&o.batch)->default_value(o.batch), "rows")
      ("prefix", po::value(&o.prefix)->default_value(o.prefix), "positions prefilled into the KV cache")
      ("chunk", po::value(&o.chunk)->default_value(o.chunk), "positions fed as one chunk after the prefix")
      ("seed", po::value(&o.seed)->default_value(o.seed), "init and batch seed")
      ("device", po::value(&o.device)->default_value(o.device), "cpu, cuda or cuda:N");
  po::variables_map vm;
  po::store(po::parse_command_line(argc, argv, desc), vm);
  if (vm.count("help")) {
    std::cout << desc << "\n";
    std::exit(0);
  }
  po::notify(vm);
  if (o.batch < 1 || o.seq_len < 2) throw nanochat::UsageError("--batch must be >= 1 and --seq-len >= 2");
  if (o.prefix < 1 || o.chunk < 2 || o.prefix + o.chunk >= o.seq_len) {
    throw nanochat::UsageError(fmt::format(
        "need 1 <= --prefix, 2 <= --chunk and prefix + chunk < seq-len (got {} + {} vs {}) so that "
        "every KV-cache case (prefill, chunk, single token) runs",
        o.prefix, o.chunk, o.seq_len));
  }
  return o;
}

// lm_head and the c_proj's as a trained model has them: drawn, not zero. lm_head's scale
// gives logits of standard deviation ~4, where the 15·tanh(l/15) softcap is already curved.
void fill_zero_initialized(nanochat::GPT& model, uint64_t seed) {
  at::NoGradGuard no_grad;
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const double d = static_cast<double>(model.config().n_embd);
  for (auto& [name, param] : model.state_dict()) {
    double std = 0.0;
    if (name == "lm_head.weight") {
      std = 4.0 / std::sqrt(d);
    } else if (name.find(".c_proj.weight") != std::string::npos) {
      std = 1.0 / std::sqrt(static_cast<double>(param.size(1)));
    } else {
      continue;
    }
    param.copy_(at::empty(param.sizes(), at::kFloat).normal_(0.0, std, gen));
  }
}

at::Tensor cpu(const at::Tensor& t) { return t.detach().to(at::kCPU).contiguous(); }

// Every position through a per-batch cache: the prefix in one pass (queries = keys, causal),
// a chunk over the cached prefix, then single tokens. The cache starts at the prefix's size,
// so it grows on the chunk.
at::Tensor cached_logits(nanochat::GPT& model, const at::Tensor& idx, const Options& o) {
  nanochat::KVCache cache = model.make_kv_cache(o.batch, o.prefix);
  std::vector<at::Tensor> parts = {model.forward(idx.narrow(1, 0, o.prefix), &cache),
                                   model.forward(idx.narrow(1, o.prefix, o.chunk), &cache)};
  for (int64_t t = o.prefix + o.chunk; t < o.seq_len; ++t) parts.push_back(model.forward(idx.narrow(1, t, 1), &cache));
  return at::cat(parts, 1);
}

// The engine's calls (engine.cpp, nanochat's Engine.generate): the prompt (row 0's prefix)
// at batch 1, its cache copied to batch B, then one token per row per step, where the
// engine would feed its samples.
std::pair<at::Tensor, at::Tensor> engine_logits(nanochat::GPT& model, const at::Tensor& idx, const Options& o) {
  nanochat::KVCache prompt_cache = model.make_kv_cache(1, o.prefix);
  at::Tensor prompt_logits = model.next_token_logits(idx.narrow(0, 0, 1).narrow(1, 0, o.prefix), &prompt_cache);
  nanochat::KVCache cache = model.make_kv_cache(o.batch, o.seq_len);
  cache.prefill(prompt_cache);
  std::vector<at::Tensor> steps;
  for (int64_t t = o.prefix; t < o.seq_len; ++t) steps.push_back(model.next_token_logits(idx.narrow(1, t, 1), &cache));
  return {prompt_logits, at::stack(steps, 1)};
}

void dump(const Options& o) {
  const c10::Device device = nanochat::resolve_device(o.device);
  fs::create_directories(o.out);
  const auto config = nanochat::GPTConfig::from_depth(o.depth, o.vocab, o.seq_len);
  nanochat::GPT model(config, device, at::kFloat);
  model.init_weights(o.seed);
  model.save(o.out / "init.safetensors");
  fill_zero_initialized(model, o.seed + 1);
  model.save(o.out / "model.safetensors");

  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(o.seed + 2);
  at::Tensor idx = at::randint(o.vocab, {o.batch, o.seq_len}, gen, at::kLong);
  at::Tensor targets = at::roll(idx, -1, 1);
  // Ignored targets (-1) in every row, as nanochat's SFT masks: the mean counts only the rest.
  targets.index_put_({at::indexing::Slice(), at::indexing::Slice(0, 3)}, -1);
  targets.index_put_({at::indexing::Slice(), -1}, -1);
  nanochat::save_tensors(o.out / "batch.safetensors", {{"idx", idx}, {"targets", targets}},
                         {{"seed", std::to_string(o.seed)},
                          {"prefix", std::to_string(o.prefix)},
                          {"chunk", std::to_string(o.chunk)}});

  const at::Tensor idx_dev = idx.to(device), targets_dev = targets.to(device);
  at::Tensor loss = model.forward(idx_dev, targets_dev);
  loss.backward();
  nanochat::NamedTensors grads;
  for (auto& [name, param] : model.state_dict()) {
    if (!param.grad().defined()) throw nanochat::Error("no gradient reached " + name);
    grads.emplace_back(name, cpu(param.grad()));
  }
  nanochat::save_tensors(o.out / "grads.safetensors", grads);

  c10::InferenceMode inference;  // as the engine decodes
  at::Tensor logits = model.forward(idx_dev);
  at::Tensor cached = cached_logits(model, idx_dev, o);
  auto [prompt_logits, decoded] = engine_logits(model, idx_dev, o);
  nanochat::save_tensors(o.out / "outputs.safetensors",
                         {{"logits", cpu(logits)},
                          {"loss", cpu(loss)},
                          {"cached_logits", cpu(cached)},
                          {"engine_prompt_logits", cpu(prompt_logits)},
                          {"engine_logits", cpu(decoded)}},
                         {{"device", device.str()}});
}

}  // namespace

int main(int argc, char** argv) {
  try {
    dump(parse(argc, argv));
    return 0;
  } catch (const po::error& e) {
    std::cerr << "parity_dump: " << e.what() << " (see --help)\n";
    return 2;
  } catch (const nanochat::UsageError& e) {
    std::cerr << "parity_dump: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "parity_dump: " << e.what() << "\n";
    return 1;
  }
}
