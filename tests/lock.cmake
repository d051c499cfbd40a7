# Zones (every way of getting shared memory, attach by name) and the lock.
# test_shmtx wraps the semaphore calls (ld --wrap) to count them and to make
# them fail on demand; test_zone wraps the calls whose failure no resource
# limit can provoke.  Both only pass calls through unless a test asks.
shmbench_test(test_zone LABELS unit SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_zone.c)
target_link_options(test_zone PRIVATE -Wl,--wrap=fstat,--wrap=shmctl,--wrap=fopen)
shmbench_add_test(test_zone_hugetlb LABELS unit COMMAND test_zone hugetlb)
shmbench_test(test_shmtx LABELS unit multiproc crash
              SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_shmtx.c)
target_link_options(test_shmtx PRIVATE
                    -Wl,--wrap=sem_init,--wrap=sem_wait,--wrap=sem_post,--wrap=sem_destroy)
set_tests_properties(test_zone test_zone_hugetlb test_shmtx PROPERTIES TIMEOUT 120)
