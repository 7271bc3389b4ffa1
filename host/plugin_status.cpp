// Checking one plugin file end to end (load, descriptor, factory) without letting a bad
// plugin take the host down.
#include "plugin_status.hpp"

namespace nanochat::host {

PluginStatus check_plugin_file(const std::filesystem::path& path) {
  PluginStatus status;
  status.path = path;
  try {
    status.library = PluginLibrary::open(path);
    status.info = status.library->info();
    status.library->probe_factory();
  } catch (const PluginRefused& e) {
    status.refusal = e.reason();
  } catch (const std::exception& e) {
    status.refusal = e.what();
  }
  return status;
}

}  // namespace nanochat::host
