// `nanochat checkpoints verify [DIR]`: checks every saved step's files against the sizes
// and XXH64s its meta file lists, one line per step, exit 1 when any step is damaged.
#include <fmt/format.h>

#include <algorithm>
#include <iostream>

#include "commands.hpp"
#include "nanochat/base_dir.hpp"
#include "nanochat/checkpoint.hpp"
#include "nanochat/error.hpp"

namespace fs = std::filesystem;

namespace nanochat::host {
namespace {

const char* kCheckpointsUsage =
    "usage: nanochat checkpoints verify [DIR]\n"
    "\n"
    "Checks every step's files (the model, each rank's optimizer state) against the sizes and\n"
    "XXH64 checksums in its meta_<step>.json. DIR is one checkpoint folder (base_checkpoints/d4)\n"
    "or any folder above some (default: the base dir, $NANOCHAT_BASE_DIR). Prints one line per\n"
    "step; exits 1 when a file is damaged or missing.\n";

// DIR itself when it holds steps, else every folder below it that does, in path order.
std::vector<fs::path> checkpoint_folders(const fs::path& dir) {
  if (!checkpoint_steps(dir).empty()) return {dir};
  std::vector<fs::path> folders;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_directory(ec) && !checkpoint_steps(it->path()).empty()) folders.push_back(it->path());
  }
  if (ec) throw Error(fmt::format("cannot list {}: {}", dir.string(), ec.message()));
  std::sort(folders.begin(), folders.end());
  return folders;
}

const char* status_word(CheckpointCheck::Status status) {
  switch (status) {
    case CheckpointCheck::Status::ok: return "ok";
    case CheckpointCheck::Status::unverified: return "unverified";
    case CheckpointCheck::Status::damaged: return "DAMAGED";
  }
  return "?";
}

int verify(const fs::path& dir) {
  if (!fs::is_directory(dir)) throw Error("no folder " + dir.string());
  const std::vector<fs::path> folders = checkpoint_folders(dir);
  if (folders.empty()) throw Error("no checkpoints under " + dir.string() + " (no meta_<step>.json files)");
  int counts[3] = {0, 0, 0};
  for (const fs::path& folder : folders) {
    const std::string label = folder == dir ? folder.string() : folder.lexically_relative(dir).string();
    for (int64_t step : checkpoint_steps(folder)) {
      const CheckpointCheck check = check_checkpoint(CheckpointFiles{folder, step});
      ++counts[static_cast<int>(check.status)];
      std::cout << fmt::format("{} step {:06d}: {} ({})", label, step, status_word(check.status), check.detail)
                << std::endl;
    }
  }
  std::cout << fmt::format("{} steps: {} ok, {} damaged, {} unverified", counts[0] + counts[1] + counts[2], counts[0],
                           counts[2], counts[1])
            << "\n";
  return counts[static_cast<int>(CheckpointCheck::Status::damaged)] > 0 ? 1 : 0;
}

}  // namespace

int checkpoints_command(const Args& args) {
  if (args.empty()) {
    std::cerr << kCheckpointsUsage;
    return 2;
  }
  if (args[0] == "--help" || args[0] == "-h") {
    std::cout << kCheckpointsUsage;
    return 0;
  }
  if (args[0] != "verify") throw UsageError("unknown subcommand 'checkpoints " + args[0] + "' (only verify)");
  if (args.size() > 2) throw UsageError("`nanochat checkpoints verify` takes at most one folder");
  return verify(args.size() == 2 ? fs::path(args[1]) : base_dir());
}

}  // namespace nanochat::host
