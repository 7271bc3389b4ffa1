// Checkpoint folders (SPEC §5, with safetensors instead of pickles):
//   <base>/<stage>_checkpoints/<tag>/model_<step>.safetensors       weights
//                                    optim_<step>_rank<r>.safetensors  each rank's optimizer state
//                                    meta_<step>.json                  config, step, loader position, RNG
// Every file is written atomically and meta_<step>.json last, so a step counts as saved
// only once its meta file exists: a crash mid-save leaves the previous step to resume from.
//
// Integrity: meta_<step>.json lists every other file of the step with its size and XXH64,
//   "files": {"model_000100.safetensors": {"xxh64": "16 hex digits", "bytes": N},
//             "optim_000100_rank0.safetensors": {...}, ...}
// and loading checks a file against it first, so a flipped byte (which a safetensors parser
// cannot see) is refused with the file's name instead of being trained on. Checkpoints saved
// before the list existed load unverified, with one warning per process.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nanochat/base_dir.hpp"
#include "nanochat/xxh64.hpp"

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

// meta["files"] for a step: the model's digest and each rank's optimizer digest, in rank order.
nlohmann::json checkpoint_file_list(const CheckpointFiles& files, const FileDigest& model,
                                    const std::vector<FileDigest>& optimizers);

// Checks `file` (one of the step's files) against the size and XXH64 that `meta` lists for it.
// Throws Error naming the file when it is missing, has another size or another hash, or is
// not listed; `remedy` ends the message ("resume from an earlier step"). A meta without a file
// list passes, with a warning the first time in the process.
void verify_checkpoint_file(const CheckpointFiles& files, const nlohmann::json& meta, const std::filesystem::path& file,
                            const std::string& remedy);

// One step checked in full (every listed file hashed), for `nanochat checkpoints verify`.
struct CheckpointCheck {
  enum class Status { ok, unverified, damaged };
  Status status = Status::ok;
  std::string detail;  // damaged: "<file>: checksum mismatch (...)"; unverified: why; ok: what was checked
};
CheckpointCheck check_checkpoint(const CheckpointFiles& files);

// Whether a step is complete without reading the files' contents (cheap, for choosing a step
// to resume from): meta exists and parses, and every file it lists exists with its listed
// size. A meta without a file list: the model and `world_size` optimizer files exist.
bool checkpoint_complete(const CheckpointFiles& files);

// What --resume-from-step asks for, resolved in `dir`: a step number, "auto" (the newest
// complete step, or nullopt when there is none yet) or a negative number (nullopt: start
// fresh). Throws UsageError for anything else.
std::optional<int64_t> resolve_resume_step(const std::string& asked, const std::filesystem::path& dir);

// --keep-last N: deletes all but the `keep_last` newest steps up to `newest` (which must be
// complete), meta first, so a crash mid-deletion never leaves a step that looks saved but
// is not. Returns the steps deleted. keep_last < 1 keeps everything.
std::vector<int64_t> prune_checkpoints(const std::filesystem::path& dir, int64_t keep_last, int64_t newest,
                                       int world_size);

// A JSON file, with errors that name it.
nlohmann::json read_json_file(const std::filesystem::path& file);
void write_json_file(const std::filesystem::path& file, const nlohmann::json& value);

}  // namespace nanochat
