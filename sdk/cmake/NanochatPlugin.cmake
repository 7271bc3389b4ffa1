# nanochat_add_plugin(<target> KIND <stage|tokenizer|optimizer|rl|task> NAME <name>
#                     SOURCES <files...> [TENSOR] [LIBS <libs...>])
# Builds a plugin library named libnanochat-<kind>-<name>.so, the name the host looks for.
# TENSOR links the LibTorch part of the SDK; without it the plugin stays torch-free.
# Used in this tree and, through find_package(NanochatSDK), by out-of-tree plugins.
function(nanochat_add_plugin target)
  cmake_parse_arguments(ARG "TENSOR" "KIND;NAME" "SOURCES;LIBS" ${ARGN})
  if(NOT ARG_KIND OR NOT ARG_NAME)
    message(FATAL_ERROR "nanochat_add_plugin(${target}): KIND and NAME are required")
  endif()
  if(NOT ARG_KIND MATCHES "^(stage|tokenizer|optimizer|rl|task)$")
    message(FATAL_ERROR "nanochat_add_plugin(${target}): unknown KIND '${ARG_KIND}'")
  endif()
  add_library(${target} MODULE ${ARG_SOURCES})
  if(ARG_TENSOR)
    target_link_libraries(${target} PRIVATE NanochatSDK::tensor ${ARG_LIBS})
  else()
    target_link_libraries(${target} PRIVATE NanochatSDK::core ${ARG_LIBS})
  endif()
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    OUTPUT_NAME "libnanochat-${ARG_KIND}-${ARG_NAME}"
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  if(NANOCHAT_BUILD_PLUGIN_DIR)  # inside the nanochat tree
    set_target_properties(${target} PROPERTIES
      LIBRARY_OUTPUT_DIRECTORY "${NANOCHAT_BUILD_PLUGIN_DIR}"
      INSTALL_RPATH "$ORIGIN/../..;${NANOCHAT_TORCH_LIB_DIR}")
  endif()
  install(TARGETS ${target} LIBRARY DESTINATION "${NANOCHAT_PLUGIN_SUBDIR}")
endfunction()
