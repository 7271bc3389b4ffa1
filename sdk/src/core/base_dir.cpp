// The artifact layout of DESIGN.md: one folder per product under NANOCHAT_BASE_DIR.
#include "nanochat/base_dir.hpp"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

#include "nanochat/error.hpp"

namespace nanochat {

std::filesystem::path base_dir() {
  if (const char* dir = std::getenv("NANOCHAT_BASE_DIR"); dir != nullptr && *dir != '\0') {
    return std::filesystem::path(dir);
  }
  auto home = home_dir();
  if (!home) {
    throw Error("NANOCHAT_BASE_DIR is not set and there is no home folder (HOME is unset or relative): "
                "set NANOCHAT_BASE_DIR to a folder for artifacts");
  }
  return *home / ".cache" / "nanochat";
}

std::optional<std::filesystem::path> home_dir() {
  if (const char* home = std::getenv("HOME"); home != nullptr && std::filesystem::path(home).is_absolute()) {
    return std::filesystem::path(home);
  }
  long size = sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buffer(size > 0 ? static_cast<size_t>(size) : 16384);
  passwd entry{};
  passwd* found = nullptr;
  if (getpwuid_r(getuid(), &entry, buffer.data(), buffer.size(), &found) != 0 || found == nullptr ||
      found->pw_dir == nullptr || !std::filesystem::path(found->pw_dir).is_absolute()) {
    return std::nullopt;
  }
  return std::filesystem::path(found->pw_dir);
}

const char* artifact_folder(Artifact artifact) {
  switch (artifact) {
    case Artifact::tokenizer: return "tokenizer";
    case Artifact::base_data: return "base_data";
    case Artifact::base_checkpoints: return "base_checkpoints";
    case Artifact::mid_checkpoints: return "mid_checkpoints";
    case Artifact::chatsft_checkpoints: return "chatsft_checkpoints";
    case Artifact::chatrl_checkpoints: return "chatrl_checkpoints";
    case Artifact::report: return "report";
    case Artifact::runs: return "runs";
  }
  return "unknown";
}

std::filesystem::path artifact_dir(Artifact artifact, const std::filesystem::path& base) {
  return base / artifact_folder(artifact);
}

const std::vector<Artifact>& all_artifacts() {
  static const std::vector<Artifact> artifacts = {
      Artifact::tokenizer,           Artifact::base_data,          Artifact::base_checkpoints,
      Artifact::mid_checkpoints,     Artifact::chatsft_checkpoints, Artifact::chatrl_checkpoints,
      Artifact::report,              Artifact::runs};
  return artifacts;
}

}  // namespace nanochat
