// Helpers for writing a plugin in C++: NANOCHAT_PLUGIN(...) fills the C descriptor of
// plugin_abi.h, exports it through Boost.DLL, and keeps every exception inside the library.
#pragma once

#include <boost/dll/alias.hpp>

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

// The descriptor and the exported entry, with an explicit LibTorch version ("" = torch-free).
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
  };                                                                                          \
  }                                                                                           \
  extern "C" const nanochat_plugin_descriptor* nanochat_plugin_describe() noexcept {          \
    return &nanochat_plugin_descriptor_value;                                                 \
  }                                                                                           \
  BOOST_DLL_ALIAS(nanochat_plugin_describe, nanochat_plugin_entry)

// A plugin that does not use LibTorch (its library never loads it).
#define NANOCHAT_PLUGIN(KIND, INTERFACE, IMPL, NAME, VERSION, DESCRIPTION) \
  NANOCHAT_PLUGIN_WITH_TORCH(KIND, INTERFACE, IMPL, NAME, VERSION, DESCRIPTION, "")
