# `cmake --install <build> --prefix <dir>`: libpagoda, the `pagoda` command, the public headers
# (with the generated version.h) and a CMake package, so that an out-of-tree project (a model
# plugin, an application) can write
#   find_package(pagoda REQUIRED)
#   target_link_libraries(my_plugin PRIVATE pagoda::pagoda)
# Included from src/CMakeLists.txt once the `pagoda` and `pagoda_cli` targets exist.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(PAGODA_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/pagoda)

install(TARGETS pagoda EXPORT pagodaTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# The installed command finds the installed library beside it, wherever the prefix is.
set_target_properties(pagoda_cli PROPERTIES INSTALL_RPATH "$ORIGIN/../${CMAKE_INSTALL_LIBDIR}")
install(TARGETS pagoda_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/pagoda
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.h")
install(FILES ${PROJECT_BINARY_DIR}/generated/pagoda/version.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/pagoda)

install(EXPORT pagodaTargets
  NAMESPACE pagoda::
  FILE pagodaTargets.cmake
  DESTINATION ${PAGODA_INSTALL_CMAKEDIR})

# Read from the header so that the package cannot disagree with the code.
file(STRINGS ${PROJECT_SOURCE_DIR}/include/pagoda/plugin.h PAGODA_ABI_LINE
     REGEX "kPluginAbiVersion = [0-9]+")
string(REGEX MATCH "kPluginAbiVersion = ([0-9]+)" PAGODA_ABI_MATCH "${PAGODA_ABI_LINE}")
set(PAGODA_PLUGIN_ABI_VERSION "${CMAKE_MATCH_1}")
if(NOT PAGODA_PLUGIN_ABI_VERSION)
  message(FATAL_ERROR "cannot read kPluginAbiVersion from include/pagoda/plugin.h")
endif()
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/pagodaConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cmake/pagodaConfig.cmake
  INSTALL_DESTINATION ${PAGODA_INSTALL_CMAKEDIR})
# Before 1.0 a minor version may change the C++ API and the plugin ABI (pagoda/plugin.h), so only
# the same major.minor is compatible; the registry also refuses plugins of another ABI at run time.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cmake/pagodaConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/cmake/pagodaConfig.cmake
              ${PROJECT_BINARY_DIR}/cmake/pagodaConfigVersion.cmake
  DESTINATION ${PAGODA_INSTALL_CMAKEDIR})

# The default model (models/kjv-llama), found by the installed command at <prefix>/share/pagoda.
if(EXISTS ${PROJECT_SOURCE_DIR}/models)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/models/ DESTINATION ${CMAKE_INSTALL_DATADIR}/pagoda/models)
endif()
