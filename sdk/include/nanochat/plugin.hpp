// Helpers for writing a plugin in C++: NANOCHAT_PLUGIN(...) fills the C descriptor of
// plugin_abi.h, exports it through Boost.DLL, and keeps every exception inside the library.
// docs/sdk.md says what the descriptor guarantees and what a plugin must share with the host.
#pragma once

#include <boost/dll/alias.hpp>
#include <boost/version.hpp>

#include <cstring>
#include <exception>
#include <string>

#include "nanochat/plugin_abi.h"

namespace nanochat::plugin_detail {

inline void copy_error(char* error, size_t error_size, const char* message) noexcept {
  if (error == nullptr || error_size == 0) return;
  std::strncpy(error, message, error_size - 1);
  error[error_size - 1] = '\0';
}

template <class Interface, class Impl>
void* create_object(const char* interface_id, char* error, size_t error_size) noexcept {
  try {
    if (interface_id == nullptr || std::strcmp(interface_id, Interface::kInterfaceId) != 0) {
      std::string message = std::string("this plugin makes ") + Interface::kInterfaceId + ", not " +
                            (interface_id ? interface_id : "(null)");
      copy_error(error, error_size, message.c_str());
      return nullptr;
    }
    Interface* object = new Impl();
    return static_cast<void*>(object);
  } catch (const std::exception& e) {
    copy_error(error, error_size, e.what());
  } catch (...) {
    copy_error(error, error_size, "unknown exception");
  }
  return nullptr;
}

template <class Interface>
void destroy_object(void* object) noexcept {
  delete static_cast<Interface*>(object);
}

}  // namespace nanochat::plugin_detail

// What the descriptor records about the compiler: shown by `nanochat plugins info`, not
// checked (the libstdc++ symbol versions the library needs are what the host checks).
#if defined(__clang__)
#define NANOCHAT_COMPILER_TEXT "Clang " __clang_version__
#elif defined(__GNUC__)
#define NANOCHAT_COMPILER_TEXT "GCC " __VERSION__
#else
#define NANOCHAT_COMPILER_TEXT "unknown compiler"
#endif

// NANOCHAT_PLUGIN_WITH_TORCH(KIND, INTERFACE, IMPL, NAME, VERSION, DESCRIPTION, TORCH_VER)
// fills the descriptor of plugin_abi.h and exports it as `nanochat_plugin_entry`, a
// Boost.DLL alias (a variable, as the host requires). Use it once per library, at namespace
// scope in one .cpp file; plugins normally use NANOCHAT_PLUGIN or NANOCHAT_TENSOR_PLUGIN.
//   KIND         a nanochat_plugin_kind: NANOCHAT_KIND_STAGE, _TOKENIZER, _OPTIMIZER, _RL, _TASK;
//                it must match the <kind> in the library's file name libnanochat-<kind>-<name>.so
//   INTERFACE    the SDK interface the plugin implements (nanochat::Stage, nanochat::Tokenizer,
//                nanochat::Optimizer); its kInterfaceId ("nanochat.stage/1") goes into the
//                descriptor, and the host asks the factory for exactly that id
//   IMPL         the class that implements INTERFACE; default-constructible. The factory
//                makes one with `new IMPL()`; an exception from its constructor becomes the
//                factory's error message and never leaves the library
//   NAME         a string literal, [a-z0-9_-]{1,64}, unique per kind; the <name> of the file name
//   VERSION      a string literal, the plugin's own version ("1.2.0"), shown and checked
//                against a package manifest by `nanochat plugins install`
//   DESCRIPTION  a string literal, one line, shown by `nanochat plugins list/info`
//   TORCH_VER    the LibTorch version the plugin was compiled against ("2.11.0"), or "" for a
//                plugin that does not use LibTorch; the host refuses one that differs from its own
// The macro also records _GLIBCXX_USE_CXX11_ABI, BOOST_VERSION and the compiler.
#define NANOCHAT_PLUGIN_WITH_TORCH(KIND, INTERFACE, IMPL, NAME, VERSION, DESCRIPTION, TORCH_VER) \
  namespace {                                                                                 \
  const nanochat_plugin_descriptor nanochat_plugin_descriptor_value = {                      \
      NANOCHAT_ABI_MAJOR,                                                                     \
      NANOCHAT_ABI_MINOR,                                                                     \
      sizeof(nanochat_plugin_descriptor),                                                     \
      KIND,                                                                                   \
      NAME,                                                                                   \
      VERSION,                                                                                \
      DESCRIPTION,                                                                            \
      TORCH_VER,                                                                              \
      _GLIBCXX_USE_CXX11_ABI,                                                                 \
      INTERFACE::kInterfaceId,                                                                \
      &::nanochat::plugin_detail::create_object<INTERFACE, IMPL>,                             \
      &::nanochat::plugin_detail::destroy_object<INTERFACE>,                                  \
      BOOST_VERSION,                                                                          \
      NANOCHAT_COMPILER_TEXT,                                                                 \
  };                                                                                          \
  }                                                                                           \
  extern "C" const nanochat_plugin_descriptor* nanochat_plugin_describe() noexcept {          \
    return &nanochat_plugin_descriptor_value;                                                 \
  }                                                                                           \
  BOOST_DLL_ALIAS(nanochat_plugin_describe, nanochat_plugin_entry)

// NANOCHAT_PLUGIN(KIND, INTERFACE, IMPL, NAME, VERSION, DESCRIPTION): a plugin that does not
// use LibTorch (its library never loads it); the arguments are those above.
#define NANOCHAT_PLUGIN(KIND, INTERFACE, IMPL, NAME, VERSION, DESCRIPTION) \
  NANOCHAT_PLUGIN_WITH_TORCH(KIND, INTERFACE, IMPL, NAME, VERSION, DESCRIPTION, "")
