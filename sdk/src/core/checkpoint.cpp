// Checkpoint file names and discovery; the tensor part (saving weights and optimizer state)
// is in the tensor library.
#include "nanochat/checkpoint.hpp"

#include <fmt/format.h>

#include <fstream>
#include <regex>

#include "nanochat/atomic_file.hpp"
#include "nanochat/error.hpp"

namespace fs = std::filesystem;

namespace nanochat {

fs::path CheckpointFiles::model() const { return dir / fmt::format("model_{:06d}.safetensors", step); }
fs::path CheckpointFiles::optimizer(int rank) const {
  return dir / fmt::format("optim_{:06d}_rank{}.safetensors", step, rank);
}
fs::path CheckpointFiles::meta() const { return dir / fmt::format("meta_{:06d}.json", step); }

std::vector<int64_t> checkpoint_steps(const fs::path& dir) {
  static const std::regex meta_name("^meta_([0-9]{6,})\\.json$");
  std::vector<int64_t> steps;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::smatch match;
    std::string name = it->path().filename().string();
    if (std::regex_match(name, match, meta_name)) steps.push_back(std::stoll(match[1].str()));
  }
  std::sort(steps.begin(), steps.end());
  return steps;
}

std::optional<int64_t> last_checkpoint_step(const fs::path& dir) {
  auto steps = checkpoint_steps(dir);
  if (steps.empty()) return std::nullopt;
  return steps.back();
}

fs::path find_checkpoint_dir(const fs::path& base, Artifact stage, const std::string& tag) {
  fs::path root = artifact_dir(stage, base);
  if (!tag.empty()) {
    if (!fs::is_directory(root / tag)) throw Error("no checkpoint folder " + (root / tag).string());
    return root / tag;
  }
  static const std::regex depth_tag("^d([0-9]+)$");
  fs::path best_depth, newest;
  long best = -1;
  fs::file_time_type newest_time{};
  std::error_code ec;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_directory(ec)) continue;
    std::smatch match;
    std::string name = it->path().filename().string();
    if (std::regex_match(name, match, depth_tag) && std::stol(match[1].str()) > best) {
      best = std::stol(match[1].str());
      best_depth = it->path();
    }
    auto changed = fs::last_write_time(it->path(), ec);
    if (newest.empty() || changed > newest_time) {
      newest = it->path();
      newest_time = changed;
    }
  }
  if (!best_depth.empty()) return best_depth;
  if (!newest.empty()) return newest;
  throw Error("no checkpoints in " + root.string() + ": run the stage that makes them first");
}

nlohmann::json read_json_file(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw Error("cannot read " + file.string());
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error(file.string() + ": not valid JSON (" + e.what() + ")");
  }
}

void write_json_file(const fs::path& file, const nlohmann::json& value) {
  atomic_write_file(file, value.dump(2) + "\n");
}

}  // namespace nanochat
