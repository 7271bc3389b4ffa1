// Finding plugins: the search path of DESIGN.md (first match wins, duplicates reported),
// scanning it, and loading a plugin by kind and name. One registry per process, so a
// stage can load the tokenizer or optimizer plugins it needs from the same path.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "nanochat/plugin_loader.hpp"

namespace nanochat {

// A plugin file found on the search path.
struct PluginEntry {
  PluginKind kind;
  std::string name;
  std::filesystem::path path;
  std::vector<std::filesystem::path> shadowed;  // same kind+name later on the path
};

// The folders searched, in order: `extra` (--plugin-path), NANOCHAT_PLUGIN_PATH (':'-separated),
// the user folder, the install prefix's lib/nanochat/plugins (next to the running binary),
// then the build tree's plugin folder, only when the running binary is inside the build
// tree (an installed nanochat never loads what a later build leaves there). Folders that do
// not exist are kept out.
std::vector<std::filesystem::path> default_plugin_dirs(const std::vector<std::filesystem::path>& extra);

// $XDG_DATA_HOME/nanochat/plugins, else <home>/.local/share/nanochat/plugins (home_dir() of
// base_dir.hpp); nullopt when there is no home to put it in. Always absolute: a relative
// XDG_DATA_HOME is ignored, as the XDG spec asks.
std::optional<std::filesystem::path> user_plugin_dir();

// Every libnanochat-*.so in `dirs`, first match per kind+name wins; files whose names
// do not parse are reported as kind/name from the name as far as possible.
std::vector<PluginEntry> scan_plugin_dirs(const std::vector<std::filesystem::path>& dirs);

class PluginRegistry {
 public:
  static PluginRegistry& instance();

  // Safe to call from any thread: the folders are computed once (default_plugin_dirs) and
  // handed out as copies, so a set_search_dirs on another thread never changes a list in use.
  void set_search_dirs(std::vector<std::filesystem::path> dirs);
  std::vector<std::filesystem::path> search_dirs();

  std::vector<PluginEntry> scan();

  // The entry for kind+name, or nullptr.
  std::unique_ptr<PluginEntry> find(PluginKind kind, const std::string& name);

  // The names of the installed plugins of a kind, sorted, comma-separated ("none" if none).
  std::string installed_names(PluginKind kind);

  // Loads (once per process) and checks a plugin. Throws PluginNotFound (naming the
  // installed plugins of the kind) or PluginRefused.
  std::shared_ptr<PluginLibrary> load(PluginKind kind, const std::string& name);

  template <class Interface>
  std::shared_ptr<Interface> create(PluginKind kind, const std::string& name) {
    return load(kind, name)->create<Interface>();
  }

 private:
  std::mutex dirs_mutex_;  // guards dirs_set_ and dirs_
  bool dirs_set_ = false;
  std::vector<std::filesystem::path> dirs_;
  std::mutex loaded_mutex_;  // guards loaded_; held while a library opens, so it opens once
  std::map<std::filesystem::path, std::shared_ptr<PluginLibrary>> loaded_;
};

class PluginNotFound : public UsageError {
 public:
  explicit PluginNotFound(const std::string& message);
  ~PluginNotFound() override;
};

}  // namespace nanochat
