// `nanochat run download`: fetches the pretraining text, nanochat's FineWeb-Edu-100B shards
// (Parquet, a `text` column), over HTTPS into $NANOCHAT_BASE_DIR/parquet/, several at once,
// each retried with exponential backoff. Shards already complete are skipped, so a rerun
// resumes; a shard that never arrives whole never appears under its final name. Torch-free.
#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <mutex>
#include <thread>
#include <vector>

#include "http_fetch.hpp"
#include "nanochat/atomic_file.hpp"
#include "nanochat/error.hpp"
#include "nanochat/log.hpp"
#include "nanochat/plugin.hpp"
#include "nanochat/stage.hpp"
#include "shard_download.hpp"
#include "shard_files.hpp"

namespace fs = std::filesystem;
namespace po = boost::program_options;

namespace nanochat::download {
namespace {

// nanochat's dataset.py before its switch to ClimbMix (commit 324e69c^): FineWeb-Edu-100B,
// reshuffled, in shards shard_00000.parquet ... shard_01822.parquet of about 100 MB each.
constexpr const char* kFinewebEduUrl = "https://huggingface.co/datasets/karpathy/fineweb-edu-100b-shuffle/resolve/main";
constexpr int64_t kFinewebEduShards = 1823;

struct Shard {
  std::string name;
  fs::path target;
  ShardResult result;
};

// The shards to fetch; removes a file under a shard's name that is not complete Parquet.
std::vector<Shard> missing_shards(const fs::path& dir, int64_t count, int64_t& complete) {
  std::vector<Shard> missing;
  for (int64_t index = 0; index < count; ++index) {
    const std::string name = shard_file_name(index);
    const fs::path target = dir / name;
    if (fs::exists(target)) {
      const std::string problem = parquet_problem(target);
      if (problem.empty()) {
        ++complete;
        continue;
      }
      log::warn("{} is not complete ({}): downloading it again", name, problem);
      fs::remove(target);
    }
    missing.push_back({name, target, {}});
  }
  return missing;
}

std::string failure_list(const std::vector<const Shard*>& failed) {
  std::string text;
  for (size_t i = 0; i < failed.size() && i < 5; ++i) text += (i == 0 ? "" : ", ") + failed[i]->name;
  if (failed.size() > 5) text += fmt::format(" and {} more", failed.size() - 5);
  return text + fmt::format(" (last error of {}: {})", failed.front()->name, failed.front()->result.message);
}

class DownloadStage final : public Stage {
 public:
  void declare_options(po::options_description& options) override {
    options.add_options()
        ("base-url", po::value<std::string>()->default_value(kFinewebEduUrl),
         "where the shards are: BASE-URL/shard_00000.parquet, ... (http:// or https://)")
        ("num-shards", po::value<int64_t>()->default_value(-1),
         "download shards 0 .. N-1; -1 = all 1823 of FineWeb-Edu-100B (about 170 GB)")
        ("num-workers", po::value<int>()->default_value(4), "shards downloaded at once")
        ("retries", po::value<int>()->default_value(4), "attempts after a shard's first one fails")
        ("retry-delay", po::value<double>()->default_value(2, "2"),
         "seconds before the first retry, doubled before each next one")
        ("timeout", po::value<double>()->default_value(30, "30"), "seconds to connect, and to wait for data")
        ("out-dir", po::value<std::string>(), "where the shards go (default: $NANOCHAT_BASE_DIR/parquet)");
  }

  void run(const po::variables_map& options, const StageContext& context) override {
    const std::string base_url = options["base-url"].as<std::string>();
    parse_url(base_url);  // a malformed URL fails now, as a usage error
    const int64_t num_shards = options["num-shards"].as<int64_t>();
    if (num_shards != -1 && (num_shards < 1 || num_shards > kFinewebEduShards)) {
      throw UsageError(fmt::format("--num-shards must be -1 (all) or 1 .. {}, not {}", kFinewebEduShards, num_shards));
    }
    const int workers = options["num-workers"].as<int>();
    if (workers < 1) throw UsageError("--num-workers must be at least 1");
    RetryPolicy retry{options["retries"].as<int>(), options["retry-delay"].as<double>()};
    if (retry.retries < 0 || !(retry.first_delay_seconds >= 0)) {
      throw UsageError("--retries and --retry-delay must not be negative");
    }
    FetchSettings fetch;
    fetch.timeout_seconds = options["timeout"].as<double>();
    if (!(fetch.timeout_seconds > 0)) throw UsageError("--timeout must be positive");
    const fs::path out_dir =
        options.count("out-dir") ? fs::path(options["out-dir"].as<std::string>()) : context.base_dir / "parquet";

    fs::create_directories(out_dir);
    remove_abandoned_temps(out_dir);  // those of an earlier run that was killed
    int64_t complete = 0;
    std::vector<Shard> shards = missing_shards(out_dir, num_shards == -1 ? kFinewebEduShards : num_shards, complete);
    log::info("downloading {} shards from {} into {} with {} workers ({} already complete)", shards.size(), base_url,
              out_dir.string(), workers, complete);
    std::string prefix = base_url;
    while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();

    const auto start = std::chrono::steady_clock::now();
    std::atomic<size_t> next{0};
    std::atomic<bool> stop{false};  // set when the host cannot be reached: the rest would fail too
    std::mutex progress;
    size_t downloaded = 0;
    uint64_t bytes = 0;
    auto work = [&] {
      for (size_t i = next++; i < shards.size() && !stop; i = next++) {
        Shard& shard = shards[i];
        const auto shard_start = std::chrono::steady_clock::now();
        try {
          shard.result = download_shard(prefix + "/" + shard.name, shard.target, fetch, retry, stop);
        } catch (const std::exception& e) {  // the folder itself failed us (disk full, permissions)
          shard.result = {ShardStatus::failed, e.what(), 0};
          stop = true;
        }
        if (shard.result.status == ShardStatus::unreachable) stop = true;
        if (shard.result.status != ShardStatus::downloaded) continue;
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - shard_start).count();
        std::lock_guard<std::mutex> lock(progress);
        ++downloaded;
        bytes += shard.result.bytes;
        log::info("{} {:.1f} MB in {:.1f} s ({:.1f} MB/s) [{}/{}]", shard.name, shard.result.bytes / 1e6, seconds,
                  shard.result.bytes / 1e6 / seconds, downloaded, shards.size());
      }
    };
    std::vector<std::thread> threads;
    for (int t = 0; t < workers && t < static_cast<int>(shards.size()); ++t) threads.emplace_back(work);
    for (std::thread& thread : threads) thread.join();

    std::vector<const Shard*> unreachable;
    std::vector<const Shard*> failed;
    for (const Shard& shard : shards) {
      if (shard.result.status == ShardStatus::unreachable) unreachable.push_back(&shard);
      if (shard.result.status == ShardStatus::failed) failed.push_back(&shard);
    }
    if (!unreachable.empty()) {
      throw Error(fmt::format("{} (after {} attempts); check --base-url and the network ({} of {} shards missing)",
                              unreachable.front()->result.message, retry.retries + 1, shards.size() - downloaded,
                              shards.size() + complete));
    }
    if (!failed.empty()) {
      throw Error(fmt::format("{} of {} shards failed after up to {} attempts each: {}", failed.size(), shards.size(),
                              retry.retries + 1, failure_list(failed)));
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cout << fmt::format("downloaded {} shards ({:.1f} MB) in {:.1f} s, {} already complete: {} shards in {}\n",
                             downloaded, bytes / 1e6, seconds, complete, downloaded + complete, out_dir.string());
  }
};

}  // namespace
}  // namespace nanochat::download

NANOCHAT_PLUGIN(NANOCHAT_KIND_STAGE, nanochat::Stage, nanochat::download::DownloadStage, "download", "1.0.0",
                "downloads nanochat's FineWeb-Edu pretraining shards (Parquet) into parquet/")
