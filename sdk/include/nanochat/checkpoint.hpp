// Checkpoint folders (SPEC §5, with safetensors instead of pickles):
//   <base>/<stage>_checkpoints/<tag>/model_<step>.safetensors       weights
//                                    optim_<step>_rank<r>.safetensors  each rank's optimizer state
//                                    meta_<step>.json                  config, step, loader position, RNG
// Every file is written atomically and meta_<step>.json last, so a step counts as saved
// only once its meta file exists: a crash mid-save leaves the previous step to resume from.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nanochat/base_dir.hpp"

namespace nanochat {

struct CheckpointFiles {
  std::filesystem::path dir;
  int64_t step = 0;

  std::filesystem::path model() const;
  std::filesystem::path optimizer(int rank) const;
  std::filesystem::path meta() const;
};

// Steps in `dir` that have a meta file, ascending.
std::vector<int64_t> checkpoint_steps(const std::filesystem::path& dir);
std::optional<int64_t> last_checkpoint_step(const std::filesystem::path& dir);

// The model folder of a stage's checkpoints: `tag` if given, else nanochat's choice — the
// largest d<N> folder, or the most recently changed one. Throws Error when there is none.
std::filesystem::path find_checkpoint_dir(const std::filesystem::path& base, Artifact stage, const std::string& tag);

// A JSON file, with errors that name it.
nlohmann::json read_json_file(const std::filesystem::path& file);
void write_json_file(const std::filesystem::path& file, const nlohmann::json& value);

}  // namespace nanochat
