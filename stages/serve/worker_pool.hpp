// Who may generate now: a fixed set of workers (one engine each) and a bounded queue in
// front of them, as nanochat's WorkerPool but with a limit, so an overloaded server answers
// 503 at once instead of letting requests pile up without end. Torch-free.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

namespace nanochat::serve {

class WorkerPool {
 public:
  // A request's place in the pool: queued at first, then holding a worker until it is
  // destroyed (or released), which hands the worker to the next queued request.
  class Ticket {
   public:
    ~Ticket();
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;

    // Waits (in arrival order) for a free worker and returns its index.
    size_t acquire();
    // Gives the place back at once rather than at destruction.
    void release();

   private:
    friend class WorkerPool;
    explicit Ticket(WorkerPool& pool) : pool_(pool) {}

    WorkerPool& pool_;
    bool admitted_ = true;
    static constexpr size_t kNoWorker = SIZE_MAX;
    size_t worker_ = kNoWorker;
  };

  struct WorkerState {
    bool busy = false;
    uint64_t requests = 0;  // requests it has started
  };

  struct Snapshot {
    size_t total_workers = 0;
    size_t available_workers = 0;
    size_t queued = 0;  // admitted requests waiting for a worker
    size_t max_queued = 0;
    std::vector<WorkerState> workers;
  };

  WorkerPool(size_t workers, size_t max_queued);

  // A ticket when a worker is free or the queue has room; nullptr when the server is full.
  std::unique_ptr<Ticket> try_admit();

  Snapshot snapshot() const;

 private:
  size_t acquire(Ticket* ticket);
  void release(Ticket* ticket);

  const size_t max_queued_;
  mutable std::mutex mutex_;
  std::condition_variable freed_;
  std::vector<WorkerState> workers_;
  std::vector<size_t> free_;      // indices of idle workers
  std::deque<Ticket*> waiting_;   // admitted, in arrival order, not yet holding a worker
  size_t admitted_ = 0;           // tickets alive (waiting or holding a worker)
};

}  // namespace nanochat::serve
