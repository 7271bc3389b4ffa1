// Parallel chunk counting (see chunk_counter.hpp): the calling thread reads documents into
// batches of about 1 MB and hands them through a small bounded queue to the workers.
#include "chunk_counter.hpp"

#include <condition_variable>
#include <deque>
#include <exception>
#include <thread>

namespace nanochat::bpe {
namespace {

constexpr size_t kBatchBytes = 1 << 20;
constexpr int kShardBits = 6;
constexpr size_t kLocalEntries = 1 << 20;  // about 40 MB of map per worker before it flushes

size_t shard_of(uint64_t hash) { return hash >> (64 - kShardBits); }

class BatchQueue {
 public:
  explicit BatchQueue(size_t capacity) : capacity_(capacity) {}

  void push(std::vector<std::string> batch) {
    std::unique_lock<std::mutex> lock(mutex_);
    not_full_.wait(lock, [&] { return queue_.size() < capacity_; });
    queue_.push_back(std::move(batch));
    not_empty_.notify_one();
  }

  // False when the queue is closed and drained.
  bool pop(std::vector<std::string>& batch) {
    std::unique_lock<std::mutex> lock(mutex_);
    not_empty_.wait(lock, [&] { return !queue_.empty() || closed_; });
    if (queue_.empty()) return false;
    batch = std::move(queue_.front());
    queue_.pop_front();
    not_full_.notify_one();
    return true;
  }

  void close() {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    not_empty_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable not_full_;
  std::condition_variable not_empty_;
  std::deque<std::vector<std::string>> queue_;
  size_t capacity_;
  bool closed_ = false;
};

// One worker's counting: splits documents into its own map and flushes it when large.
class LocalCounter {
 public:
  LocalCounter(const Splitter& splitter, ChunkCounts& totals) : splitter_(splitter), totals_(totals) {}

  void count(std::string_view document) {
    splitter_.split(document, ends_);
    size_t start = 0;
    for (size_t end : ends_) {
      if (end - start >= 2) ++counts_[document.substr(start, end - start)];
      start = end;
    }
    if (counts_.size() >= kLocalEntries) flush();
  }

  void flush() { totals_.add(counts_); }

 private:
  const Splitter& splitter_;
  ChunkCounts& totals_;
  BytesMap<int64_t> counts_;
  std::vector<size_t> ends_;
};

}  // namespace

ChunkCounts::ChunkCounts() {
  for (size_t i = 0; i < (size_t{1} << kShardBits); ++i) shards_.push_back(std::make_unique<Shard>());
}

void ChunkCounts::add(BytesMap<int64_t>& local) {
  struct Entry {
    std::string_view chunk;
    uint64_t hash;
    int64_t count;
  };
  std::vector<std::vector<Entry>> by_shard(shards_.size());
  local.for_each([&](std::string_view chunk, int64_t count) {
    const uint64_t hash = hash_bytes(chunk);
    by_shard[shard_of(hash)].push_back({chunk, hash, count});
  });
  for (size_t s = 0; s < shards_.size(); ++s) {
    std::lock_guard<std::mutex> lock(shards_[s]->mutex);
    for (const Entry& e : by_shard[s]) shards_[s]->counts.get(e.chunk, e.hash) += e.count;
  }
  local.clear();
}

size_t ChunkCounts::size() const {
  size_t n = 0;
  for (const auto& shard : shards_) n += shard->counts.size();
  return n;
}

std::unique_ptr<ChunkCounts> count_chunks(DocumentSource& source, const Splitter& splitter, unsigned threads) {
  auto totals = std::make_unique<ChunkCounts>();
  std::string document;
  if (threads <= 1) {
    LocalCounter counter(splitter, *totals);
    while (source.next(document)) {
      ++totals->documents;
      totals->bytes += document.size();
      counter.count(document);
    }
    counter.flush();
    return totals;
  }

  BatchQueue queue(2 * threads);
  std::vector<std::exception_ptr> errors(threads);
  std::vector<std::thread> workers;
  for (unsigned t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      try {
        LocalCounter counter(splitter, *totals);
        std::vector<std::string> batch;
        while (queue.pop(batch)) {
          for (const std::string& doc : batch) counter.count(doc);
        }
        counter.flush();
      } catch (...) {
        errors[t] = std::current_exception();
        // Keep draining so the reader never blocks on a full queue.
        std::vector<std::string> batch;
        while (queue.pop(batch)) {
        }
      }
    });
  }

  std::exception_ptr read_error;
  try {
    std::vector<std::string> batch;
    size_t batch_bytes = 0;
    while (source.next(document)) {
      ++totals->documents;
      totals->bytes += document.size();
      batch_bytes += document.size();
      batch.push_back(std::move(document));
      if (batch_bytes >= kBatchBytes) {
        queue.push(std::move(batch));
        batch.clear();
        batch_bytes = 0;
      }
    }
    if (!batch.empty()) queue.push(std::move(batch));
  } catch (...) {
    read_error = std::current_exception();
  }
  queue.close();
  for (std::thread& worker : workers) worker.join();
  if (read_error) std::rethrow_exception(read_error);
  for (const std::exception_ptr& error : errors) {
    if (error) std::rethrow_exception(error);
  }
  return totals;
}

}  // namespace nanochat::bpe
