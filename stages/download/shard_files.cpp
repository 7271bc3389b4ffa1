// Shard names and the completeness check (see shard_files.hpp).
#include "shard_files.hpp"

#include <fmt/format.h>

#include "nanochat/parquet_reader.hpp"

namespace nanochat::download {

std::string shard_file_name(int64_t index) { return fmt::format("shard_{:05d}.parquet", index); }

std::string parquet_problem(const std::filesystem::path& path) {
  try {
    ParquetReader reader(path.string(), "text");
    return "";
  } catch (const std::exception& e) {
    return e.what();
  }
}

}  // namespace nanochat::download
