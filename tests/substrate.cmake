# The substrate's small pieces: messages (diag), process identity (proc),
# run-time library loading (dynlib), the tick clock.  The zone and the lock
# have their own fragment, lock.cmake.
shmbench_test(test_substrate LABELS unit SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_substrate.c)
set_tests_properties(test_substrate PROPERTIES TIMEOUT 60)
