# Zones (every way of getting shared memory, attach by name) and the lock.
shmbench_test(test_zone ${CMAKE_CURRENT_LIST_DIR}/test_zone.c)
shmbench_test(test_shmtx ${CMAKE_CURRENT_LIST_DIR}/test_shmtx.c)
set_tests_properties(test_zone test_shmtx PROPERTIES TIMEOUT 120)
