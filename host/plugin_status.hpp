// A plugin file checked for use: its descriptor if it loads, and "ok" or the refusal.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "nanochat/plugin_loader.hpp"

namespace nanochat::host {

struct PluginStatus {
  std::filesystem::path path;
  std::optional<PluginInfo> info;       // set when the descriptor was read and accepted
  std::string refusal;                  // "" when usable
  std::shared_ptr<PluginLibrary> library;
  bool ok() const { return refusal.empty(); }
};

// Loads `path`, checks the descriptor and makes one object through its factory. Never
// throws for a bad plugin: the reason goes into `refusal`.
PluginStatus check_plugin_file(const std::filesystem::path& path);

}  // namespace nanochat::host
