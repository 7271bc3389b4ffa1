// Where artifacts live: NANOCHAT_BASE_DIR (default ~/.cache/nanochat), one folder per
// product, as DESIGN.md fixes. Every stage finds its inputs through these names.
#pragma once

#include <filesystem>
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

// $NANOCHAT_BASE_DIR, else $HOME/.cache/nanochat.
std::filesystem::path base_dir();

// The folder name of an artifact under the base dir, e.g. "base_checkpoints".
const char* artifact_folder(Artifact artifact);

std::filesystem::path artifact_dir(Artifact artifact, const std::filesystem::path& base);

const std::vector<Artifact>& all_artifacts();

}  // namespace nanochat
