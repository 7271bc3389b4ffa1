# Use ccache when it is installed. BASEDIR makes absolute source paths relative in the
# cache key, so a fresh clone elsewhere (CI) hits the cache that an earlier build filled.
find_program(NANOCHAT_CCACHE ccache)
if(NANOCHAT_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(NANOCHAT_CCACHE_LAUNCHER
    "${CMAKE_COMMAND}" -E env "CCACHE_BASEDIR=${CMAKE_SOURCE_DIR}" CCACHE_NOHASHDIR=1 "${NANOCHAT_CCACHE}")
  set(CMAKE_CXX_COMPILER_LAUNCHER ${NANOCHAT_CCACHE_LAUNCHER})
  set(CMAKE_CUDA_COMPILER_LAUNCHER ${NANOCHAT_CCACHE_LAUNCHER})
endif()
