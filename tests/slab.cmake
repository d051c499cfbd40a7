# The slab: unit tests in one process, and forked workers on one zone (every
# zone method; hugetlb apart, reported skipped where no huge pages are
# reserved).
shmbench_test(test_slab LABELS unit SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_slab.c)
shmbench_test(test_multiproc LABELS multiproc crash SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_multiproc.c)
shmbench_add_test(test_multiproc_hugetlb LABELS multiproc COMMAND test_multiproc hugetlb)
set_tests_properties(test_multiproc test_multiproc_hugetlb PROPERTIES TIMEOUT 300)
