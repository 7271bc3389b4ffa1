// Parsing /proc/cpuinfo: "key<TAB>: value" lines, one block per processor.
#include "nanochat/cpu_info.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace nanochat {
namespace {

std::string trim(const std::string& text) {
  const size_t first = text.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \t") + 1 - first);
}

}  // namespace

bool CpuInfo::has(std::string_view flag) const { return std::binary_search(flags.begin(), flags.end(), flag); }

CpuInfo read_cpu_info(const std::filesystem::path& cpuinfo) {
  CpuInfo info;
  std::ifstream in(cpuinfo);
  bool have_flags = false;
  for (std::string line; std::getline(in, line);) {
    if (trim(line).empty()) {
      if (have_flags) break;  // the end of the first processor's block
      continue;
    }
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = trim(line.substr(0, colon)), value = trim(line.substr(colon + 1));
    if (key == "model name" && info.model.empty()) info.model = value;
    if ((key == "flags" || key == "Features") && !have_flags) {  // "Features" on ARM
      std::istringstream words(value);
      for (std::string word; words >> word;) info.flags.push_back(word);
      have_flags = true;
    }
  }
  if (info.model.empty()) info.model = "unknown";
  std::sort(info.flags.begin(), info.flags.end());
  info.flags.erase(std::unique(info.flags.begin(), info.flags.end()), info.flags.end());
  return info;
}

const CpuInfo& this_cpu() {
  static const CpuInfo info = read_cpu_info();
  return info;
}

}  // namespace nanochat
