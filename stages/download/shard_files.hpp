// nanochat's pretraining shards on disk: their names, and what counts as a complete one.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace nanochat::download {

// "shard_00042.parquet", as nanochat names shard 42.
std::string shard_file_name(int64_t index);

// "" when `path` opens as a Parquet file with a `text` column (both magics, a footer that
// fits the file, column chunks inside it), else why not: a shard cut short fails this.
std::string parquet_problem(const std::filesystem::path& path);

}  // namespace nanochat::download
