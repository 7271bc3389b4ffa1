// The pool's bookkeeping under one mutex; waiters are woken together and only the oldest
// takes a worker, which keeps the queue first-come first-served.
#include "worker_pool.hpp"

#include "nanochat/error.hpp"

namespace nanochat::serve {

WorkerPool::WorkerPool(size_t workers, size_t max_queued) : max_queued_(max_queued), workers_(workers) {
  if (workers == 0) throw UsageError("--workers must be at least 1");
  // Lowest index first: with fewer requests than workers, worker 0 does the work.
  for (size_t i = workers; i-- > 0;) free_.push_back(i);
}

std::unique_ptr<WorkerPool::Ticket> WorkerPool::try_admit() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (admitted_ >= workers_.size() + max_queued_) return nullptr;
  ++admitted_;
  return std::unique_ptr<Ticket>(new Ticket(*this));
}

size_t WorkerPool::acquire(Ticket* ticket) {
  std::unique_lock<std::mutex> lock(mutex_);
  waiting_.push_back(ticket);
  freed_.wait(lock, [&] { return waiting_.front() == ticket && !free_.empty(); });
  waiting_.pop_front();
  size_t worker = free_.back();
  free_.pop_back();
  workers_[worker].busy = true;
  ++workers_[worker].requests;
  ticket->worker_ = worker;
  // The next in line may find another free worker.
  if (!waiting_.empty() && !free_.empty()) freed_.notify_all();
  return worker;
}

void WorkerPool::release(Ticket* ticket) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (ticket->worker_ != Ticket::kNoWorker) {
      workers_[ticket->worker_].busy = false;
      free_.push_back(ticket->worker_);
      ticket->worker_ = Ticket::kNoWorker;
    }
    --admitted_;
  }
  freed_.notify_all();
}

WorkerPool::Snapshot WorkerPool::snapshot() const {
  std::lock_guard<std::mutex> lock(mutex_);
  Snapshot s;
  s.total_workers = workers_.size();
  s.available_workers = free_.size();
  s.queued = admitted_ - (workers_.size() - free_.size());
  s.max_queued = max_queued_;
  s.workers = workers_;
  return s;
}

WorkerPool::Ticket::~Ticket() { release(); }

size_t WorkerPool::Ticket::acquire() {
  if (!admitted_) throw Error("internal: a released ticket cannot take a worker");
  return worker_ != kNoWorker ? worker_ : pool_.acquire(this);
}

void WorkerPool::Ticket::release() {
  if (!admitted_) return;
  admitted_ = false;
  pool_.release(this);
}

}  // namespace nanochat::serve
