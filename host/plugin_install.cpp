// Installing plugin libraries (a .so, a folder, or a .tar.gz package with manifest.json)
// into the user plugin folder. Everything is checked before anything is copied, so a
// package with one bad library installs nothing.
#include "plugin_install.hpp"

#include <sys/stat.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "nanochat/atomic_file.hpp"
#include "nanochat/error.hpp"
#include "nanochat/plugin_registry.hpp"
#include "nanochat/subprocess.hpp"
#include "plugin_status.hpp"

namespace fs = std::filesystem;

namespace nanochat::host {
namespace {

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The folder `install` writes to and `remove` deletes from.
fs::path user_dir_or_throw() {
  auto dir = user_plugin_dir();
  if (!dir) {
    throw UsageError("there is no user plugin folder: set XDG_DATA_HOME or HOME to an absolute path");
  }
  return *dir;
}

// A temp folder removed when it goes out of scope.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "nanochat-install-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw Error("cannot create a temp folder in " + fs::temp_directory_path().string());
    path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

struct ManifestEntry {
  fs::path library;
  nlohmann::json expected;  // name/kind/version the manifest promises, may be empty
};

// manifest.json: {"name", "kind", "version", "library"} or {"plugins": [ {...}, ... ]}.
std::vector<ManifestEntry> read_manifest(const fs::path& folder) {
  fs::path file = folder / "manifest.json";
  std::ifstream in(file);
  nlohmann::json manifest;
  try {
    manifest = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error(file.string() + ": not valid JSON (" + e.what() + ")");
  }
  nlohmann::json items = manifest.contains("plugins") ? manifest["plugins"] : nlohmann::json::array({manifest});
  std::vector<ManifestEntry> entries;
  for (const auto& item : items) {
    if (!item.is_object() || !item.contains("library") || !item["library"].is_string()) {
      throw Error(file.string() + ": each plugin needs a \"library\" file name");
    }
    fs::path library = folder / item["library"].get<std::string>();
    if (library.filename().string() != item["library"].get<std::string>()) {
      throw Error(file.string() + ": \"library\" must be a plain file name inside the package");
    }
    entries.push_back({library, item});
  }
  return entries;
}

std::vector<ManifestEntry> libraries_in_folder(const fs::path& folder) {
  if (fs::exists(folder / "manifest.json")) return read_manifest(folder);
  std::vector<ManifestEntry> entries;
  for (const auto& item : fs::directory_iterator(folder)) {
    if (item.is_regular_file() && ends_with(item.path().filename().string(), ".so")) {
      entries.push_back({item.path(), nlohmann::json::object()});
    }
  }
  std::sort(entries.begin(), entries.end(),
            [](const ManifestEntry& a, const ManifestEntry& b) { return a.library < b.library; });
  if (entries.empty()) throw Error(folder.string() + ": no manifest.json and no .so files in it");
  return entries;
}

void expect_field(const ManifestEntry& entry, const char* key, const std::string& actual) {
  if (entry.expected.contains(key) && entry.expected[key] != actual) {
    throw PluginRefused(entry.library, std::string("manifest says ") + key + " '" +
                                           entry.expected[key].dump() + "', the library says '" + actual + "'");
  }
}

void copy_into(const fs::path& source, const fs::path& target) {
  std::ifstream in(source, std::ios::binary);
  if (!in) throw Error("cannot read " + source.string());
  AtomicFileWriter writer(target);
  char buffer[1 << 16];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) writer.write(buffer, static_cast<size_t>(in.gcount()));
  if (chmod(writer.temp_path().c_str(), 0755) != 0) throw Error("cannot chmod " + writer.temp_path().string());
  writer.commit();
}

std::vector<PluginStatus> check_all(const std::vector<ManifestEntry>& entries) {
  std::vector<PluginStatus> checked;
  for (const auto& entry : entries) {
    if (!fs::is_regular_file(entry.library)) throw Error(entry.library.string() + ": no such plugin library");
    PluginStatus status = check_plugin_file(entry.library);
    if (!status.ok()) throw PluginRefused(entry.library, status.refusal + "; nothing was installed");
    expect_field(entry, "name", status.info->name);
    expect_field(entry, "kind", plugin_kind_name(status.info->kind));
    expect_field(entry, "version", status.info->version);
    checked.push_back(status);
  }
  return checked;
}

}  // namespace

int install_plugins(const Args& args) {
  if (args.size() != 1) throw UsageError("usage: nanochat plugins install PATH (.so, folder or .tar.gz)");
  fs::path source = args[0];
  if (!fs::exists(source)) throw UsageError(source.string() + ": no such file or folder");

  TempDir unpacked;
  std::vector<ManifestEntry> entries;
  std::string name = source.filename().string();
  if (fs::is_directory(source)) {
    entries = libraries_in_folder(source);
  } else if (ends_with(name, ".tar.gz") || ends_with(name, ".tgz")) {
    if (run_process({"tar", "-xzf", source.string(), "-C", unpacked.path.string()}) != 0) {
      throw Error(source.string() + ": not a readable .tar.gz package");
    }
    if (!fs::exists(unpacked.path / "manifest.json")) throw Error(source.string() + ": package has no manifest.json at its top");
    entries = read_manifest(unpacked.path);
  } else if (ends_with(name, ".so")) {
    entries.push_back({source, nlohmann::json::object()});
  } else {
    throw UsageError(source.string() + ": expected a .so file, a folder or a .tar.gz package");
  }

  std::vector<PluginStatus> checked = check_all(entries);
  fs::path target_dir = user_dir_or_throw();
  fs::create_directories(target_dir);
  for (const auto& status : checked) {
    fs::path target = target_dir / plugin_file_name(status.info->kind, status.info->name);
    copy_into(status.path, target);
    std::cout << "installed " << plugin_kind_name(status.info->kind) << "/" << status.info->name << " "
              << status.info->version << " -> " << target.string() << "\n";
  }
  return 0;
}

int remove_plugin(const Args& args) {
  if (args.size() != 1) throw UsageError("usage: nanochat plugins remove NAME|KIND/NAME");
  std::string spec = args[0], kind_filter, name = spec;
  if (auto slash = spec.find('/'); slash != std::string::npos) {
    kind_filter = spec.substr(0, slash);
    name = spec.substr(slash + 1);
  }
  fs::path user_dir = user_dir_or_throw();
  std::vector<PluginEntry> matches;
  for (const auto& entry : scan_plugin_dirs({user_dir})) {
    if (entry.name == name && (kind_filter.empty() || kind_filter == plugin_kind_name(entry.kind))) matches.push_back(entry);
  }
  if (matches.size() > 1) throw UsageError("'" + spec + "' is ambiguous in " + user_dir.string() + ": use KIND/NAME");
  if (matches.empty()) {
    std::string elsewhere;
    for (const auto& entry : PluginRegistry::instance().scan()) {
      if (entry.name == name) elsewhere = entry.path.string();
    }
    if (!elsewhere.empty()) {
      throw Error("'" + spec + "' is at " + elsewhere + ", outside the user plugin folder " + user_dir.string() +
                  "; nanochat removes only what `plugins install` put there");
    }
    throw UsageError("no plugin named '" + spec + "' in " + user_dir.string());
  }
  fs::remove(matches.front().path);
  fsync_dir(user_dir);
  std::cout << "removed " << matches.front().path.string() << "\n";
  return 0;
}

}  // namespace nanochat::host
