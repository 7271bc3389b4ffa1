// Encoding one chunk with a trained vocabulary, with tiktoken's semantics: a chunk that is
// a token is that token; otherwise, starting from bytes, the adjacent pair whose
// concatenation has the lowest rank (leftmost on ties) merges first, until none has a rank.
// Ranks are token ids. Results are cached per thread, since text repeats its words.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flat_map.hpp"

namespace nanochat::bpe {

class BpeEncoder {
 public:
  // `tokens[i]` holds the bytes of token (= rank) i. Throws Error when two tokens have the
  // same bytes, a token is empty, or one of the 256 single bytes has no token (without it
  // some text could not be encoded).
  explicit BpeEncoder(std::vector<std::string> tokens);

  size_t size() const { return tokens_.size(); }
  const std::string& bytes(uint32_t id) const { return tokens_[id]; }
  std::optional<uint32_t> find(std::string_view bytes) const;

  // Results of merges already done on this thread, for this encoder.
  struct Cache;
  // This thread's cache, emptied if another encoder used it last. Fetched once per text:
  // thread_local access is a call, too slow per chunk.
  Cache& thread_cache() const;

  // Appends the ids of `chunk` to `out`.
  void encode_chunk(std::string_view chunk, Cache& cache, std::vector<int32_t>& out) const;

  // The merge procedure alone, without the whole-chunk look-up or the cache; `use_heap`
  // picks the heap-based form used for long chunks. Exposed so tests can check that both
  // forms agree.
  void merge_chunk(std::string_view chunk, bool use_heap, std::vector<int32_t>& out) const;

 private:
  void merge_linear(std::string_view chunk, std::vector<int32_t>& out) const;
  void merge_with_heap(std::string_view chunk, std::vector<int32_t>& out) const;
  uint32_t pair_rank(uint32_t left, uint32_t right) const;

  std::vector<std::string> tokens_;
  BytesMap<uint32_t> ranks_;
  // (left id, right id) -> the id of their concatenation: the same answer as tiktoken's
  // look-up of the concatenated bytes, since every part during a merge is itself a token.
  U64Map<uint32_t> pair_ranks_;
  uint32_t byte_tokens_[256];
  uint64_t instance_;  // tells this encoder's entries apart in the thread-local cache
};

}  // namespace nanochat::bpe
