// pass@1..k of sampled completions (see pass_at_k.hpp).
#include "pass_at_k.hpp"

#include <ATen/ATen.h>

#include <algorithm>

#include "nanochat/conversation.hpp"

namespace nanochat::rl {

std::vector<double> pass_at_k(Engine& engine, const TaskRef& task, const PassAtKSettings& settings, Distributed& dist,
                              c10::Device device) {
  const Tokenizer& tokenizer = engine.tokenizer();
  const size_t problems = std::min(settings.problems, task.size());
  const int64_t k = settings.samples;
  // counts[j] = problems passed within the first j + 1 samples; counts[k] = problems.
  at::Tensor counts = at::zeros({k + 1}, at::kDouble);
  for (size_t i = static_cast<size_t>(dist.rank()); i < problems; i += static_cast<size_t>(dist.world_size())) {
    const TaskExample example = task.get(i);
    const std::vector<TokenId> prompt = render_for_completion(example.conversation, tokenizer, settings.max_prompt_tokens);
    int64_t first_pass = k;  // index of the first right sample
    for (int64_t done = 0, pass = 0; done < k; ++pass) {
      SamplingOptions sampling = settings.sampling;
      sampling.seed = settings.sampling.seed + i * 1000 + static_cast<uint64_t>(pass);
      const int64_t n = std::min(settings.rows_per_pass, k - done);
      const auto rows = engine.generate_batch(prompt, static_cast<int>(n), sampling);
      for (int64_t r = 0; r < n && first_pass == k; ++r) {
        const std::vector<TokenId> reply(rows[r].tokens.begin() + static_cast<std::ptrdiff_t>(prompt.size()), rows[r].tokens.end());
        if (task.task->evaluate(example, tokenizer.decode(reply)) > 0) first_pass = done + r;
      }
      done += n;
      if (first_pass < k) break;  // the later samples cannot change pass@j
    }
    for (int64_t j = first_pass; j < k; ++j) counts[j] += 1;
    counts[k] += 1;
  }
  at::Tensor all = counts.to(device);
  dist.all_reduce_sum(all);
  all = all.cpu();
  std::vector<double> pass(static_cast<size_t>(k));
  const double total = std::max(1.0, all[k].item<double>());
  for (int64_t j = 0; j < k; ++j) pass[static_cast<size_t>(j)] = all[j].item<double>() / total;
  return pass;
}

}  // namespace nanochat::rl
