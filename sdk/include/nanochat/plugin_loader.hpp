// Opening one plugin library: check the libstdc++ symbol versions it needs against the
// host's libstdc++ (before loading it), check that its entry is an exported variable, read
// its descriptor, check it against this SDK (ABI major and minor, descriptor size, LibTorch
// version, C++ ABI, Boost version, kind, name), and make objects through its factory.
// Objects keep their library loaded: it is closed only after the last one dies.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nanochat/error.hpp"
#include "nanochat/plugin_abi.h"

namespace nanochat {

enum class PluginKind { stage, tokenizer, optimizer, rl, task };

const char* plugin_kind_name(PluginKind kind);
std::optional<PluginKind> plugin_kind_from_name(const std::string& name);
const std::vector<PluginKind>& all_plugin_kinds();

// The descriptor's facts, copied out of the library.
struct PluginInfo {
  uint32_t abi_major = 0;
  uint32_t abi_minor = 0;
  PluginKind kind = PluginKind::stage;
  std::string name;
  std::string version;
  std::string description;
  std::string torch_version;  // "" for a torch-free plugin
  int cxx11_abi = 0;
  std::string interface_id;
  uint32_t boost_version = 0;  // 0: an ABI 1.0 descriptor, which does not record it
  std::string compiler;        // "" likewise
  // The newest libstdc++ symbol version the library needs in each family, read from its
  // ELF file: e.g. {"CXXABI_1.3.13", "GLIBCXX_3.4.30"}.
  std::vector<std::string> libstdcxx_needs;
};

// What this host accepts; the defaults are the facts of this build.
struct HostAbi {
  uint32_t abi_major = NANOCHAT_ABI_MAJOR;
  uint32_t abi_minor = NANOCHAT_ABI_MINOR;
  std::string torch_version;  // LibTorch this SDK was built with
  int cxx11_abi = 0;
  uint32_t boost_version = 0;  // BOOST_VERSION
  static HostAbi current();
};

// Returns "" when the descriptor is acceptable, else the reason it is refused. Reads
// abi_major first and nothing else when it differs (a foreign layout is not trusted), and
// fields appended after ABI 1.0 only when struct_size covers them.
std::string check_descriptor(const nanochat_plugin_descriptor& descriptor, const HostAbi& host);

// "1.81.0" for BOOST_VERSION 108100.
std::string boost_version_text(uint32_t boost_version);

// Returns "" when every libstdc++ symbol version the ELF file `library` needs is defined by
// the libstdc++ loaded in this process, else the reason it is refused. Reads the file only:
// nothing of it runs. `needs` receives the newest needed version of each family.
std::string check_libstdcxx_needs(const std::filesystem::path& library, std::vector<std::string>* needs = nullptr);

class PluginLibrary : public std::enable_shared_from_this<PluginLibrary> {
 public:
  // Opens and checks `path`; throws PluginRefused with the reason when it is not acceptable.
  static std::shared_ptr<PluginLibrary> open(const std::filesystem::path& path);
  ~PluginLibrary();

  const std::filesystem::path& path() const { return path_; }
  const PluginInfo& info() const { return info_; }

  // Makes an object of `Interface` (which names its kInterfaceId). Throws PluginRefused if
  // the plugin provides another interface or its factory fails.
  template <class Interface>
  std::shared_ptr<Interface> create() {
    return create_as<Interface>(Interface::kInterfaceId);
  }

  // Makes an object of the interface `interface_id` and views it as `Base`, which must be
  // that interface itself or its first and only base class (then, in the Itanium C++ ABI,
  // the two pointers are equal). For code without the interface's header: the torch-free
  // host asks an optimizer, as an OptionDeclaring, for its options.
  template <class Base>
  std::shared_ptr<Base> create_as(const char* interface_id) {
    void* object = create_raw(interface_id);
    auto keep_loaded = shared_from_this();
    auto destroy = destroy_fn();
    return std::shared_ptr<Base>(static_cast<Base*>(object), [keep_loaded, destroy, object](Base*) { destroy(object); });
  }

  // Makes and destroys one object, to prove the factory works.
  void probe_factory();

 private:
  PluginLibrary() = default;
  void* create_raw(const char* interface_id);
  nanochat_destroy_fn destroy_fn() const;

  struct Handle;
  std::unique_ptr<Handle> handle_;
  std::filesystem::path path_;
  PluginInfo info_;
  const nanochat_plugin_descriptor* descriptor_ = nullptr;
};

// A plugin that is not acceptable: the message is the reason, ready for "refused: ...".
class PluginRefused : public UsageError {
 public:
  PluginRefused(const std::filesystem::path& path, const std::string& reason);
  ~PluginRefused() override;
  const std::string& reason() const { return reason_; }

 private:
  std::string reason_;
};

// "libnanochat-<kind>-<name>.so" and back.
std::string plugin_file_name(PluginKind kind, const std::string& name);
struct PluginFileId {
  PluginKind kind;
  std::string name;
};
std::optional<PluginFileId> parse_plugin_file_name(const std::string& file_name);

}  // namespace nanochat
