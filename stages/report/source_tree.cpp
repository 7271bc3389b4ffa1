// Git facts and code size of the source tree (see source_tree.hpp).
#include "source_tree.hpp"

#include <algorithm>
#include <array>
#include <fstream>
#include <iterator>
#include <vector>

#include "nanochat/subprocess.hpp"

namespace fs = std::filesystem;

namespace nanochat::report {
namespace {

constexpr std::array<const char*, 13> kExtensions = {".cpp", ".hpp", ".h", ".cc", ".cu", ".cuh", ".in",
                                                     ".cmake", ".md", ".html", ".sh", ".py", ".ini"};

std::optional<std::string> git(const fs::path& dir, std::vector<std::string> args) {
  args.insert(args.begin(), {"git", "-C", dir.string()});
  return process_output(args);
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

// The files git tracks, or nullopt outside a checkout.
std::optional<std::vector<fs::path>> tracked_files(const fs::path& dir) {
  auto listing = git(dir, {"ls-files", "-z"});
  if (!listing) return std::nullopt;
  std::vector<fs::path> files;
  for (size_t start = 0, end; start < listing->size(); start = end + 1) {
    end = listing->find('\0', start);
    if (end == std::string::npos) end = listing->size();
    if (end > start) files.push_back(dir / listing->substr(start, end - start));
  }
  return files;
}

std::vector<fs::path> walked_files(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const fs::path& path = it->path();
    if (it->is_directory() && (path.filename().string().rfind('.', 0) == 0 || fs::exists(path / "CMakeCache.txt"))) {
      it.disable_recursion_pending();
    } else if (it->is_regular_file()) {
      files.push_back(path);
    }
  }
  return files;
}

}  // namespace

GitInfo read_git_info(const fs::path& source_dir) {
  GitInfo info;
  auto commit = git(source_dir, {"rev-parse", "--short", "HEAD"});
  if (!commit) return info;
  info.commit = first_line(*commit);
  if (auto branch = git(source_dir, {"rev-parse", "--abbrev-ref", "HEAD"})) info.branch = first_line(*branch);
  if (auto status = git(source_dir, {"status", "--porcelain"})) info.dirty = !status->empty();
  if (auto message = git(source_dir, {"log", "-1", "--pretty=%B"})) info.message = first_line(*message).substr(0, 80);
  return info;
}

bool is_source_file(const fs::path& file) {
  const std::string ext = file.extension().string();
  if (file.filename() == "CMakeLists.txt") return true;
  for (const char* known : kExtensions) {
    if (ext == known) return true;
  }
  return false;
}

std::optional<CodeSize> measure_code_size(const fs::path& source_dir) {
  std::error_code ec;
  if (!fs::is_directory(source_dir, ec)) return std::nullopt;
  const auto tracked = tracked_files(source_dir);
  CodeSize size;
  for (const fs::path& file : tracked ? *tracked : walked_files(source_dir)) {
    if (!is_source_file(file) || !fs::is_regular_file(file, ec)) continue;
    std::ifstream in(file, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size.characters += static_cast<int64_t>(text.size());
    size.lines += static_cast<int64_t>(std::count(text.begin(), text.end(), '\n'));
    if (!text.empty() && text.back() != '\n') ++size.lines;
    ++size.files;
  }
  return size;
}

}  // namespace nanochat::report
