/* The binary contract between the `nanochat` host and a plugin library.
 *
 * Every plugin exports one entry, `nanochat_plugin_entry` (a Boost.DLL alias), that returns
 * a pointer to a static descriptor. The host reads `abi_major` first and touches nothing
 * else when it differs; later versions only append fields, guarded by `struct_size`.
 * Nothing but plain C crosses this boundary, and no exception escapes it. */
#ifndef NANOCHAT_PLUGIN_ABI_H
#define NANOCHAT_PLUGIN_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NANOCHAT_ABI_MAJOR 1
#define NANOCHAT_ABI_MINOR 0

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
  /* Later minors append here. */
} nanochat_plugin_descriptor;

typedef const nanochat_plugin_descriptor* (*nanochat_plugin_entry_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* NANOCHAT_PLUGIN_ABI_H */
