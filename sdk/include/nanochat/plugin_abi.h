/* The binary contract between the `nanochat` host and a plugin library (docs/sdk.md says
 * what is stable under it and what is not).
 *
 * Every plugin exports one entry named `nanochat_plugin_entry`. It is a VARIABLE, not a
 * function: a Boost.DLL alias (BOOST_DLL_ALIAS), i.e. an exported pointer whose value is
 * the address of a function returning a pointer to a static descriptor. The host checks
 * that the symbol is a data object before it reads it; a library exporting a function
 * under that name is refused (reading code as a pointer would crash the host).
 *
 * The host reads `abi_major` first and touches nothing else when it differs. Later minors
 * only append fields, and the host reads an appended field only when `struct_size` covers
 * it (NANOCHAT_DESCRIPTOR_HAS), so a plugin built for an older minor keeps loading.
 *
 * Only this C struct crosses the boundary by ABI guarantee. The objects `create` makes are
 * C++ objects (vtables, std::string, Boost.Program_options, LibTorch tensors): the plugin
 * and the host must agree on the C++ ABI, on libstdc++ (the plugin may need no newer symbol
 * versions than the host's libstdc++ has), on Boost and on LibTorch. The descriptor records
 * what the host can check; the host also reads the libstdc++ symbol versions the library
 * needs from its ELF file before loading it. No exception crosses the boundary. */
#ifndef NANOCHAT_PLUGIN_ABI_H
#define NANOCHAT_PLUGIN_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NANOCHAT_ABI_MAJOR 1
#define NANOCHAT_ABI_MINOR 1

/* The exported alias name the host looks up. */
#define NANOCHAT_PLUGIN_ENTRY_NAME "nanochat_plugin_entry"

typedef enum nanochat_plugin_kind {
  NANOCHAT_KIND_STAGE = 1,
  NANOCHAT_KIND_TOKENIZER = 2,
  NANOCHAT_KIND_OPTIMIZER = 3,
  NANOCHAT_KIND_RL = 4,
  NANOCHAT_KIND_TASK = 5
} nanochat_plugin_kind;

/* Makes one object of the interface `interface_id` (e.g. "nanochat.stage/1").
 * Returns NULL and writes a message into `error` (at most error_size bytes, NUL ended)
 * when it cannot. The object is released with the descriptor's `destroy`. */
typedef void* (*nanochat_create_fn)(const char* interface_id, char* error, size_t error_size);
typedef void (*nanochat_destroy_fn)(void* object);

typedef struct nanochat_plugin_descriptor {
  /* ABI 1.0 fields; never reordered. */
  uint32_t abi_major;
  uint32_t abi_minor;
  uint32_t struct_size;        /* sizeof(nanochat_plugin_descriptor) as the plugin saw it */
  uint32_t kind;               /* nanochat_plugin_kind */
  const char* name;            /* [a-z0-9_-]+, unique per kind */
  const char* version;         /* the plugin's own version, e.g. "1.2.0" */
  const char* description;     /* one line */
  const char* torch_version;   /* LibTorch it was built with ("2.11.0"), "" if torch-free */
  int32_t cxx11_abi;           /* _GLIBCXX_USE_CXX11_ABI of the plugin's build */
  const char* interface_id;    /* what `create` makes, e.g. "nanochat.stage/1" */
  nanochat_create_fn create;
  nanochat_destroy_fn destroy;
  /* ABI 1.1 fields: read only where NANOCHAT_DESCRIPTOR_HAS says the plugin has them. */
  uint32_t boost_version;      /* BOOST_VERSION of the plugin's build (108100 = 1.81.0) */
  const char* compiler;        /* the compiler that built it, e.g. "GCC 12.2.0"; shown, not checked */
  /* Later minors append here. */
} nanochat_plugin_descriptor;

/* Whether the descriptor `d` (a pointer) is long enough to hold `field`: every field
 * appended after ABI 1.0 is read only when this holds. */
#define NANOCHAT_DESCRIPTOR_HAS(d, field) \
  ((d)->struct_size >= offsetof(nanochat_plugin_descriptor, field) + sizeof((d)->field))

typedef const nanochat_plugin_descriptor* (*nanochat_plugin_entry_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* NANOCHAT_PLUGIN_ABI_H */
