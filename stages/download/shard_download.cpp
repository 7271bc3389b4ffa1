// One shard, retried with exponential backoff (see shard_download.hpp).
#include "shard_download.hpp"

#include <chrono>
#include <cmath>
#include <thread>

#include "nanochat/atomic_file.hpp"
#include "nanochat/log.hpp"
#include "shard_files.hpp"

namespace nanochat::download {
namespace {

// Sleeps in short steps so that a stop request is seen soon; false if it came.
bool sleep_unless_stopped(double seconds, const std::atomic<bool>& stop) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < until) {
    if (stop) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return !stop;
}

// One attempt; publishes the file when it succeeds.
FetchResult attempt_download(const std::string& url, const std::filesystem::path& target, const FetchSettings& fetch) {
  AtomicFileWriter writer(target);  // an attempt that fails removes its temp file
  FetchResult result = http_fetch(url, fetch, [&](const char* data, size_t size) { writer.write(data, size); });
  if (result.status != FetchStatus::ok) return result;
  const std::string problem = parquet_problem(writer.temp_path());
  if (!problem.empty()) {
    return {FetchStatus::retryable, "the body is not a complete Parquet file: " + problem, result.bytes};
  }
  writer.commit();
  return result;
}

}  // namespace

ShardResult download_shard(const std::string& url, const std::filesystem::path& target, const FetchSettings& fetch,
                           const RetryPolicy& retry, const std::atomic<bool>& stop) {
  const int attempts = retry.retries + 1;
  FetchResult last;
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    if (stop) return {ShardStatus::stopped, "stopped", 0};
    last = attempt_download(url, target, fetch);
    if (last.status == FetchStatus::ok) return {ShardStatus::downloaded, "", last.bytes};
    log::warn("{}: attempt {}/{} failed: {}", target.filename().string(), attempt, attempts, last.message);
    if (last.status == FetchStatus::fatal) break;
    const double delay = retry.first_delay_seconds * std::pow(2.0, attempt - 1);
    if (attempt < attempts && !sleep_unless_stopped(delay, stop)) return {ShardStatus::stopped, "stopped", 0};
  }
  const ShardStatus status = last.status == FetchStatus::unreachable ? ShardStatus::unreachable : ShardStatus::failed;
  return {status, last.message, 0};
}

}  // namespace nanochat::download
