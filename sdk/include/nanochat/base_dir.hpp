// Where artifacts live: NANOCHAT_BASE_DIR (default ~/.cache/nanochat), one folder per
// product, as DESIGN.md fixes. Every stage finds its inputs through these names.
#pragma once

#include <filesystem>
#include <optional>
#include <vector>

namespace nanochat {

enum class Artifact {
  tokenizer,
  base_data,
  base_checkpoints,
  mid_checkpoints,
  chatsft_checkpoints,
  chatrl_checkpoints,
  report,
  runs,  // chain run folders (done markers)
};

// $NANOCHAT_BASE_DIR, else home_dir()/.cache/nanochat. Throws Error when neither exists.
std::filesystem::path base_dir();

// The user's home folder, always absolute: $HOME when it is an absolute path, else the
// password database's entry for this user; nullopt when neither gives one (a relative
// path would silently mean "wherever the process happens to run").
std::optional<std::filesystem::path> home_dir();

// The folder name of an artifact under the base dir, e.g. "base_checkpoints".
const char* artifact_folder(Artifact artifact);

std::filesystem::path artifact_dir(Artifact artifact, const std::filesystem::path& base);

const std::vector<Artifact>& all_artifacts();

}  // namespace nanochat
