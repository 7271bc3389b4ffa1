// Scoring one CORE item with the model: the mean cross-entropy and the greedy match of
// each sequence over its span, and the item's verdict as core_eval.py decides it
// (multiple choice and schema: the option of lowest mean loss; language modelling: greedy
// argmax reproduces the whole continuation).
//
// score_sequences() is the fast path. An item's sequences share a prefix (BOS, the
// few-shot examples, the query), which nanochat runs once per option: here it runs once
// into a KV cache (when it is 32 tokens or more), then only what follows it runs for all
// options in one batch, and only the span's positions reach the cross-entropy.
// score_sequences_plain() is nanochat's way (every sequence whole, padded with BOS into
// one batch), kept as the reference the tests hold the fast path to.
#pragma once

#include <cstdint>
#include <vector>

#include "core_prompts.hpp"

namespace nanochat {
class GPT;
}

namespace nanochat::eval {

struct SequenceScores {
  std::vector<double> mean_loss;    // over the span; NaN for an empty span (as torch's mean)
  std::vector<bool> greedy_match;   // argmax at every span position is the next token
};

// An item longer than the model's positions (its rotary table, 10 × sequence_len) is
// cropped first (crop_core_sequences). Rows are right-padded with `pad` (nanochat: BOS; the
// causal mask keeps it from the scores). At most `max_rows` sequences run in one pass.
SequenceScores score_sequences(GPT& model, CoreSequences sequences, TokenId pad, int64_t max_rows);
SequenceScores score_sequences_plain(GPT& model, CoreSequences sequences, TokenId pad);

// core_eval.py's verdict: the first option of lowest mean loss (Python's
// list.index(min(...)), so NaN compares as it does there) is `gold`, or the one sequence's
// greedy match.
bool core_item_correct(CoreTaskType type, const SequenceScores& scores, int gold);

}  // namespace nanochat::eval
