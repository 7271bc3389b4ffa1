// Reading a whole text file: the report's inputs (sections, eval JSON, header,
// PROVENANCE.md). Outputs go through atomic_write_file.
#pragma once

#include <filesystem>
#include <string>

namespace nanochat::report {

// The file's bytes. Throws Error naming the file when it cannot be read.
std::string read_text_file(const std::filesystem::path& file);

}  // namespace nanochat::report
