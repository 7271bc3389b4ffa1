// The plugin search path and the per-process registry of loaded plugins.
#include "nanochat/plugin_registry.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <set>
#include <sstream>

#include "nanochat/base_dir.hpp"
#include "nanochat/build_config.hpp"

namespace nanochat {
namespace fs = std::filesystem;
namespace {

std::vector<fs::path> split_path_list(const char* list) {
  std::vector<fs::path> dirs;
  if (list == nullptr) return dirs;
  std::stringstream stream(list);
  std::string item;
  while (std::getline(stream, item, ':')) {
    if (!item.empty()) dirs.emplace_back(item);
  }
  return dirs;
}

fs::path running_binary() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : self;
}

// Whether `file` lies under `dir`, both with symbolic links resolved.
bool is_inside(const fs::path& file, const fs::path& dir) {
  std::error_code ec;
  const fs::path real_file = fs::weakly_canonical(file, ec);
  if (ec) return false;
  const fs::path real_dir = fs::weakly_canonical(dir, ec);
  if (ec) return false;
  auto [dir_end, file_at] = std::mismatch(real_dir.begin(), real_dir.end(), real_file.begin(), real_file.end());
  return dir_end == real_dir.end() || (std::next(dir_end) == real_dir.end() && dir_end->empty());
}

}  // namespace

std::optional<fs::path> user_plugin_dir() {
  const char* xdg = std::getenv("XDG_DATA_HOME");
  if (xdg != nullptr && fs::path(xdg).is_absolute()) return fs::path(xdg) / "nanochat" / "plugins";
  auto home = home_dir();
  if (!home) return std::nullopt;
  return *home / ".local" / "share" / "nanochat" / "plugins";
}

std::vector<fs::path> default_plugin_dirs(const std::vector<fs::path>& extra) {
  std::vector<fs::path> candidates(extra);
  for (auto& dir : split_path_list(std::getenv("NANOCHAT_PLUGIN_PATH"))) candidates.push_back(dir);
  if (auto user = user_plugin_dir()) candidates.push_back(*user);
  const fs::path self = running_binary();
  if (!self.empty()) {
    candidates.push_back(self.parent_path().parent_path() / NANOCHAT_PLUGIN_SUBDIR);
    if (is_inside(self, NANOCHAT_BUILD_DIR)) candidates.emplace_back(NANOCHAT_BUILD_PLUGIN_DIR);
  }

  std::vector<fs::path> dirs;
  std::set<fs::path> seen;
  for (const auto& dir : candidates) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) continue;
    fs::path canonical = fs::weakly_canonical(dir, ec);
    if (ec) canonical = dir;
    if (seen.insert(canonical).second) dirs.push_back(canonical);
  }
  return dirs;
}

std::vector<PluginEntry> scan_plugin_dirs(const std::vector<fs::path>& dirs) {
  std::vector<PluginEntry> entries;
  for (const auto& dir : dirs) {
    std::error_code ec;
    std::vector<fs::path> files;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->is_regular_file(ec)) files.push_back(it->path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      auto id = parse_plugin_file_name(file.filename().string());
      if (!id) continue;
      auto same = std::find_if(entries.begin(), entries.end(), [&](const PluginEntry& e) {
        return e.kind == id->kind && e.name == id->name;
      });
      if (same != entries.end()) {
        same->shadowed.push_back(file);
      } else {
        entries.push_back(PluginEntry{id->kind, id->name, file, {}});
      }
    }
  }
  return entries;
}

PluginNotFound::PluginNotFound(const std::string& message) : UsageError(message) {}
PluginNotFound::~PluginNotFound() = default;

PluginRegistry& PluginRegistry::instance() {
  static PluginRegistry registry;
  return registry;
}

void PluginRegistry::set_search_dirs(std::vector<fs::path> dirs) {
  std::lock_guard<std::mutex> lock(dirs_mutex_);
  dirs_ = std::move(dirs);
  dirs_set_ = true;
}

std::vector<fs::path> PluginRegistry::search_dirs() {
  std::lock_guard<std::mutex> lock(dirs_mutex_);
  if (!dirs_set_) {
    dirs_ = default_plugin_dirs({});
    dirs_set_ = true;
  }
  return dirs_;
}

std::vector<PluginEntry> PluginRegistry::scan() { return scan_plugin_dirs(search_dirs()); }

std::unique_ptr<PluginEntry> PluginRegistry::find(PluginKind kind, const std::string& name) {
  for (auto& entry : scan()) {
    if (entry.kind == kind && entry.name == name) return std::make_unique<PluginEntry>(entry);
  }
  return nullptr;
}

std::string PluginRegistry::installed_names(PluginKind kind) {
  std::set<std::string> names;
  for (const auto& entry : scan()) {
    if (entry.kind == kind) names.insert(entry.name);
  }
  std::string list;
  for (const auto& name : names) list += (list.empty() ? "" : ", ") + name;
  return list.empty() ? "none" : list;
}

std::shared_ptr<PluginLibrary> PluginRegistry::load(PluginKind kind, const std::string& name) {
  auto entry = find(kind, name);
  if (!entry) {
    std::string where;
    for (const auto& dir : search_dirs()) where += (where.empty() ? "" : ", ") + dir.string();
    throw PluginNotFound(std::string("no ") + plugin_kind_name(kind) + " plugin named '" + name + "' (installed: " +
                         installed_names(kind) + "; looked for " + plugin_file_name(kind, name) + " in " +
                         (where.empty() ? "no existing folder" : where) + ")");
  }
  std::lock_guard<std::mutex> lock(loaded_mutex_);
  auto it = loaded_.find(entry->path);
  if (it != loaded_.end()) return it->second;
  auto library = PluginLibrary::open(entry->path);
  loaded_[entry->path] = library;
  return library;
}

}  // namespace nanochat
