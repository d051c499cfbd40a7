# Boost.Interprocess's algorithms (boost-rbtree, boost-seqfit), when
# cmake/boost.cmake found the headers.
if(SHMBENCH_HAVE_BOOST_FOUND)
  shmbench_test(test_boost LABELS unit multiproc
                SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_boost.c)
  set_tests_properties(test_boost PROPERTIES TIMEOUT 120)
else()
  shmbench_skipped(test_boost LABELS unit multiproc
                   WHY "Boost.Interprocess headers were not found at build time (Debian: libboost-dev)")
endif()
