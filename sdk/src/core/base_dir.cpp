// The artifact layout of DESIGN.md: one folder per product under NANOCHAT_BASE_DIR.
#include "nanochat/base_dir.hpp"

#include <cstdlib>

#include "nanochat/error.hpp"

namespace nanochat {

std::filesystem::path base_dir() {
  if (const char* dir = std::getenv("NANOCHAT_BASE_DIR"); dir != nullptr && *dir != '\0') {
    return std::filesystem::path(dir);
  }
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0') {
    throw Error("neither NANOCHAT_BASE_DIR nor HOME is set: set NANOCHAT_BASE_DIR to a folder for artifacts");
  }
  return std::filesystem::path(home) / ".cache" / "nanochat";
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
