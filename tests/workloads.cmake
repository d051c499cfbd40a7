# The workloads' building blocks: the latency histogram and the size
# distributions.  `test_histogram --bench` prints the cost of one record
# (not registered: timing is noisy).
shmbench_test(test_histogram LABELS unit SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_histogram.c)
shmbench_test(test_sizes LABELS unit SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_sizes.c)
