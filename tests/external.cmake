# The allocators on libraries loaded at run time (jemalloc-shm, mimalloc-shm,
# glibc, jemalloc, mimalloc).  The test re-executes itself with glibc's static
# TLS tunable, which Debian's jemalloc needs to be loaded by dlopen.  Skipped
# when none of the four loads (glibc alone is not what it is about).
shmbench_test(test_external LABELS multiproc SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_external.c)
target_link_libraries(test_external PRIVATE ${CMAKE_DL_LIBS})
set_tests_properties(test_external PROPERTIES TIMEOUT 120)
