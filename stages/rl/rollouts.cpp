// Sampling and scoring one step's rollouts (see rollouts.hpp).
#include "rollouts.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>

#include "nanochat/conversation.hpp"
#include "nanochat/error.hpp"
#include "nanochat/xxh64.hpp"

namespace nanochat::rl {

uint64_t rollout_seed(uint64_t seed, int64_t step, size_t example, int64_t pass) {
  const uint64_t parts[4] = {seed, static_cast<uint64_t>(step), static_cast<uint64_t>(example), static_cast<uint64_t>(pass)};
  return xxh64(parts, sizeof(parts), 0) & 0x7FFFFFFFFFFFFFFFULL;
}

RolloutSampler::RolloutSampler(const TaskSequence& tasks, Engine& engine, RolloutSettings settings, int rank, int world_size,
                               c10::Device device)
    : tasks_(tasks), engine_(engine), settings_(settings), device_(device) {
  for (size_t i = static_cast<size_t>(rank); i < tasks_.size(); i += static_cast<size_t>(world_size)) indices_.push_back(i);
  if (indices_.empty()) {
    throw UsageError("the RL tasks have " + std::to_string(tasks_.size()) + " examples, fewer than the " +
                     std::to_string(world_size) + " ranks");
  }
}

Rollouts RolloutSampler::sample(int64_t step) {
  const auto start = std::chrono::steady_clock::now();
  const Tokenizer& tokenizer = engine_.tokenizer();
  std::vector<std::vector<TokenId>> rows;
  std::vector<std::vector<uint8_t>> masks;
  std::vector<float> rewards;
  std::vector<int64_t> groups;
  Rollouts out;
  for (int64_t i = 0; i < settings_.examples_per_rank; ++i) {
    const size_t k = static_cast<size_t>(step * settings_.examples_per_rank + i);
    const size_t example_index = indices_[k % indices_.size()];
    const TaskExample example = tasks_.get(example_index);
    const Task& task = *tasks_.parts()[tasks_.locate(example_index).part].task;
    const std::vector<TokenId> prompt = render_for_completion(example.conversation, tokenizer, settings_.max_prompt_tokens);
    for (int64_t done = 0, pass = 0; done < settings_.num_samples; ++pass) {
      const int64_t n = std::min(settings_.rows_per_pass, settings_.num_samples - done);
      SamplingOptions sampling = settings_.sampling;
      sampling.seed = rollout_seed(settings_.sampling.seed, step, example_index, pass);
      for (GeneratedSequence& seq : engine_.generate_batch(prompt, static_cast<int>(n), sampling)) {
        const std::vector<TokenId> reply(seq.tokens.begin() + static_cast<std::ptrdiff_t>(prompt.size()), seq.tokens.end());
        rewards.push_back(static_cast<float>(task.reward(example, tokenizer.decode(reply))));
        out.generated_tokens += static_cast<double>(reply.size());
        groups.push_back(i);
        rows.push_back(std::move(seq.tokens));
        masks.push_back(std::move(seq.mask));
      }
      done += n;
    }
  }

  // Right-pad every row to the longest, as nanochat pads with <|assistant_end|> (mask 0).
  size_t longest = 2;
  for (const auto& row : rows) longest = std::max(longest, row.size());
  const int64_t n = static_cast<int64_t>(rows.size()), t = static_cast<int64_t>(longest) - 1;
  const TokenId pad = tokenizer.special_id(special_tokens::assistant_end);
  at::Tensor ids = at::full({n, t + 1}, static_cast<int64_t>(pad), at::kLong);
  at::Tensor sampled = at::zeros({n, t + 1}, at::kBool);
  auto ids_a = ids.accessor<int64_t, 2>();
  auto sampled_a = sampled.accessor<bool, 2>();
  for (int64_t r = 0; r < n; ++r) {
    for (size_t j = 0; j < rows[r].size(); ++j) {
      ids_a[r][static_cast<int64_t>(j)] = rows[r][j];
      sampled_a[r][static_cast<int64_t>(j)] = masks[r][j] != 0;
    }
    out.lengths.push_back(std::max<int64_t>(1, static_cast<int64_t>(rows[r].size()) - 1));
  }
  RlBatch& batch = out.batch;
  const at::Tensor trained = sampled.narrow(1, 1, t);
  batch.inputs = ids.narrow(1, 0, t).contiguous().to(device_);
  batch.targets = ids.narrow(1, 1, t).masked_fill(trained.logical_not(), -1).contiguous().to(device_);
  batch.mask = trained.to(at::kFloat).to(device_);
  batch.rewards = at::tensor(rewards, at::kFloat).to(device_);
  batch.group = at::tensor(groups, at::kLong).to(device_);
  batch.num_groups = settings_.examples_per_rank;
  out.sampling_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

}  // namespace nanochat::rl
