// Temperature / top-k sampling (see sampler.hpp).
#include "sampler.hpp"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>

namespace nanochat::detail {

at::Generator make_generator(c10::Device device, uint64_t seed) {
  if (device.is_cpu()) return at::detail::createCPUGenerator(seed);
  // A new generator rather than a clone of the default one, which other threads may be using.
  at::Generator generator = at::globalContext().getAcceleratorHooksInterface(device.type()).getNewGenerator(device.index());
  generator.set_current_seed(seed);
  return generator;
}

at::Tensor sample_next_tokens(const at::Tensor& logits, const SamplingOptions& options, at::Generator& generator) {
  if (options.temperature == 0.0) return logits.argmax(-1);
  if (options.top_k > 0 && options.top_k < logits.size(-1)) {
    auto [values, indices] = logits.topk(options.top_k, -1);
    at::Tensor probs = (values / options.temperature).softmax(-1);
    at::Tensor choice = at::multinomial(probs, 1, false, generator);
    return indices.gather(1, choice).squeeze(1);
  }
  at::Tensor probs = (logits / options.temperature).softmax(-1);
  return at::multinomial(probs, 1, false, generator).squeeze(1);
}

}  // namespace nanochat::detail
