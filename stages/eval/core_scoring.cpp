// Scoring CORE items with the model (see core_scoring.hpp).
#include "core_scoring.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <limits>
#include <optional>

#include "nanochat/gpt.hpp"

namespace nanochat::eval {
namespace {

// GPT's rotary table covers 10 × sequence_len positions (nanochat's rotary_seq_len).
size_t model_positions(const GPT& model) { return static_cast<size_t>(10 * model.config().sequence_len); }

// Rows [first, first + count) of `sequences` from position `offset` on, right-padded with
// `pad` to the longest: what one forward pass takes.
at::Tensor row_block(const CoreSequences& sequences, size_t first, size_t count, size_t offset, TokenId pad,
                     c10::Device device) {
  size_t width = 1;
  for (size_t i = first; i < first + count; ++i) width = std::max(width, sequences.tokens[i].size() - offset);
  std::vector<int64_t> ids(count * width, pad);
  for (size_t r = 0; r < count; ++r) {
    const auto& tokens = sequences.tokens[first + r];
    std::copy(tokens.begin() + static_cast<std::ptrdiff_t>(offset), tokens.end(), ids.begin() + static_cast<std::ptrdiff_t>(r * width));
  }
  return at::tensor(ids, at::kLong).view({static_cast<int64_t>(count), static_cast<int64_t>(width)}).to(device);
}

// Scores rows [first, first + count) from `logits` (count, width, V) of the tokens from
// position `offset` on: logit position p of a row predicts token offset + p + 1, so the
// span [start, end) is read at positions start-1-offset .. end-2-offset. Only those
// positions go through the cross-entropy and the argmax.
void score_block(const at::Tensor& logits, const CoreSequences& sequences, size_t first, size_t count, size_t offset,
                 SequenceScores& scores) {
  const int64_t width = logits.size(1);
  std::vector<int64_t> positions, targets;
  for (size_t r = 0; r < count; ++r) {
    const size_t i = first + r;
    for (size_t t = sequences.start[i]; t < sequences.end[i]; ++t) {
      positions.push_back(static_cast<int64_t>(r) * width + static_cast<int64_t>(t - 1 - offset));
      targets.push_back(sequences.tokens[i][t]);
    }
  }
  std::vector<double> losses;
  std::vector<uint8_t> hits;
  if (!positions.empty()) {
    const c10::Device device = logits.device();
    const at::Tensor rows = logits.reshape({-1, logits.size(2)}).index_select(0, at::tensor(positions, at::kLong).to(device));
    const at::Tensor target = at::tensor(targets, at::kLong).to(device);
    const at::Tensor loss = at::cross_entropy_loss(rows.to(at::kFloat), target, {}, at::Reduction::None).to(at::kCPU, at::kDouble);
    const at::Tensor hit = rows.argmax(-1).eq(target).to(at::kCPU, at::kByte);
    losses.assign(loss.data_ptr<double>(), loss.data_ptr<double>() + loss.numel());
    hits.assign(hit.data_ptr<uint8_t>(), hit.data_ptr<uint8_t>() + hit.numel());
  }
  size_t at = 0;
  for (size_t r = 0; r < count; ++r) {
    const size_t i = first + r, n = sequences.end[i] - sequences.start[i];
    double sum = 0;
    bool all = true;
    for (size_t k = 0; k < n; ++k, ++at) {
      sum += losses[at];
      all = all && hits[at] != 0;
    }
    scores.mean_loss[i] = n > 0 ? sum / static_cast<double>(n) : std::numeric_limits<double>::quiet_NaN();
    scores.greedy_match[i] = all;
  }
}

SequenceScores empty_scores(size_t n) {
  SequenceScores scores;
  scores.mean_loss.assign(n, 0.0);
  scores.greedy_match.assign(n, false);
  return scores;
}

}  // namespace

SequenceScores score_sequences(GPT& model, CoreSequences sequences, TokenId pad, int64_t max_rows) {
  crop_core_sequences(sequences, model_positions(model));
  const size_t n = sequences.tokens.size();
  // The shared prefix that is not scored: common tokens, up to the first span's first
  // predicting position.
  size_t shared = common_length(sequences.tokens, false);
  size_t longest = 0;
  for (size_t i = 0; i < n; ++i) {
    shared = std::min(shared, sequences.start[i] - 1);
    longest = std::max(longest, sequences.tokens[i].size());
  }
  // A short shared prefix saves less than the second forward pass and the cache copy cost
  // (0-shot items share a few words): then every sequence runs whole, in one pass.
  constexpr size_t kMinSharedPrefix = 32;
  if (shared < kMinSharedPrefix) shared = 0;
  std::optional<KVCache> prefix;
  if (shared > 0) {
    prefix.emplace(model.make_kv_cache(1, static_cast<int64_t>(longest)));
    const std::vector<int64_t> ids(sequences.tokens[0].begin(), sequences.tokens[0].begin() + static_cast<std::ptrdiff_t>(shared));
    model.next_token_logits(at::tensor(ids, at::kLong).view({1, -1}).to(model.device()), &*prefix);
  }
  SequenceScores scores = empty_scores(n);
  const size_t step = static_cast<size_t>(std::max<int64_t>(1, max_rows));
  for (size_t first = 0; first < n; first += step) {
    const size_t count = std::min(step, n - first);
    const at::Tensor rows = row_block(sequences, first, count, shared, pad, model.device());
    at::Tensor logits;
    if (prefix) {
      KVCache cache = model.make_kv_cache(static_cast<int64_t>(count), static_cast<int64_t>(longest));
      cache.prefill(*prefix);
      logits = model.forward(rows, &cache);
    } else {
      logits = model.forward(rows, nullptr);
    }
    score_block(logits, sequences, first, count, shared, scores);
  }
  return scores;
}

SequenceScores score_sequences_plain(GPT& model, CoreSequences sequences, TokenId pad) {
  crop_core_sequences(sequences, model_positions(model));
  const size_t n = sequences.tokens.size();
  SequenceScores scores = empty_scores(n);
  const at::Tensor logits = model.forward(row_block(sequences, 0, n, 0, pad, model.device()), nullptr);
  score_block(logits, sequences, 0, n, 0, scores);
  return scores;
}

bool core_item_correct(CoreTaskType type, const SequenceScores& scores, int gold) {
  if (type == CoreTaskType::language_modeling) return scores.greedy_match.at(0);
  size_t best = 0;
  for (size_t i = 1; i < scores.mean_loss.size(); ++i) {
    if (scores.mean_loss[i] < scores.mean_loss[best]) best = i;
  }
  return best == static_cast<size_t>(gold);
}

}  // namespace nanochat::eval
