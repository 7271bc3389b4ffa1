// The source tree the program was built from: its git state and its size (nanochat's
// "Bloat" lines), for the report's header. The tree is NANOCHAT_SOURCE_DIR unless
// `--source-dir` says otherwise; an installed copy without its sources says "unknown".
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace nanochat::report {

struct GitInfo {
  std::string branch = "unknown";
  std::string commit = "unknown";  // short hash
  bool dirty = false;              // uncommitted changes (untracked files count, as in nanochat)
  std::string message;             // the commit's first line, at most 80 characters
};

// From `git -C DIR ...`; every field stays "unknown"/empty when DIR is not a git checkout
// or git is not installed.
GitInfo read_git_info(const std::filesystem::path& source_dir);

struct CodeSize {
  int64_t characters = 0;  // bytes
  int64_t lines = 0;
  int64_t files = 0;
  int64_t tokens() const { return characters / 4; }  // nanochat's rough 4 characters a token
};

// The code and documentation of the tree (C++, CUDA, CMake, markdown, HTML, shell, Python,
// INI presets):
// the files git tracks in a checkout, else every such file outside hidden folders and build
// trees (folders holding a CMakeCache.txt). nullopt when `source_dir` is not a folder.
std::optional<CodeSize> measure_code_size(const std::filesystem::path& source_dir);

// Whether a file name counts as code or documentation for measure_code_size.
bool is_source_file(const std::filesystem::path& file);

}  // namespace nanochat::report
