// Where a batch-1 decoding step's time goes (issue 5's bandwidth ratio), without HTTP: the
// engine's whole step (forward, sampling, tool state, text), the model's forward over one
// new token with a short and a long KV cache, the weight matrix-vector products alone
// (ours and ATen's), and the copy bandwidth that bounds them. bench.py runs it on the
// checkpoint it served.
//   nanochat_bench_decode_step --base DIR [--model-tag TAG] [--tokens 128] [--rounds 6]
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "nanochat/chat_model.hpp"
#include "nanochat/engine.hpp"
#include "nanochat/error.hpp"
#include "nanochat/gpt.hpp"
#include "nanochat/gpt_ops.hpp"
#include "nanochat/huge_page_arena.hpp"

namespace {

double seconds_now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

std::string flag(int argc, char** argv, const char* name, const std::string& fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
  }
  return fallback;
}

// Bytes read and written per second by a 512 MB copy, from huge-page memory as the
// weights are (the bound must not be lower than what the weights get).
class CopyProbe {
 public:
  CopyProbe() : arena_(2 * kElements * sizeof(float)) {
    source_ = arena_.take({kElements}, at::kFloat).fill_(1.0f);
    target_ = arena_.take({kElements}, at::kFloat).zero_();
  }
  double bytes_per_second() {
    const double begin = seconds_now();
    target_.copy_(source_);
    return 2.0 * static_cast<double>(source_.nbytes()) / (seconds_now() - begin);
  }

 private:
  static constexpr int64_t kElements = int64_t{512} << 18;
  nanochat::HugePageArena arena_;
  at::Tensor source_, target_;
};

void run(int argc, char** argv) {
  const std::string base = flag(argc, argv, "--base", "");
  if (base.empty()) throw nanochat::UsageError("usage: nanochat_bench_decode_step --base DIR [--model-tag TAG] [--tokens N] [--rounds N]");
  const int tokens = std::stoi(flag(argc, argv, "--tokens", "128"));
  const int rounds = std::stoi(flag(argc, argv, "--rounds", "6"));
  nanochat::ChatModelOptions options;
  options.source = "base";
  options.model_tag = flag(argc, argv, "--model-tag", "");
  options.device = "cpu";
  const nanochat::ChatModel loaded = nanochat::load_chat_model(base, options);
  nanochat::GPT& model = *loaded.model;
  const nanochat::GPTConfig& config = model.config();
  c10::InferenceMode inference;

  int64_t weight_bytes = 0;
  std::vector<at::Tensor> matrices;
  for (auto& [name, param] : model.state_dict()) {
    if (name == "transformer.wte.weight") continue;  // one row is read per token
    matrices.push_back(param);
    weight_bytes += param.numel() * static_cast<int64_t>(param.element_size());
  }
  fmt::print("# decode step: depth {}, vocab {}, {} threads, weights read per token {:.1f} MB\n", config.n_layer,
             config.vocab_size, at::get_num_threads(), weight_bytes / 1e6);

  nanochat::Engine engine(loaded.model, loaded.tokenizer);
  std::vector<nanochat::TokenId> prompt{loaded.tokenizer->special_id(nanochat::special_tokens::bos)};
  for (nanochat::TokenId id : loaded.tokenizer->encode("Why is the sky blue?")) prompt.push_back(id);
  const at::Tensor x_small = at::randn({1, config.n_embd});
  const at::Tensor x_wide = at::randn({1, 4 * config.n_embd});
  auto products = [&](at::Tensor (*linear)(const at::Tensor&, const at::Tensor&)) {
    const double begin = seconds_now();
    for (const at::Tensor& w : matrices) linear(w.size(1) == config.n_embd ? x_small : x_wide, w);
    return seconds_now() - begin;
  };
  auto aten_linear = [](const at::Tensor& x, const at::Tensor& w) { return at::linear(x, w); };
  CopyProbe copy;

  // Rounds of every measurement in turn, so that all of them see the same share of a memory
  // system that other tenants use too; medians over rounds.
  // A cache filled to 90% of the context: attention then reads the cached keys and values
  // too (not counted in the bound), as late in a long chat.
  const int64_t long_context = config.sequence_len * 9 / 10;
  std::vector<double> engine_steps, forwards, long_forwards, streamed, gemm, bandwidths;
  for (int round = 0; round < rounds; ++round) {
    nanochat::SamplingOptions sampling;
    sampling.temperature = 1.0;
    sampling.top_k = 50;
    sampling.max_tokens = tokens;
    sampling.seed = static_cast<uint64_t>(round);
    double last = 0.0;
    engine.generate(prompt, 1, sampling, [&](const nanochat::GenerationStep&) {
      const double now = seconds_now();
      if (last > 0.0) engine_steps.push_back(now - last);
      last = now;
      return true;
    });
    nanochat::KVCache cache = model.make_kv_cache(1, static_cast<int64_t>(prompt.size()) + tokens);
    model.forward(at::tensor(std::vector<int64_t>(prompt.begin(), prompt.end())).view({1, -1}), &cache);
    const at::Tensor token = at::zeros({1, 1}, at::kLong);
    for (int i = 0; i < tokens; ++i) {
      const double begin = seconds_now();
      model.forward(token, &cache);
      forwards.push_back(seconds_now() - begin);
    }
    nanochat::KVCache long_cache = model.make_kv_cache(1, long_context + tokens);
    model.forward(at::zeros({1, long_context}, at::kLong), &long_cache);
    for (int i = 0; i < tokens / 4; ++i) {
      const double begin = seconds_now();
      model.forward(token, &long_cache);
      long_forwards.push_back(seconds_now() - begin);
    }
    for (int i = 0; i < 4; ++i) {
      streamed.push_back(products(nanochat::ops::linear));
      gemm.push_back(products(aten_linear));
      bandwidths.push_back(copy.bytes_per_second());
    }
  }
  const double engine_step = median(engine_steps), forward = median(forwards);
  const double bandwidth = median(bandwidths);
  const double bound = bandwidth / static_cast<double>(weight_bytes);
  fmt::print("| | ms per token | tok/s | of bound |\n|---|---|---|---|\n");
  auto row = [&](const std::string& what, double seconds) {
    fmt::print("| {} | {:.2f} | {:.1f} | {:.2f} |\n", what, 1e3 * seconds, 1 / seconds, 1 / seconds / bound);
  };
  row("engine step (top-k 50 sampling)", engine_step);
  row("model forward, 1 new token", forward);
  row(fmt::format("model forward after {} cached tokens", long_context), median(long_forwards));
  row("weight products only (ops::linear)", median(streamed));
  row("weight products only (at::linear)", median(gemm));
  row(fmt::format("bandwidth bound ({:.2f} GB/s copy)", bandwidth / 1e9), 1 / bound);
  fmt::print("\ncopy bandwidth over {} probes: median {:.2f}, best {:.2f} GB/s\n", bandwidths.size(),
             bandwidth / 1e9, *std::max_element(bandwidths.begin(), bandwidths.end()) / 1e9);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    run(argc, argv);
    return 0;
  } catch (const nanochat::UsageError& e) {
    fmt::print(stderr, "{}\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "nanochat_bench_decode_step: {}\n", e.what());
    return 1;
  }
}
