# The slab: unit tests in one process, and forked workers on one zone.
shmbench_test(test_slab ${CMAKE_CURRENT_LIST_DIR}/test_slab.c)
shmbench_test(test_multiproc ${CMAKE_CURRENT_LIST_DIR}/test_multiproc.c)
set_tests_properties(test_multiproc PROPERTIES TIMEOUT 300)
