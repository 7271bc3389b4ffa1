// The first half of BPE training: split every document and count each distinct chunk,
// in parallel. Each worker counts into a map of its own and, whenever it grows past a
// bound, adds it into a shared map split into independently locked shards; memory stays
// bounded for any number of threads and corpus size. Only the sums matter to training,
// so the result is the same for any number of threads.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "flat_map.hpp"
#include "nanochat/corpus.hpp"
#include "splitter.hpp"

namespace nanochat::bpe {

class ChunkCounts {
 public:
  ChunkCounts();

  // Adds `local` into the counts and empties it. Thread-safe.
  void add(BytesMap<int64_t>& local);

  // Distinct chunks of two or more bytes (a one-byte chunk holds no pair to merge).
  size_t size() const;
  template <class F>
  void for_each(F&& visit) const {
    for (const auto& shard : shards_) shard->counts.for_each(visit);
  }

  uint64_t documents = 0;
  uint64_t bytes = 0;

 private:
  struct Shard {
    std::mutex mutex;
    BytesMap<int64_t> counts;
  };
  std::vector<std::unique_ptr<Shard>> shards_;
};

// Reads `source` on the calling thread and splits and counts on `threads` threads.
std::unique_ptr<ChunkCounts> count_chunks(DocumentSource& source, const Splitter& splitter, unsigned threads);

}  // namespace nanochat::bpe
