// Loading one plugin library through Boost.DLL and checking its descriptor before use.
#include "nanochat/plugin_loader.hpp"

#include <boost/dll/shared_library.hpp>
#include <boost/version.hpp>

#include <dlfcn.h>
#include <link.h>

#include <cstring>
#include <map>
#include <mutex>
#include <regex>
#include <set>

#include "elf_versions.hpp"
#include "nanochat/build_config.hpp"

namespace nanochat {
namespace {

constexpr const char* kKindNames[] = {"stage", "tokenizer", "optimizer", "rl", "task"};

// The size of the descriptor of each minor: every field up to and including its last.
constexpr size_t kMinDescriptorSize =
    offsetof(nanochat_plugin_descriptor, destroy) + sizeof(nanochat_destroy_fn);
constexpr size_t kDescriptorSize_1_1 =
    offsetof(nanochat_plugin_descriptor, compiler) + sizeof(const char*);
static_assert(NANOCHAT_ABI_MINOR == 1, "a new minor appends fields: add its size to descriptor_size_of_minor");

size_t descriptor_size_of_minor(uint32_t minor) { return minor == 0 ? kMinDescriptorSize : kDescriptorSize_1_1; }

// The file of the libstdc++ this process runs with, and the symbol versions it defines;
// found once (it cannot change while the process runs).
struct HostLibstdcxx {
  std::filesystem::path file;
  std::set<std::string> versions;
  bool known = false;
};

const HostLibstdcxx& host_libstdcxx() {
  static HostLibstdcxx host;
  static std::once_flag once;
  std::call_once(once, [] {
    auto file = elf::loaded_library("libstdc++.so");
    if (!file) return;
    try {
      auto versions = elf::defined_versions(*file);
      if (!versions || versions->empty()) return;
      host.file = *file;
      host.versions = std::move(*versions);
      host.known = true;
    } catch (const Error&) {
      // An unreadable libstdc++ leaves the check to the dynamic linker.
    }
  });
  return host;
}

// The newest version of each family among `versions`.
std::vector<std::string> newest_per_family(const std::set<std::string>& versions) {
  std::map<std::string, std::string> newest;
  for (const auto& version : versions) {
    std::string& slot = newest[elf::version_family(version)];
    if (slot.empty() || elf::version_name_less(slot, version)) slot = version;
  }
  std::vector<std::string> result;
  for (const auto& [family, version] : newest) result.push_back(version);
  return result;
}

std::string joined(const std::vector<std::string>& items) {
  std::string text;
  for (const auto& item : items) text += (text.empty() ? "" : ", ") + item;
  return text;
}

// A Boost.DLL alias is an exported data object holding the function's address. A function
// exported under the entry's name would be read as that pointer: refuse it instead.
std::string check_entry_is_variable(void* library, const char* name) {
  void* symbol = dlsym(library, name);
  if (symbol == nullptr) {
    return std::string("not a nanochat plugin: no '") + name + "' entry exported";
  }
  Dl_info where{};
  void* symbol_entry = nullptr;  // dladdr1 writes a const ElfW(Sym)* here
  if (dladdr1(symbol, &where, &symbol_entry, RTLD_DL_SYMENT) == 0 || symbol_entry == nullptr) {
    return std::string("cannot inspect the exported '") + name + "' symbol";
  }
  const auto* entry = static_cast<const ElfW(Sym)*>(symbol_entry);
  const unsigned type = ELF64_ST_TYPE(entry->st_info);
  if (type != STT_OBJECT) {
    const char* what = type == STT_FUNC || type == STT_GNU_IFUNC ? "a function" : "a non-data symbol";
    return std::string("'") + name + "' is exported as " + what +
           ", but the entry must be a variable (the Boost.DLL alias that NANOCHAT_PLUGIN makes): "
           "rebuild the plugin with NANOCHAT_PLUGIN";
  }
  return "";
}

bool valid_plugin_name(const char* name) {
  if (name == nullptr || *name == '\0' || std::strlen(name) > 64) return false;
  for (const char* c = name; *c != '\0'; ++c) {
    bool ok = (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string text_or_empty(const char* text) { return text == nullptr ? std::string() : text; }

}  // namespace

const char* plugin_kind_name(PluginKind kind) { return kKindNames[static_cast<int>(kind)]; }

std::optional<PluginKind> plugin_kind_from_name(const std::string& name) {
  for (PluginKind kind : all_plugin_kinds()) {
    if (name == plugin_kind_name(kind)) return kind;
  }
  return std::nullopt;
}

const std::vector<PluginKind>& all_plugin_kinds() {
  static const std::vector<PluginKind> kinds = {PluginKind::stage, PluginKind::tokenizer,
                                                PluginKind::optimizer, PluginKind::rl,
                                                PluginKind::task};
  return kinds;
}

HostAbi HostAbi::current() {
  HostAbi host;
  host.torch_version = NANOCHAT_TORCH_VERSION;
  host.cxx11_abi = _GLIBCXX_USE_CXX11_ABI;
  host.boost_version = BOOST_VERSION;
  return host;
}

std::string boost_version_text(uint32_t v) {
  return std::to_string(v / 100000) + "." + std::to_string(v / 100 % 1000) + "." + std::to_string(v % 100);
}

std::string check_libstdcxx_needs(const std::filesystem::path& library, std::vector<std::string>* needs) {
  auto needed = elf::needed_versions(library);  // throws for a malformed ELF file
  if (!needed) return "";                        // not ELF: the dynamic linker says why
  const std::set<std::string>& wanted = (*needed)["libstdc++.so.6"];
  if (needs != nullptr) *needs = newest_per_family(wanted);
  const HostLibstdcxx& host = host_libstdcxx();
  if (!host.known) return "";
  std::vector<std::string> missing;
  for (const auto& version : wanted) {
    if (!host.versions.count(version)) missing.push_back(version);
  }
  if (missing.empty()) return "";
  return std::string("needs libstdc++ symbol version") + (missing.size() > 1 ? "s " : " ") + joined(missing) +
         ", which this host's libstdc++ (" + host.file.string() + ", up to " + joined(newest_per_family(host.versions)) +
         ") does not have: build the plugin with a compiler no newer than the host's, or run a host built with the newer one";
}

std::string check_descriptor(const nanochat_plugin_descriptor& d, const HostAbi& host) {
  if (d.abi_major != host.abi_major) {
    return "SDK ABI major " + std::to_string(d.abi_major) + ", this host speaks " +
           std::to_string(host.abi_major) + ".x: rebuild the plugin against this SDK";
  }
  if (d.struct_size < kMinDescriptorSize) {
    return "descriptor is " + std::to_string(d.struct_size) + " bytes, ABI " +
           std::to_string(host.abi_major) + " needs at least " + std::to_string(kMinDescriptorSize);
  }
  if (d.abi_minor > host.abi_minor) {
    return "needs SDK ABI " + std::to_string(d.abi_major) + "." + std::to_string(d.abi_minor) +
           ", this host has " + std::to_string(host.abi_major) + "." +
           std::to_string(host.abi_minor) + ": upgrade nanochat";
  }
  if (d.struct_size < descriptor_size_of_minor(d.abi_minor)) {
    return "descriptor is " + std::to_string(d.struct_size) + " bytes, an ABI " + std::to_string(d.abi_major) + "." +
           std::to_string(d.abi_minor) + " descriptor has at least " + std::to_string(descriptor_size_of_minor(d.abi_minor));
  }
  if (d.kind < NANOCHAT_KIND_STAGE || d.kind > NANOCHAT_KIND_TASK) {
    return "unknown plugin kind " + std::to_string(d.kind);
  }
  if (!valid_plugin_name(d.name)) return "invalid plugin name (want [a-z0-9_-]{1,64})";
  std::string torch = text_or_empty(d.torch_version);
  if (!torch.empty() && torch != host.torch_version) {
    return "built with LibTorch " + torch + ", this host uses " + host.torch_version +
           ": rebuild the plugin against this SDK";
  }
  if (d.cxx11_abi != host.cxx11_abi) {
    return "built with _GLIBCXX_USE_CXX11_ABI=" + std::to_string(d.cxx11_abi) + ", this host uses " +
           std::to_string(host.cxx11_abi);
  }
  if (NANOCHAT_DESCRIPTOR_HAS(&d, boost_version) && d.boost_version != host.boost_version) {
    // Boost.Program_options objects cross the boundary in the stage interface.
    return "built with Boost " + boost_version_text(d.boost_version) + ", this host uses Boost " +
           boost_version_text(host.boost_version) + ": rebuild the plugin against this SDK";
  }
  if (d.create == nullptr || d.destroy == nullptr) return "descriptor has no create/destroy factory";
  if (d.interface_id == nullptr || *d.interface_id == '\0') return "descriptor names no interface";
  return "";
}

struct PluginLibrary::Handle {
  boost::dll::shared_library library;
};

PluginRefused::PluginRefused(const std::filesystem::path& path, const std::string& reason)
    : UsageError("plugin " + path.string() + " refused: " + reason), reason_(reason) {}
PluginRefused::~PluginRefused() = default;

std::shared_ptr<PluginLibrary> PluginLibrary::open(const std::filesystem::path& path) {
  std::shared_ptr<PluginLibrary> plugin(new PluginLibrary());
  plugin->path_ = path;
  plugin->handle_ = std::make_unique<Handle>();
  // Before dlopen: a library that needs a newer libstdc++ is refused without running any of it.
  std::vector<std::string> libstdcxx_needs;
  std::string needs_refusal;
  try {
    needs_refusal = check_libstdcxx_needs(path, &libstdcxx_needs);
  } catch (const Error& e) {
    needs_refusal = std::string("cannot load: ") + e.what();
  }
  if (!needs_refusal.empty()) throw PluginRefused(path, needs_refusal);
  boost::dll::fs::error_code ec;
  plugin->handle_->library.load(boost::dll::fs::path(path.string()), boost::dll::load_mode::rtld_lazy | boost::dll::load_mode::rtld_local, ec);
  if (ec) {
    const char* why = dlerror();
    throw PluginRefused(path, std::string("cannot load: ") + (why ? why : ec.message()));
  }
  std::string entry_refusal = check_entry_is_variable(plugin->handle_->library.native(), NANOCHAT_PLUGIN_ENTRY_NAME);
  if (!entry_refusal.empty()) throw PluginRefused(path, entry_refusal);
  auto entry = plugin->handle_->library.get_alias<const nanochat_plugin_descriptor*()>(
      NANOCHAT_PLUGIN_ENTRY_NAME);
  const nanochat_plugin_descriptor* d = entry();
  if (d == nullptr) throw PluginRefused(path, "entry returned no descriptor");
  std::string refusal = check_descriptor(*d, HostAbi::current());
  if (!refusal.empty()) throw PluginRefused(path, refusal);

  plugin->descriptor_ = d;
  PluginInfo& info = plugin->info_;
  info.abi_major = d->abi_major;
  info.abi_minor = d->abi_minor;
  info.kind = static_cast<PluginKind>(d->kind - NANOCHAT_KIND_STAGE);
  info.name = d->name;
  info.version = text_or_empty(d->version);
  info.description = text_or_empty(d->description);
  info.torch_version = text_or_empty(d->torch_version);
  info.cxx11_abi = d->cxx11_abi;
  info.interface_id = d->interface_id;
  if (NANOCHAT_DESCRIPTOR_HAS(d, boost_version)) info.boost_version = d->boost_version;
  if (NANOCHAT_DESCRIPTOR_HAS(d, compiler)) info.compiler = text_or_empty(d->compiler);
  info.libstdcxx_needs = std::move(libstdcxx_needs);

  auto file_id = parse_plugin_file_name(path.filename().string());
  if (file_id && (file_id->kind != info.kind || file_id->name != info.name)) {
    throw PluginRefused(path, std::string("file name says ") + plugin_kind_name(file_id->kind) + "/" +
                                  file_id->name + " but the plugin is " +
                                  plugin_kind_name(info.kind) + "/" + info.name);
  }
  return plugin;
}

PluginLibrary::~PluginLibrary() = default;

void* PluginLibrary::create_raw(const char* interface_id) {
  char error[512] = {0};
  void* object = descriptor_->create(interface_id, error, sizeof error);
  if (object == nullptr) {
    throw PluginRefused(path_, std::string("factory failed: ") + (error[0] ? error : "no reason given"));
  }
  return object;
}

nanochat_destroy_fn PluginLibrary::destroy_fn() const { return descriptor_->destroy; }

void PluginLibrary::probe_factory() { descriptor_->destroy(create_raw(descriptor_->interface_id)); }

std::string plugin_file_name(PluginKind kind, const std::string& name) {
  return std::string("libnanochat-") + plugin_kind_name(kind) + "-" + name + ".so";
}

std::optional<PluginFileId> parse_plugin_file_name(const std::string& file_name) {
  static const std::regex pattern("^libnanochat-(stage|tokenizer|optimizer|rl|task)-([a-z0-9_-]+)\\.so$");
  std::smatch match;
  if (!std::regex_match(file_name, match, pattern)) return std::nullopt;
  return PluginFileId{*plugin_kind_from_name(match[1].str()), match[2].str()};
}

}  // namespace nanochat
