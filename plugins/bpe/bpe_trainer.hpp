// The second half of BPE training, rustbpe's algorithm: from the distinct chunks and their
// counts, repeatedly merge the most frequent adjacent pair of tokens (ties go to the
// smaller pair) into a new token 256, 257, ... Pair counts are kept with an index from
// each pair to the words that hold it and updated incrementally after each merge; a max-heap
// of pairs is refreshed lazily (an entry whose count went stale is re-pushed).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "chunk_counter.hpp"

namespace nanochat::bpe {

// (left token, right token); the merge at index k makes token 256 + k.
using Merge = std::pair<uint32_t, uint32_t>;

// Learns up to `num_merges` merges; stops early when no pair occurs any more.
std::vector<Merge> learn_merges(const ChunkCounts& chunk_counts, uint32_t num_merges);

}  // namespace nanochat::bpe
