# boost.cmake: the `boost-rbtree` and `boost-seqfit` allocators, Boost.Interprocess's
# own memory algorithms (header-only): Boost's calls in one C++17 file,
# alloc/boost_ipc.cpp, behind plain C calls (alloc/boost_ipc.h), and the ops
# tables in C, alloc/boost_ops.c.
#
# Included by the top CMakeLists after the shmbench_alloc target exists.  If
# the headers are not found nothing is added, and the registry
# (alloc/allocator.c) lists both allocators as "not built" with the reason.
# Sets SHMBENCH_HAVE_BOOST_FOUND for tests/boost.cmake.
#
# Boost's headers are included as SYSTEM headers: their own warnings are not
# ours to fix, and the adapter is built with the project's -Wall -Wextra
# (-Werror).  Boost.Interprocess needs no library of its own on Linux beyond
# pthread and rt, which shmbench_alloc links already.  The C++ runtime needs
# nothing either: CMake records that the static library holds C++ code and
# links every executable that uses it with the C++ driver.

set(SHMBENCH_HAVE_BOOST_FOUND OFF)

find_path(SHMBENCH_BOOST_INCLUDE_DIR
  NAMES boost/interprocess/managed_external_buffer.hpp
  DOC "directory holding boost/interprocess (Debian: libboost-dev)")

if(SHMBENCH_BOOST_INCLUDE_DIR AND
   EXISTS "${SHMBENCH_BOOST_INCLUDE_DIR}/boost/interprocess/managed_external_buffer.hpp")
  file(STRINGS "${SHMBENCH_BOOST_INCLUDE_DIR}/boost/version.hpp" _boost_version_line
       REGEX "^#define[ \t]+BOOST_LIB_VERSION[ \t]+\"")
  string(REGEX REPLACE ".*\"([^\"]*)\".*" "\\1" _boost_version "${_boost_version_line}")
  string(REPLACE "_" "." _boost_version "${_boost_version}")
  message(STATUS "Boost.Interprocess ${_boost_version} headers: ${SHMBENCH_BOOST_INCLUDE_DIR} "
                 "(boost-rbtree, boost-seqfit)")

  target_sources(shmbench_alloc PRIVATE ${CMAKE_SOURCE_DIR}/alloc/boost_ipc.cpp
                                        ${CMAKE_SOURCE_DIR}/alloc/boost_ops.c)
  target_include_directories(shmbench_alloc SYSTEM PRIVATE ${SHMBENCH_BOOST_INCLUDE_DIR})
  target_compile_definitions(shmbench_alloc PUBLIC SHMBENCH_HAVE_BOOST
                             PRIVATE SHMBENCH_BOOST_VERSION="${_boost_version}")
  set(SHMBENCH_HAVE_BOOST_FOUND ON)
else()
  message(STATUS "Boost.Interprocess headers not found: boost-rbtree and boost-seqfit "
                 "are not built (Debian: libboost-dev)")
endif()
