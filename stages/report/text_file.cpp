// See text_file.hpp.
#include "text_file.hpp"

#include <fstream>
#include <sstream>

#include "nanochat/error.hpp"

namespace nanochat::report {

std::string read_text_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error("cannot read " + file.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace nanochat::report
