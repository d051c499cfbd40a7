# The fit allocators: freelist (first/best fit) and tlsf (good fit).
shmbench_test(test_freelist LABELS unit multiproc SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_freelist.c)
shmbench_test(test_tlsf LABELS unit multiproc SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_tlsf.c)
set_tests_properties(test_freelist test_tlsf PROPERTIES TIMEOUT 120)
