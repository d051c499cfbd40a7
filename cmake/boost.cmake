# boost.cmake: the `boost-rbtree` and `boost-seqfit` allocators, Boost.Interprocess's
# own memory algorithms (header-only): Boost's calls in one C++17 file,
# alloc/baselines/boost_ipc.cpp, behind plain C calls (boost_ipc.h), and the
# ops tables in C, alloc/baselines/boost_ops.c.
#
# Included from alloc/CMakeLists.txt once shmbench_allocators exists.  If
# Boost is not found nothing is added, and the registry (alloc/registry.c)
# lists both allocators as "not built" with the reason.  Sets
# SHMBENCH_HAVE_BOOST_FOUND (in the parent scope too) for tests/boost.cmake.
#
# Boost::headers carries its include directory as a SYSTEM one: Boost's own
# warnings are not ours to fix, and the adapter is built with the project's
# -Wall -Wextra (-Werror).  Boost.Interprocess needs no library of its own on
# Linux beyond pthread and rt, which the substrate links already.  The C++
# runtime needs nothing either: CMake records that the static library holds
# C++ code and links every executable that uses it with the C++ driver.

find_package(Boost 1.67 CONFIG QUIET)

if(Boost_FOUND AND TARGET Boost::headers)
  message(STATUS "Boost.Interprocess ${Boost_VERSION} headers (boost-rbtree, boost-seqfit)")
  target_sources(shmbench_allocators PRIVATE
    ${PROJECT_SOURCE_DIR}/alloc/baselines/boost_ipc.cpp
    ${PROJECT_SOURCE_DIR}/alloc/baselines/boost_ops.c)
  target_link_libraries(shmbench_allocators PRIVATE Boost::headers)
  target_compile_definitions(shmbench_allocators PUBLIC SHMBENCH_HAVE_BOOST
                             PRIVATE SHMBENCH_BOOST_VERSION="${Boost_VERSION}")
  set(SHMBENCH_HAVE_BOOST_FOUND ON)
else()
  message(STATUS "Boost (CMake config, Debian: libboost-dev) not found: boost-rbtree "
                 "and boost-seqfit are not built")
  set(SHMBENCH_HAVE_BOOST_FOUND OFF)
endif()
set(SHMBENCH_HAVE_BOOST_FOUND ${SHMBENCH_HAVE_BOOST_FOUND} PARENT_SCOPE)
