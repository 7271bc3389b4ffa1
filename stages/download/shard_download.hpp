// Downloading one shard with retries: the body goes to a temp file beside the target, which
// takes the final name only once the body is whole and the file opens as Parquet, so a
// partial download never looks complete.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <string>

#include "http_fetch.hpp"

namespace nanochat::download {

struct RetryPolicy {
  int retries = 4;                  // attempts after the first
  double first_delay_seconds = 2;  // before the first retry, doubled before each next one
};

enum class ShardStatus { downloaded, failed, unreachable, stopped };

struct ShardResult {
  ShardStatus status = ShardStatus::failed;
  std::string message;  // the last attempt's error
  uint64_t bytes = 0;
};

// Fetches `url` into `target`. Gives up early, as `stopped`, once `stop` is set.
ShardResult download_shard(const std::string& url, const std::filesystem::path& target, const FetchSettings& fetch,
                           const RetryPolicy& retry, const std::atomic<bool>& stop);

}  // namespace nanochat::download
