# Boost.Interprocess's algorithms (boost-rbtree, boost-seqfit), when
# cmake/boost.cmake found the headers.
if(SHMBENCH_HAVE_BOOST_FOUND)
  shmbench_test(test_boost ${CMAKE_CURRENT_LIST_DIR}/test_boost.c)
  set_tests_properties(test_boost PROPERTIES TIMEOUT 120)
endif()
