# nanochat_add_all_subdirectories(): builds every subfolder that has a CMakeLists.txt, so
# dropping a plugin folder into plugins/ or stages/ is all it takes to build it.
function(nanochat_add_all_subdirectories)
  file(GLOB children LIST_DIRECTORIES true CONFIGURE_DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/*")
  list(SORT children)
  foreach(child IN LISTS children)
    if(IS_DIRECTORY "${child}" AND EXISTS "${child}/CMakeLists.txt")
      add_subdirectory("${child}")
    endif()
  endforeach()
endfunction()
