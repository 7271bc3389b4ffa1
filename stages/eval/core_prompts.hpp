// From a CORE item to what the model scores, as nanochat's core_eval.py does it: the
// few-shot examples (random.Random(1234 + index).sample of the other items), the prompts
// (its Jinja templates, restated), and the token sequences with the span each one is
// scored on (common prefix for multiple choice, common suffix for schema, the
// continuation for language modelling), every sequence starting with BOS. Torch-free.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core_tasks.hpp"
#include "nanochat/tokenizer.hpp"

namespace nanochat::eval {

// Indices of the few-shot examples of item `index` among `count` items, in draw order:
// random.Random(1234 + index).sample([i for i in range(count) if i != index], shots).
// Throws UsageError when fewer than `shots` other items exist.
std::vector<size_t> core_fewshot_indices(size_t index, size_t count, int shots);

// Python's str.strip(): Unicode whitespace (str.isspace) off both ends of UTF-8 text.
std::string python_strip(std::string_view text);

// The prompts of `item` after `fewshot` examples joined with "\n\n": one per option for
// multiple choice and schema; for language modelling [without, with the continuation],
// contexts trimmed and the first stripped, as render_prompts_lm.
std::vector<std::string> render_core_prompts(const CoreTaskSpec& spec, const CoreItem& item,
                                             const std::vector<const CoreItem*>& fewshot);

// Token sequences of one item; each is scored on [start, end): the targets predicted at
// positions start-1 .. end-2.
struct CoreSequences {
  std::vector<std::vector<TokenId>> tokens;
  std::vector<size_t> start, end;
};

// Length of the common prefix (from_end = false) or suffix of the sequences.
size_t common_length(const std::vector<std::vector<TokenId>>& sequences, bool from_end);

// nanochat's batch_sequences_{mc,schema,lm}: `tokens` are the prompts' ids with BOS first.
// Throws Error when a language-modelling prompt is not a prefix of its continuation's.
CoreSequences core_sequences(CoreTaskType type, std::vector<std::vector<TokenId>> tokens);

// Fits an item into `max_tokens` positions: when its longest sequence is longer, the same
// number of tokens goes from the front of every sequence (the oldest few-shot text), and
// the spans shift. core_eval.py crops only for a model with a max_seq_len (nanochat's own
// GPT never crops; its rotary table would refuse such an item), and crops each sequence by
// its own excess; dropping the same tokens from all keeps every option's context the same
// and their shared prefix shared. Throws Error when a span would start before position 1.
void crop_core_sequences(CoreSequences& sequences, size_t max_tokens);

// Everything above for item `index` of `items` (already in nanochat's order).
CoreSequences prepare_core_item(const CoreTaskSpec& spec, const std::vector<CoreItem>& items, size_t index,
                                const Tokenizer& tokenizer);

}  // namespace nanochat::eval
