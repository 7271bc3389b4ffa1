// One long-lived thread that runs a worker's model work, handed over from the HTTP threads.
// libgomp spins between parallel regions only while the threads it manages fit the cores;
// each thread that opens a parallel region brings its own helper threads, so engines run
// from whichever HTTP thread took the request would push it into sleeping between regions
// (a futex wake-up every region: decoding measured 1.5-2× slower). One thread per worker,
// with cores ÷ workers threads for its regions, keeps the count within the cores.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace nanochat::serve {

class JobThread {
 public:
  // `intra_op_threads`: threads for LibTorch's parallel regions started from this thread
  // (0: leave LibTorch's default).
  explicit JobThread(int intra_op_threads);
  ~JobThread();  // waits for a running job, then ends the thread
  JobThread(const JobThread&) = delete;
  JobThread& operator=(const JobThread&) = delete;

  // Runs `job` on the thread and returns when it is done, rethrowing what it threw. Calls
  // from several threads take turns.
  void run(const std::function<void()>& job);

 private:
  void loop(int intra_op_threads);

  std::mutex call_mutex_;  // one caller at a time
  std::mutex mutex_;
  std::condition_variable changed_;
  const std::function<void()>* job_ = nullptr;
  std::exception_ptr error_;
  bool done_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace nanochat::serve
