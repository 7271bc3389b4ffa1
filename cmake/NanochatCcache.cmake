# Use ccache when it is installed: rebuilds after a clean clone then cost seconds.
find_program(NANOCHAT_CCACHE ccache)
if(NANOCHAT_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER "${NANOCHAT_CCACHE}")
  set(CMAKE_CUDA_COMPILER_LAUNCHER "${NANOCHAT_CCACHE}")
endif()
