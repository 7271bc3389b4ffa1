// TaskMixture and TaskSequence, nanochat's tasks/common.py classes (see nanochat/task.hpp).
#include <algorithm>

#include <fmt/format.h>

#include "nanochat/error.hpp"
#include "nanochat/python_random.hpp"
#include "nanochat/task.hpp"

namespace nanochat {
namespace {

void check_index(const char* what, size_t index, size_t size) {
  if (index >= size) throw Error(fmt::format("index {} is past the end of a {} of {} examples", index, what, size));
}

}  // namespace

TaskMixture::TaskMixture(std::vector<TaskRef> parts, uint64_t seed) : parts_(std::move(parts)) {
  // nanochat builds index_map = [(part, index) for each part, for each index] and shuffles it
  // with random.Random(seed); the shuffle depends only on the length, so the pairs can be
  // anything in that order.
  for (size_t part = 0; part < parts_.size(); ++part) {
    const size_t n = parts_[part].size();
    for (size_t index = 0; index < n; ++index) order_.push_back({part, index});
  }
  PythonRandom rng(seed);
  rng.shuffle(order_);
}

TaskLocation TaskMixture::locate(size_t i) const {
  check_index("task mixture", i, order_.size());
  return order_[i];
}

TaskExample TaskMixture::get(size_t i) const {
  const TaskLocation where = locate(i);
  return parts_[where.part].get(where.index);
}

TaskSequence::TaskSequence(std::vector<TaskRef> parts) : parts_(std::move(parts)) {
  size_t total = 0;
  for (const TaskRef& part : parts_) ends_.push_back(total += part.size());
}

TaskLocation TaskSequence::locate(size_t i) const {
  check_index("task sequence", i, size());
  const size_t part = static_cast<size_t>(std::upper_bound(ends_.begin(), ends_.end(), i) - ends_.begin());
  return {part, i - (part == 0 ? 0 : ends_[part - 1])};
}

TaskExample TaskSequence::get(size_t i) const {
  const TaskLocation where = locate(i);
  return parts_[where.part].get(where.index);
}

}  // namespace nanochat
