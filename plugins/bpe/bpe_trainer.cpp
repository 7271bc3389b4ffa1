// The merge loop of BPE training (see bpe_trainer.hpp). Words live in one flat array and
// shrink in place as pairs merge; every map is open-addressing, so a merge costs a scan of
// the words that hold the pair plus a few hash probes per occurrence, with no allocation
// per word.
#include "bpe_trainer.hpp"

#include <algorithm>

#include "nanochat/log.hpp"

namespace nanochat::bpe {
namespace {

inline uint64_t pair_key(uint32_t a, uint32_t b) { return (uint64_t{a} << 32) | b; }

struct PairStats {
  int64_t count = 0;
  std::vector<uint32_t> words;  // words that held the pair when it was counted or created

  void add(int64_t delta, uint32_t word) {
    count += delta;
    if (words.empty() || words.back() != word) words.push_back(word);
  }
};

struct HeapEntry {
  int64_t count;
  uint64_t pair;
};

// std heap functions put the greatest element first: higher count, then the smaller pair.
struct HeapLess {
  bool operator()(const HeapEntry& x, const HeapEntry& y) const {
    return x.count != y.count ? x.count < y.count : x.pair > y.pair;
  }
};

class MergeLoop {
 public:
  explicit MergeLoop(const ChunkCounts& chunk_counts) : pair_index_(1 << 16) {
    chunk_counts.for_each([&](std::string_view chunk, int64_t count) {
      word_start_.push_back(static_cast<uint32_t>(symbols_.size()));
      word_length_.push_back(static_cast<uint32_t>(chunk.size()));
      word_count_.push_back(count);
      for (unsigned char byte : chunk) symbols_.push_back(byte);
    });
    for (uint32_t w = 0; w < word_count_.size(); ++w) {
      const uint32_t* s = &symbols_[word_start_[w]];
      for (uint32_t i = 0; i + 1 < word_length_[w]; ++i) stats_for(pair_key(s[i], s[i + 1])).add(word_count_[w], w);
    }
    for (size_t i = 0; i < stats_.size(); ++i) heap_.push_back({stats_[i].count, stats_keys_[i]});
    std::make_heap(heap_.begin(), heap_.end(), HeapLess{});
  }

  std::vector<Merge> run(uint32_t num_merges) {
    std::vector<Merge> merges;
    merges.reserve(num_merges);
    const size_t log_every = std::max<size_t>(1, num_merges / 10);
    while (merges.size() < num_merges && !heap_.empty()) {
      std::pop_heap(heap_.begin(), heap_.end(), HeapLess{});
      const HeapEntry top = heap_.back();
      heap_.pop_back();
      const int64_t count = stats_[*pair_index_.find(top.pair) - 1].count;
      if (count != top.count) {  // stale: counts only fall, so re-queue at the true count
        if (count > 0) push_heap({count, top.pair});
        continue;
      }
      const uint32_t a = static_cast<uint32_t>(top.pair >> 32);
      const uint32_t b = static_cast<uint32_t>(top.pair);
      const uint32_t new_id = 256 + static_cast<uint32_t>(merges.size());
      merges.emplace_back(a, b);
      merge_everywhere(a, b, new_id);
      if (merges.size() % log_every == 0) {
        log::debug("bpe: {}/{} merges, last ({}, {}) -> {} seen {} times", merges.size(), num_merges, a, b, new_id,
                   top.count);
      }
    }
    return merges;
  }

 private:
  PairStats& stats_for(uint64_t key) {
    uint32_t& index = pair_index_[key];
    if (index == 0) {
      stats_.emplace_back();
      stats_keys_.push_back(key);
      index = static_cast<uint32_t>(stats_.size());  // stored 1-based: 0 means new
    }
    return stats_[index - 1];
  }

  void push_heap(HeapEntry entry) {
    heap_.push_back(entry);
    std::push_heap(heap_.begin(), heap_.end(), HeapLess{});
  }

  // Replaces every non-overlapping (a, b), left to right, in every word that may hold it,
  // and applies the count changes: the neighbours' old pairs lose the word's count, the
  // new pairs (which all contain new_id, so none existed before) gain it.
  void merge_everywhere(uint32_t a, uint32_t b, uint32_t new_id) {
    const uint64_t merged = pair_key(a, b);
    std::vector<uint32_t> words;
    {
      PairStats& merged_stats = stats_[*pair_index_.find(merged) - 1];
      words = std::move(merged_stats.words);
      merged_stats = PairStats{};
    }

    U64Map<uint32_t> new_index(16);
    new_pairs_.clear();
    new_keys_.clear();
    auto new_pair = [&](uint64_t key) -> PairStats& {
      uint32_t& index = new_index[key];
      if (index == 0) {
        new_pairs_.emplace_back();
        new_keys_.push_back(key);
        index = static_cast<uint32_t>(new_pairs_.size());
      }
      return new_pairs_[index - 1];
    };
    auto lose = [&](uint32_t x, uint32_t y, int64_t count, uint32_t word) {
      const uint64_t key = pair_key(x, y);
      if (key == merged) return;
      if (x == new_id || y == new_id) {
        new_pair(key).add(-count, word);
      } else {
        stats_[*pair_index_.find(key) - 1].count -= count;
      }
    };

    for (uint32_t w : words) {
      uint32_t* s = &symbols_[word_start_[w]];
      const uint32_t n = word_length_[w];
      const int64_t count = word_count_[w];
      uint32_t out = 0;
      for (uint32_t i = 0; i < n;) {
        if (i + 1 < n && s[i] == a && s[i + 1] == b) {
          if (out > 0) {
            lose(s[out - 1], a, count, w);
            new_pair(pair_key(s[out - 1], new_id)).add(count, w);
          }
          if (i + 2 < n) {
            lose(b, s[i + 2], count, w);
            new_pair(pair_key(new_id, s[i + 2])).add(count, w);
          }
          s[out++] = new_id;
          i += 2;
        } else {
          s[out++] = s[i++];
        }
      }
      word_length_[w] = out;
    }

    for (size_t i = 0; i < new_pairs_.size(); ++i) {
      if (new_pairs_[i].count <= 0) continue;
      PairStats& stats = stats_for(new_keys_[i]);
      stats = std::move(new_pairs_[i]);
      push_heap({stats.count, new_keys_[i]});
    }
  }

  std::vector<uint32_t> symbols_;
  std::vector<uint32_t> word_start_;
  std::vector<uint32_t> word_length_;
  std::vector<int64_t> word_count_;

  U64Map<uint32_t> pair_index_;  // pair -> 1 + index into stats_
  std::vector<PairStats> stats_;
  std::vector<uint64_t> stats_keys_;
  std::vector<HeapEntry> heap_;

  std::vector<PairStats> new_pairs_;
  std::vector<uint64_t> new_keys_;
};

}  // namespace

std::vector<Merge> learn_merges(const ChunkCounts& chunk_counts, uint32_t num_merges) {
  MergeLoop loop(chunk_counts);
  return loop.run(num_merges);
}

}  // namespace nanochat::bpe
