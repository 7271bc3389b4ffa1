# Installs the SDK (libraries, headers, CMake package) so that a plugin can be built
# outside this tree with find_package(NanochatSDK) and nothing but CMAKE_PREFIX_PATH.
include(CMakePackageConfigHelpers)

set_target_properties(nanochat_core PROPERTIES EXPORT_NAME core)
set_target_properties(nanochat_tensor PROPERTIES EXPORT_NAME tensor)
target_compile_features(nanochat_core PUBLIC cxx_std_17)

install(TARGETS nanochat_core nanochat_tensor EXPORT NanochatSDKTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY "${CMAKE_CURRENT_SOURCE_DIR}/include/nanochat" DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES "${CMAKE_CURRENT_BINARY_DIR}/include/nanochat/build_config.hpp"
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/nanochat)

set(NANOCHAT_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/NanochatSDK)
install(EXPORT NanochatSDKTargets NAMESPACE NanochatSDK:: DESTINATION ${NANOCHAT_CMAKE_DIR})
configure_package_config_file(cmake/NanochatSDKConfig.cmake.in
  "${CMAKE_CURRENT_BINARY_DIR}/NanochatSDKConfig.cmake" INSTALL_DESTINATION ${NANOCHAT_CMAKE_DIR})
write_basic_package_version_file("${CMAKE_CURRENT_BINARY_DIR}/NanochatSDKConfigVersion.cmake"
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES
  "${CMAKE_CURRENT_BINARY_DIR}/NanochatSDKConfig.cmake"
  "${CMAKE_CURRENT_BINARY_DIR}/NanochatSDKConfigVersion.cmake"
  cmake/NanochatPlugin.cmake
  DESTINATION ${NANOCHAT_CMAKE_DIR})
