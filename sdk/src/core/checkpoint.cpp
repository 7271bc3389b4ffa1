// Checkpoint file names, discovery and integrity (the file list with sizes and XXH64s in
// each meta); the tensor part (saving weights and optimizer state) is in the tensor library.
#include "nanochat/checkpoint.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <mutex>
#include <regex>

#include "nanochat/atomic_file.hpp"
#include "nanochat/error.hpp"
#include "nanochat/log.hpp"

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

namespace {

struct ListedFile {
  uint64_t xxh64 = 0;
  uint64_t bytes = 0;
};

ListedFile listed_file(const CheckpointFiles& files, const std::string& name, const nlohmann::json& entry) {
  try {
    // A plain file name: the list must never point outside the checkpoint folder.
    if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..") {
      throw std::invalid_argument(name);
    }
    const std::string hex = entry.at("xxh64").get<std::string>();
    size_t used = 0;
    const uint64_t hash = std::stoull(hex, &used, 16);
    if (used != hex.size() || hex.size() != 16) throw std::invalid_argument(hex);
    return {hash, entry.at("bytes").get<uint64_t>()};
  } catch (const std::exception&) {
    throw Error(fmt::format("{}: the entry for {} in \"files\" is malformed ({}); the meta file is damaged",
                            files.meta().string(), name, entry.dump()));
  }
}

// What is wrong with `path` compared with its entry in the meta, or "" when nothing is.
// The size is compared first: it costs no read and names truncation plainly.
// `shown` names the file in the message.
std::string file_problem(const fs::path& path, const std::string& shown, const ListedFile& listed, const fs::path& meta) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    return fmt::format("{} is missing ({} lists it)", shown, meta.filename().string());
  }
  const uint64_t size = fs::file_size(path, ec);
  if (ec) return fmt::format("{}: cannot read its size ({})", shown, ec.message());
  if (size != listed.bytes) {
    return fmt::format("{}: {} bytes, expected {}: the file is truncated or damaged", shown, size,
                       listed.bytes);
  }
  const FileDigest digest = digest_file(path);
  if (digest.xxh64 != listed.xxh64) {
    return fmt::format("{}: checksum mismatch (expected {}, got {}): the file is damaged", shown,
                       hex64(listed.xxh64), hex64(digest.xxh64));
  }
  return "";
}

bool has_file_list(const nlohmann::json& meta) { return meta.is_object() && meta.contains("files"); }

const nlohmann::json& file_list(const CheckpointFiles& files, const nlohmann::json& meta) {
  const nlohmann::json& list = meta.at("files");
  if (!list.is_object()) throw Error(files.meta().string() + ": \"files\" is not an object; the meta file is damaged");
  return list;
}

void warn_unverified_once(const CheckpointFiles& files) {
  static std::once_flag warned;
  std::call_once(warned, [&] {
    log::warn("{} lists no checksums (saved by an older nanochat): its files load unverified", files.meta().string());
  });
}

// The files a step without a file list must have: the model and one optimizer file per rank.
std::vector<fs::path> unlisted_step_files(const CheckpointFiles& files, const nlohmann::json& meta) {
  std::vector<fs::path> paths = {files.model()};
  const bool known = meta.is_object() && meta.contains("world_size") && meta["world_size"].is_number_integer();
  const int world = known ? meta["world_size"].get<int>() : 1;
  for (int rank = 0; rank < world; ++rank) paths.push_back(files.optimizer(rank));
  return paths;
}

std::string join(const std::vector<std::string>& problems) {
  std::string text;
  for (const std::string& problem : problems) text += (text.empty() ? "" : "; ") + problem;
  return text;
}

}  // namespace

nlohmann::json checkpoint_file_list(const CheckpointFiles& files, const FileDigest& model,
                                    const std::vector<FileDigest>& optimizers) {
  auto entry = [](const FileDigest& digest) {
    return nlohmann::json{{"xxh64", hex64(digest.xxh64)}, {"bytes", digest.bytes}};
  };
  nlohmann::json list = {{files.model().filename().string(), entry(model)}};
  for (size_t rank = 0; rank < optimizers.size(); ++rank) {
    list[files.optimizer(static_cast<int>(rank)).filename().string()] = entry(optimizers[rank]);
  }
  return list;
}

void verify_checkpoint_file(const CheckpointFiles& files, const nlohmann::json& meta, const fs::path& file,
                            const std::string& remedy) {
  if (!has_file_list(meta)) {
    warn_unverified_once(files);
    return;
  }
  const std::string name = file.filename().string();
  const nlohmann::json& list = file_list(files, meta);
  if (!list.contains(name)) {
    throw Error(fmt::format("{}: not part of step {} ({} does not list it; was the run saved with fewer ranks?); {}",
                            file.string(), files.step, files.meta().filename().string(), remedy));
  }
  const std::string problem = file_problem(file, file.string(), listed_file(files, name, list.at(name)), files.meta());
  if (!problem.empty()) throw Error(problem + "; " + remedy);
}

CheckpointCheck check_checkpoint(const CheckpointFiles& files) {
  using Status = CheckpointCheck::Status;
  nlohmann::json meta;
  try {
    meta = read_json_file(files.meta());
  } catch (const Error& e) {
    return {Status::damaged, e.what()};
  }
  std::vector<std::string> problems;
  if (!has_file_list(meta)) {
    for (const fs::path& path : unlisted_step_files(files, meta)) {
      if (!fs::exists(path)) problems.push_back(path.filename().string() + " is missing");
    }
    if (!problems.empty()) return {Status::damaged, join(problems)};
    return {Status::unverified, "no checksums in " + files.meta().filename().string() + " (saved by an older nanochat)"};
  }
  uint64_t total_bytes = 0;
  try {
    const nlohmann::json& list = file_list(files, meta);
    for (const auto& [name, entry] : list.items()) {
      const ListedFile listed = listed_file(files, name, entry);
      // Problems name the file alone: the command's line already names the folder and step.
      std::string problem = file_problem(files.dir / name, name, listed, files.meta());
      if (!problem.empty()) problems.push_back(problem);
      total_bytes += listed.bytes;
    }
    if (list.empty()) problems.push_back(files.meta().filename().string() + " lists no files");
  } catch (const Error& e) {
    return {Status::damaged, e.what()};
  }
  if (!problems.empty()) return {Status::damaged, join(problems)};
  return {Status::ok, fmt::format("{} files, {:.1f} MB", meta.at("files").size(), total_bytes / 1e6)};
}

bool checkpoint_complete(const CheckpointFiles& files) {
  nlohmann::json meta;
  try {
    meta = read_json_file(files.meta());
    std::error_code ec;
    if (!has_file_list(meta)) {
      for (const fs::path& path : unlisted_step_files(files, meta)) {
        if (!fs::is_regular_file(path, ec)) return false;
      }
      return true;
    }
    const nlohmann::json& list = file_list(files, meta);
    if (list.empty()) return false;
    for (const auto& [name, entry] : list.items()) {
      const uint64_t size = fs::file_size(files.dir / name, ec);
      if (ec || size != listed_file(files, name, entry).bytes) return false;
    }
    return true;
  } catch (const Error&) {
    return false;
  }
}

std::optional<int64_t> resolve_resume_step(const std::string& asked, const fs::path& dir) {
  if (asked == "auto") {
    // The newest step whose files are all there: a crash mid-save leaves the one before.
    std::optional<int64_t> last;
    for (int64_t saved : checkpoint_steps(dir)) {
      if (checkpoint_complete(CheckpointFiles{dir, saved})) last = saved;
    }
    return last;
  }
  int64_t step = -1;
  try {
    size_t used = 0;
    step = std::stoll(asked, &used);
    if (used != asked.size()) throw std::invalid_argument(asked);
  } catch (const std::exception&) {
    throw UsageError("--resume-from-step takes a step number, auto or -1, not '" + asked + "'");
  }
  if (step < 0) return std::nullopt;
  return step;
}

std::vector<int64_t> prune_checkpoints(const fs::path& dir, int64_t keep_last, int64_t newest, int world_size) {
  if (keep_last < 1) return {};
  std::vector<int64_t> steps = checkpoint_steps(dir);
  steps.erase(std::remove_if(steps.begin(), steps.end(), [&](int64_t s) { return s > newest; }), steps.end());
  if (static_cast<int64_t>(steps.size()) <= keep_last) return {};
  steps.resize(steps.size() - static_cast<size_t>(keep_last));
  for (int64_t step : steps) {
    const CheckpointFiles old{dir, step};
    fs::remove(old.meta());  // first: a step without meta no longer counts as saved
    fs::remove(old.model());
    for (int r = 0; r < world_size; ++r) fs::remove(old.optimizer(r));
  }
  return steps;
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
