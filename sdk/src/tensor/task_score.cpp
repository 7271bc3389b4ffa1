// Adding up the ranks' task scores (see nanochat/task_eval.hpp).
#include <ATen/ATen.h>

#include "nanochat/task_eval.hpp"

namespace nanochat {

TaskScore sum_over_ranks(const TaskScore& mine, Distributed& dist, c10::Device device) {
  at::Tensor counts = at::tensor(std::vector<int64_t>{mine.passed, mine.total}, at::kLong).to(device);
  dist.all_reduce_sum(counts);
  counts = counts.to(at::kCPU);
  return TaskScore{counts[0].item<int64_t>(), counts[1].item<int64_t>()};
}

}  // namespace nanochat
