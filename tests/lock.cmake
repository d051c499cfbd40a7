# Zones (every way of getting shared memory, attach by name) and the lock.
shmbench_test(test_zone LABELS unit SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_zone.c)
shmbench_add_test(test_zone_hugetlb LABELS unit COMMAND test_zone hugetlb)
shmbench_test(test_shmtx LABELS unit multiproc crash
              SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_shmtx.c)
set_tests_properties(test_zone test_zone_hugetlb test_shmtx PROPERTIES TIMEOUT 120)
