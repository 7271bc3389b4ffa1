// Loading one plugin library through Boost.DLL and checking its descriptor before use.
#include "nanochat/plugin_loader.hpp"

#include <boost/dll/shared_library.hpp>

#include <dlfcn.h>

#include <cstring>
#include <regex>

#include "nanochat/build_config.hpp"

namespace nanochat {
namespace {

constexpr const char* kKindNames[] = {"stage", "tokenizer", "optimizer", "rl", "task"};

// The size of the ABI 1.0 descriptor: every field up to and including `destroy`.
constexpr size_t kMinDescriptorSize =
    offsetof(nanochat_plugin_descriptor, destroy) + sizeof(nanochat_destroy_fn);

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
  return host;
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
  boost::dll::fs::error_code ec;
  plugin->handle_->library.load(boost::dll::fs::path(path.string()), boost::dll::load_mode::rtld_lazy | boost::dll::load_mode::rtld_local, ec);
  if (ec) {
    const char* why = dlerror();
    throw PluginRefused(path, std::string("cannot load: ") + (why ? why : ec.message()));
  }
  if (!plugin->handle_->library.has(NANOCHAT_PLUGIN_ENTRY_NAME)) {
    throw PluginRefused(path, std::string("not a nanochat plugin: no '") + NANOCHAT_PLUGIN_ENTRY_NAME +
                                  "' entry exported");
  }
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
