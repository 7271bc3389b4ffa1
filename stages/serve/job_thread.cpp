// A worker's model thread (see job_thread.hpp).
#include "job_thread.hpp"

#include <ATen/Parallel.h>

namespace nanochat::serve {

JobThread::JobThread(int intra_op_threads) : thread_([this, intra_op_threads] { loop(intra_op_threads); }) {}

JobThread::~JobThread() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

void JobThread::run(const std::function<void()>& job) {
  std::lock_guard<std::mutex> turn(call_mutex_);
  std::unique_lock<std::mutex> lock(mutex_);
  job_ = &job;
  done_ = false;
  error_ = nullptr;
  changed_.notify_all();
  changed_.wait(lock, [this] { return done_; });
  if (error_) std::rethrow_exception(error_);
}

void JobThread::loop(int intra_op_threads) {
  if (intra_op_threads > 0) at::set_num_threads(intra_op_threads);
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    changed_.wait(lock, [this] { return stopping_ || job_ != nullptr; });
    if (job_ == nullptr) return;
    const std::function<void()>* job = job_;
    lock.unlock();
    std::exception_ptr error;
    try {
      (*job)();
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    job_ = nullptr;
    error_ = error;
    done_ = true;
    changed_.notify_all();
  }
}

}  // namespace nanochat::serve
