// tiktoken's byte-pair merge (see bpe_encoder.hpp), on integer pairs instead of hashed byte
// slices. Short chunks use tiktoken's own linear scan; long ones (a run of thousands of
// spaces or digits-free letters) a heap over a linked list, so no chunk costs O(n^2).
#include "bpe_encoder.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <queue>

#include "nanochat/error.hpp"

namespace nanochat::bpe {
namespace {

constexpr uint32_t kNoRank = std::numeric_limits<uint32_t>::max();
constexpr size_t kHeapFromLength = 128;
constexpr size_t kCacheEntries = 1 << 18;  // about 10 MB per thread

inline uint64_t pair_key(uint32_t a, uint32_t b) { return (uint64_t{a} << 32) | b; }

std::atomic<uint64_t> next_instance{1};

std::string printable(std::string_view bytes) {
  std::string out;
  for (unsigned char c : bytes) out += (c >= 0x20 && c < 0x7F) ? std::string(1, c) : fmt::format("\\x{:02x}", c);
  return out;
}

}  // namespace

// One per thread; it belongs to one encoder at a time and is emptied when full.
struct BpeEncoder::Cache {
  uint64_t owner = 0;
  BytesMap<std::pair<uint32_t, uint32_t>> spans{1024};  // chunk -> (offset, count) in ids
  std::vector<int32_t> ids;

  void reset(uint64_t new_owner) {
    owner = new_owner;
    spans.clear();
    ids.clear();
  }
};

BpeEncoder::Cache& BpeEncoder::thread_cache() const {
  thread_local Cache cache;
  if (cache.owner != instance_) cache.reset(instance_);
  return cache;
}

BpeEncoder::BpeEncoder(std::vector<std::string> tokens)
    : tokens_(std::move(tokens)),
      ranks_(tokens_.size()),
      pair_ranks_(tokens_.size() * 2),
      instance_(next_instance.fetch_add(1)) {
  std::fill(std::begin(byte_tokens_), std::end(byte_tokens_), kNoRank);
  for (uint32_t id = 0; id < tokens_.size(); ++id) {
    const std::string& bytes = tokens_[id];
    if (bytes.empty()) throw Error(fmt::format("token {} is empty", id));
    if (const uint32_t* same = ranks_.find(bytes)) {
      throw Error(fmt::format("tokens {} and {} have the same bytes '{}'", *same, id, printable(bytes)));
    }
    ranks_[bytes] = id;
    if (bytes.size() == 1) byte_tokens_[static_cast<unsigned char>(bytes[0])] = id;
  }
  for (int b = 0; b < 256; ++b) {
    if (byte_tokens_[b] == kNoRank) throw Error(fmt::format("no token for the single byte 0x{:02x}", b));
  }
  for (uint32_t id = 0; id < tokens_.size(); ++id) {
    const std::string_view bytes = tokens_[id];
    for (size_t k = 1; k < bytes.size(); ++k) {
      const uint32_t* left = ranks_.find(bytes.substr(0, k));
      const uint32_t* right = left ? ranks_.find(bytes.substr(k)) : nullptr;
      if (right) pair_ranks_[pair_key(*left, *right)] = id;
    }
  }
}

std::optional<uint32_t> BpeEncoder::find(std::string_view bytes) const {
  if (const uint32_t* rank = ranks_.find(bytes)) return *rank;
  return std::nullopt;
}

uint32_t BpeEncoder::pair_rank(uint32_t left, uint32_t right) const {
  const uint32_t* rank = pair_ranks_.find(pair_key(left, right));
  return rank ? *rank : kNoRank;
}

void BpeEncoder::encode_chunk(std::string_view chunk, Cache& cache, std::vector<int32_t>& out) const {
  if (chunk.size() == 1) {
    out.push_back(static_cast<int32_t>(byte_tokens_[static_cast<unsigned char>(chunk[0])]));
    return;
  }
  const uint64_t hash = hash_bytes(chunk);
  if (const uint32_t* rank = ranks_.find(chunk, hash)) {
    out.push_back(static_cast<int32_t>(*rank));
    return;
  }
  // Long chunks (runs of one character, mostly) are rare and would only bloat the cache.
  if (chunk.size() >= kHeapFromLength) {
    merge_with_heap(chunk, out);
    return;
  }
  if (cache.spans.size() >= kCacheEntries) cache.reset(instance_);
  if (const auto* span = cache.spans.find(chunk, hash)) {
    out.insert(out.end(), cache.ids.begin() + span->first, cache.ids.begin() + span->first + span->second);
    return;
  }
  const size_t first = out.size();
  merge_linear(chunk, out);
  cache.spans.get(chunk, hash) = {static_cast<uint32_t>(cache.ids.size()), static_cast<uint32_t>(out.size() - first)};
  cache.ids.insert(cache.ids.end(), out.begin() + first, out.end());
}

void BpeEncoder::merge_chunk(std::string_view chunk, bool use_heap, std::vector<int32_t>& out) const {
  if (use_heap) {
    merge_with_heap(chunk, out);
  } else {
    merge_linear(chunk, out);
  }
}

void BpeEncoder::merge_linear(std::string_view chunk, std::vector<int32_t>& out) const {
  // parts[i] is a token; ranks[i] the rank of parts[i] + parts[i + 1].
  thread_local std::vector<uint32_t> parts;
  thread_local std::vector<uint32_t> ranks;
  parts.clear();
  ranks.clear();
  for (unsigned char c : chunk) parts.push_back(byte_tokens_[c]);
  for (size_t i = 0; i + 1 < parts.size(); ++i) ranks.push_back(pair_rank(parts[i], parts[i + 1]));
  while (!ranks.empty()) {
    const size_t i = static_cast<size_t>(std::min_element(ranks.begin(), ranks.end()) - ranks.begin());
    if (ranks[i] == kNoRank) break;
    parts[i] = ranks[i];
    parts.erase(parts.begin() + static_cast<std::ptrdiff_t>(i) + 1);
    ranks.erase(ranks.begin() + static_cast<std::ptrdiff_t>(i));
    if (i > 0) ranks[i - 1] = pair_rank(parts[i - 1], parts[i]);
    if (i < ranks.size()) ranks[i] = pair_rank(parts[i], parts[i + 1]);
  }
  for (uint32_t id : parts) out.push_back(static_cast<int32_t>(id));
}

void BpeEncoder::merge_with_heap(std::string_view chunk, std::vector<int32_t>& out) const {
  // A doubly linked list of parts indexed by their first byte, and a min-heap of
  // (rank, position) whose entries go stale when their part changes or disappears.
  const size_t n = chunk.size();
  std::vector<uint32_t> token(n), rank(n, kNoRank);
  std::vector<size_t> next(n), prev(n);
  std::vector<bool> alive(n, true);
  for (size_t i = 0; i < n; ++i) {
    token[i] = byte_tokens_[static_cast<unsigned char>(chunk[i])];
    next[i] = i + 1;
    prev[i] = i == 0 ? n : i - 1;  // n = none
  }
  using Entry = std::pair<uint32_t, size_t>;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap;
  auto update = [&](size_t i) {
    rank[i] = next[i] < n ? pair_rank(token[i], token[next[i]]) : kNoRank;
    if (rank[i] != kNoRank) heap.push({rank[i], i});
  };
  for (size_t i = 0; i < n; ++i) update(i);
  while (!heap.empty()) {
    const auto [r, i] = heap.top();
    heap.pop();
    if (!alive[i] || rank[i] != r) continue;
    const size_t j = next[i];
    token[i] = r;
    alive[j] = false;
    next[i] = next[j];
    if (next[j] < n) prev[next[j]] = i;
    update(i);
    if (prev[i] < n) update(prev[i]);
  }
  for (size_t i = 0; i < n; i = next[i]) out.push_back(static_cast<int32_t>(token[i]));
}

}  // namespace nanochat::bpe
