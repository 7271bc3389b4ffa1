# Third-party packages: Debian's for C++ libraries, LibTorch from the pinned PyTorch wheel.
find_package(Boost 1.74 REQUIRED COMPONENTS program_options filesystem)
find_package(fmt REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(Threads REQUIRED)

# LibTorch: packaging/setup.sh passes its venv's torch.utils.cmake_prefix_path.
find_package(Torch REQUIRED)
# TORCH_VERSION comes from the found package (e.g. 2.11.0); keep the bare x.y.z.
string(REGEX MATCH "^[0-9]+\\.[0-9]+\\.[0-9]+" NANOCHAT_TORCH_VERSION "${Torch_VERSION}")
get_filename_component(NANOCHAT_TORCH_LIB_DIR "${TORCH_LIBRARY}" DIRECTORY)
if(TARGET torch_cuda AND NANOCHAT_CUDA)
  set(NANOCHAT_WITH_CUDA 1)
  set(NANOCHAT_TORCH_TARGETS torch)
else()
  set(NANOCHAT_WITH_CUDA 0)
  set(NANOCHAT_TORCH_TARGETS torch_cpu c10)
endif()
message(STATUS "nanochat: LibTorch ${NANOCHAT_TORCH_VERSION} at ${NANOCHAT_TORCH_LIB_DIR}, CUDA=${NANOCHAT_WITH_CUDA}")
